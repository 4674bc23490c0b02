"""No double booking, whatever arrives at the same moment: 32 attempts at one slot, each on its
own database connection, on SQLite and PostgreSQL. Exactly one wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.booking.errors import BookingConflict
from makerspace.booking.models import Booking, Equipment
from makerspace.booking.services import create_booking
from makerspace.extensions import db
from tests.helpers import bearer

ATTEMPTS = 32
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 11:00 in Oslo


def _scene(make_equipment, make_user):
    clock.freeze(NOW)
    printer = make_equipment(buffer_minutes=30)
    people = [make_user(f"p{i}@example.no") for i in range(ATTEMPTS)]
    return printer, people


def _active_bookings(app, equipment_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Booking.id)).where(
            Booking.equipment_id == equipment_id, Booking.status == "confirmed"))


@pytest.mark.commits
def test_32_concurrent_bookings_of_one_slot_one_wins(app, make_equipment, make_user):
    printer, people = _scene(make_equipment, make_user)
    barrier = threading.Barrier(ATTEMPTS)

    def attempt(index: int) -> str:
        # staggered starts overlap the same slot in different ways
        start = START + timedelta(minutes=30 * (index % 3))
        with app.app_context():
            barrier.wait()
            try:
                create_booking(user=db.session.get(User, people[index].id),
                               equipment=db.session.get(Equipment, printer.id),
                               start=start, end=start + timedelta(hours=1))
                db.session.commit()
                return "booked"
            except BookingConflict:
                db.session.rollback()
                return "conflict"

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        results = list(pool.map(attempt, range(ATTEMPTS)))
    assert results.count("booked") == 1
    assert results.count("conflict") == ATTEMPTS - 1
    assert _active_bookings(app, printer.id) == 1


@pytest.mark.commits
def test_32_concurrent_api_requests_for_one_slot_one_gets_201(app, make_equipment, make_user,
                                                              make_token):
    printer, people = _scene(make_equipment, make_user)
    tokens = [make_token(person) for person in people]
    barrier = threading.Barrier(ATTEMPTS)
    body = {"equipment_id": printer.id, "start": START.isoformat(),
            "end": (START + timedelta(hours=1)).isoformat()}

    def attempt(index: int) -> int:
        client = app.test_client()
        barrier.wait()
        return client.post("/api/v1/bookings", json=body, headers=bearer(tokens[index]))\
            .status_code

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = list(pool.map(attempt, range(ATTEMPTS)))
    assert sorted(statuses) == [201] + [409] * (ATTEMPTS - 1)
    assert _active_bookings(app, printer.id) == 1
