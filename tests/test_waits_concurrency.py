"""Holds under concurrency, each attempt on its own database connection, on SQLite and
PostgreSQL: a cancelled booking's slot is held for the first waiter only, even while others
try to book it; two cancellations at once make one hold, not two; a hold being taken while
the sweep finds it run out ends one way only."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.booking.errors import BookingConflict
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.booking.services import cancel_booking, create_booking
from makerspace.extensions import db
from makerspace.waits.errors import HoldExpired
from makerspace.waits.models import SlotWait
from makerspace.waits.services import create_wait, sweep_waits, take_hold

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tuesday 16:00 in Oslo
BOOKERS = 12
ROUNDS = 3


def _rows(app, equipment_id: int) -> list[tuple[int | None, str, datetime, datetime]]:
    with app.app_context():
        return [(b.user_id, b.status.value, b.start_at, b.end_at) for b in db.session.scalars(
            select(Booking).where(Booking.equipment_id == equipment_id,
                                  Booking.status.in_(BookingStatus.occupying())))]


def _waiters(app, laser, people, start, end) -> None:
    with app.app_context():
        for index, person in enumerate(people):
            clock.freeze(NOW + timedelta(seconds=index))  # a clear order in the line
            create_wait(user=db.session.get(User, person.id),
                        equipment=db.session.get(Equipment, laser.id), start=start, end=end)
            db.session.commit()
        clock.freeze(NOW + timedelta(minutes=1))


@pytest.mark.commits
def test_a_cancelled_slot_is_held_for_the_first_waiter_while_others_rush_to_book_it(
        app, make_equipment, make_user, make_booking):
    clock.freeze(NOW)
    laser = make_equipment(name="Laserkutter", buffer_minutes=0, max_minutes=240)
    owner = make_user("eier@example.no")
    waiters = [make_user(f"venter{i}@example.no") for i in range(3)]
    bookers = [make_user(f"p{i}@example.no") for i in range(BOOKERS)]
    booking = make_booking(laser, owner, START, minutes=120)
    _waiters(app, laser, waiters, START, START + timedelta(hours=2))
    barrier = threading.Barrier(BOOKERS + 1)

    def cancel() -> str:
        with app.app_context():
            barrier.wait()
            cancel_booking(db.session.get(Booking, booking.id),
                           by=db.session.get(User, owner.id))
            db.session.commit()
            return "cancelled"

    def book(index: int) -> str:
        start = START + timedelta(minutes=30 * (index % 4))  # overlapping in different ways
        with app.app_context():
            barrier.wait()
            try:
                create_booking(user=db.session.get(User, bookers[index].id),
                               equipment=db.session.get(Equipment, laser.id), start=start,
                               end=start + timedelta(hours=1))
                db.session.commit()
                return "booked"
            except BookingConflict:
                db.session.rollback()
                return "conflict"

    with ThreadPoolExecutor(max_workers=BOOKERS + 1) as pool:
        cancelled = pool.submit(cancel)
        results = list(pool.map(book, range(BOOKERS)))
    assert cancelled.result() == "cancelled"
    assert results.count("booked") == 0, "someone booked a slot that was held or booked"
    assert _rows(app, laser.id) == [(waiters[0].id, "held", START, START + timedelta(hours=2))]


@pytest.mark.commits
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_cancellations_at_once_make_one_hold_for_the_first_waiter(
        app, make_equipment, make_user, make_booking, round_):
    clock.freeze(NOW)
    laser = make_equipment(name="Laserkutter", buffer_minutes=0, max_minutes=240)
    owners = [make_user(f"eier{i}@example.no") for i in range(2)]
    waiters = [make_user(f"venter{i}@example.no") for i in range(3)]
    first = make_booking(laser, owners[0], START, minutes=60)
    second = make_booking(laser, owners[1], START + timedelta(hours=1), minutes=60)
    # everyone waits for the two hours both bookings take
    _waiters(app, laser, waiters, START, START + timedelta(hours=2))
    barrier = threading.Barrier(2)

    def cancel(pair: tuple[int, int]) -> None:
        booking_id, owner_id = pair
        with app.app_context():
            barrier.wait()
            cancel_booking(db.session.get(Booking, booking_id), by=db.session.get(User, owner_id))
            db.session.commit()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(cancel, [(first.id, owners[0].id), (second.id, owners[1].id)]))
    assert _rows(app, laser.id) == [(waiters[0].id, "held", START, START + timedelta(hours=2))]
    with app.app_context():
        held = db.session.scalars(select(SlotWait).where(SlotWait.booking_id.is_not(None))).all()
        assert [w.user_id for w in held] == [waiters[0].id]


@pytest.mark.commits
def test_taking_a_hold_while_the_sweep_finds_it_run_out_ends_one_way(
        app, make_equipment, make_user, make_booking):
    clock.freeze(NOW)
    laser = make_equipment(name="Laserkutter", buffer_minutes=0, max_minutes=240)
    owner = make_user("eier@example.no")
    waiters = [make_user(f"venter{i}@example.no") for i in range(2)]
    booking = make_booking(laser, owner, START, minutes=120)
    _waiters(app, laser, waiters, START, START + timedelta(hours=2))
    with app.app_context():
        cancel_booking(db.session.get(Booking, booking.id), by=db.session.get(User, owner.id))
        db.session.commit()
        held_id = db.session.scalar(select(Booking.id).where(
            Booking.status == BookingStatus.HELD))
        expires = db.session.scalar(select(SlotWait.hold_expires_at).where(
            SlotWait.booking_id == held_id))
    clock.freeze(expires)  # the last moment: the sweep sees it run out, taking is refused
    barrier = threading.Barrier(2)

    def take() -> str:
        with app.app_context():
            barrier.wait()
            try:
                held = db.session.get(Booking, held_id)
                if held is None:  # the sweep was first: the row is gone
                    raise HoldExpired()
                take_hold(held, user=db.session.get(User, waiters[0].id))
                db.session.commit()
                return "taken"
            except HoldExpired:
                db.session.rollback()
                return "expired"

    def sweep() -> int:
        with app.app_context():
            barrier.wait()
            report = sweep_waits()
            db.session.commit()
            return report.lapsed

    with ThreadPoolExecutor(max_workers=2) as pool:
        taken, lapsed = pool.submit(take), pool.submit(sweep)
    assert taken.result() == "expired"
    rows = _rows(app, laser.id)
    # the sweep passed it on, now or (had the taker's lock made it skip the row) next minute
    if lapsed.result() == 0:
        with app.app_context():
            sweep_waits()
            db.session.commit()
        rows = _rows(app, laser.id)
    assert rows == [(waiters[1].id, "held", START, START + timedelta(hours=2))]
