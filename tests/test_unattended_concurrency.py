"""The night limit holds under load: two people book an unattended job on two printers for
the same night, at the same moment, through the booking form, each request on its own
database connection, at a branch that takes 1 a night. Exactly one is booked; the other is
refused with `unattended_night_full`. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from makerspace.booking.models import Booking
from makerspace.extensions import db
from tests.helpers import sign_in

OSLO = ZoneInfo("Europe/Oslo")
HOURS = {d: [("10:00", "19:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.mark.commits
def test_two_unattended_jobs_the_same_night_at_a_branch_taking_one_one_wins(
        app, open_branch, make_equipment, make_user, frozen_clock):
    frozen_clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=OSLO))
    branch = open_branch(weekly=HOURS, unattended_per_night=1)
    printers = [make_equipment(branch, name=f"Printer {i}", unattended_max_minutes=840)
                for i in range(2)]
    clients = []
    for i in range(2):
        client = app.test_client()
        sign_in(client, make_user(f"night{i}@example.no"))
        clients.append(client)
    barrier = threading.Barrier(2)

    def book(index: int) -> tuple[int, str]:
        barrier.wait()
        response = clients[index].post(
            f"/equipment/{printers[index].id}/book",
            data={"date": "2026-12-08", "start": "18:00", "duration": "60", "unattended": "y",
                  "estimated_minutes": "600", "confirm": "1"})
        html = response.get_data(as_text=True)
        return response.status_code, ("unattended_night_full"
                                      if 'data-code="unattended_night_full"' in html else "")

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(book, range(2)))
    assert results == [(302, ""), (422, "unattended_night_full")], results
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id)).where(
            Booking.unattended.is_(True))) == 1
