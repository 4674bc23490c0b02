"""No overbooking of a kit's pool, whatever arrives at the same moment: 10 people loaning a
pool of 3 identical kits at once, each on their own database connection, on SQLite and
PostgreSQL. Exactly 3 get one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.booking.models import Equipment
from makerspace.extensions import db
from makerspace.loans.errors import NoCopiesLeft
from makerspace.loans.models import Loan, LoanStatus
from makerspace.loans.services import create_loan
from tests.helpers import bearer

PEOPLE = 10
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
# Overlapping periods of different shapes: every one of them shares 3 December.
PERIODS = [(date(2026, 12, 1), date(2026, 12, 3)), (date(2026, 12, 3), date(2026, 12, 6)),
           (date(2026, 12, 2), date(2026, 12, 4))]


def _scene(make_equipment, make_user):  # type: ignore[no-untyped-def]
    clock.freeze(NOW)
    kit = make_equipment(name="VR-sett", kind="kit", quantity=3, max_loan_days=7)
    people = [make_user(f"p{i}@example.no") for i in range(PEOPLE)]
    return kit, people


def _live_loans(app, kit_id: int) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count(Loan.id)).where(
            Loan.equipment_id == kit_id, Loan.status.in_(LoanStatus.live())))


@pytest.mark.commits
def test_10_people_loaning_a_pool_of_3_at_once_get_exactly_3(app, make_equipment, make_user):
    kit, people = _scene(make_equipment, make_user)
    barrier = threading.Barrier(PEOPLE)

    def attempt(index: int) -> str:
        pickup, back = PERIODS[index % len(PERIODS)]
        with app.app_context():
            barrier.wait()
            try:
                create_loan(user=db.session.get(User, people[index].id),
                            kit=db.session.get(Equipment, kit.id), pickup=pickup, back=back)
                db.session.commit()
                return "lent"
            except NoCopiesLeft:
                db.session.rollback()
                return "no_copies_left"

    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        results = list(pool.map(attempt, range(PEOPLE)))
    assert results.count("lent") == 3
    assert results.count("no_copies_left") == PEOPLE - 3
    assert _live_loans(app, kit.id) == 3


@pytest.mark.commits
def test_10_concurrent_api_loans_of_a_pool_of_3_three_get_201(app, make_equipment, make_user,
                                                              make_token):
    kit, people = _scene(make_equipment, make_user)
    tokens = [make_token(person) for person in people]
    barrier = threading.Barrier(PEOPLE)

    def attempt(index: int) -> tuple[int, str | None]:
        pickup, back = PERIODS[index % len(PERIODS)]
        client = app.test_client()
        barrier.wait()
        answer = client.post("/api/v1/loans", headers=bearer(tokens[index]), json={
            "equipment_id": kit.id, "pickup_date": pickup.isoformat(),
            "return_date": back.isoformat()})
        return answer.status_code, (answer.get_json() or {}).get("code")

    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        answers = list(pool.map(attempt, range(PEOPLE)))
    assert sorted(status for status, _code in answers) == [201] * 3 + [409] * (PEOPLE - 3)
    assert {code for status, code in answers if status == 409} == {"no_copies_left"}
    assert _live_loans(app, kit.id) == 3
