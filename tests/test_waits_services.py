"""Waiting for a taken slot, holds and their sweep, at the service level, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from makerspace import clock
from makerspace.booking import errors as booking_errors
from makerspace.booking.models import Booking, BookingStatus
from makerspace.booking.services import cancel_booking, create_booking
from makerspace.checkin.services import sweep_bookings
from makerspace.extensions import db
from makerspace.mail.models import OutboxMessage
from makerspace.waits import errors
from makerspace.waits.models import SlotWait
from makerspace.waits.services import (
    booking_for_hold_token,
    cancel_wait,
    create_wait,
    hold_token,
    sweep_waits,
    take_hold,
    take_hold_of_wait,
    waits_of,
)

# Monday 30 November 2026, 09:00 in Oslo (UTC+1)
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tuesday 16:00 in Oslo
END = START + timedelta(hours=2)


@pytest.fixture
def scene(app_ctx, frozen_clock, open_branch, make_equipment, make_user):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    laser = make_equipment(branch, name="Laserkutter", kind="laser-cutter", min_minutes=60,
                           max_minutes=240, buffer_minutes=0)
    owner = make_user("eier@example.no")
    booking = create_booking(user=owner, equipment=laser, start=START, end=END)
    first, second, third = (make_user(f"w{i}@example.no") for i in range(3))
    db.session.commit()
    return {"laser": laser, "owner": owner, "booking": booking, "first": first,
            "second": second, "third": third}


def wait(scene, who, start=START, end=END):
    made = create_wait(user=scene[who], equipment=scene["laser"], start=start, end=end)
    db.session.commit()
    return made


def held_rows(laser) -> list[Booking]:
    return list(db.session.scalars(select(Booking).where(
        Booking.equipment_id == laser.id, Booking.status == BookingStatus.HELD)))


def hold_mails(user) -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.user_id == user.id, OutboxMessage.kind == "slot_held")) or 0


def test_waiting_for_a_taken_slot(scene):
    made = wait(scene, "first")
    assert made.booking_id is None and made.hold_expires_at is None
    assert waits_of(scene["first"], NOW) == [made]


def test_a_free_slot_is_not_waited_for(scene):
    with pytest.raises(errors.SlotFree):
        wait(scene, "first", START + timedelta(days=1), END + timedelta(days=1))


def test_the_same_wait_twice_is_refused(scene):
    wait(scene, "first")
    with pytest.raises(errors.AlreadyWaiting):
        wait(scene, "first")


def test_a_time_that_could_not_be_booked_is_refused_with_the_booking_code(scene):
    with pytest.raises(booking_errors.OffGrid):
        wait(scene, "first", START + timedelta(minutes=7), END)
    with pytest.raises(booking_errors.InPast):
        wait(scene, "first", NOW - timedelta(hours=1), NOW + timedelta(hours=1))


def test_at_most_n_waits_per_person(scene, app_ctx, make_booking):
    app_ctx.config["MAX_SLOT_WAITS"] = 2
    for day in (1, 2):
        make_booking(scene["laser"], scene["owner"], START + timedelta(days=day), minutes=120)
    wait(scene, "first")
    wait(scene, "first", START + timedelta(days=1), END + timedelta(days=1))
    with pytest.raises(errors.TooManyWaits) as refused:
        wait(scene, "first", START + timedelta(days=2), END + timedelta(days=2))
    assert refused.value.code == "too_many_waits"


def test_a_cancelled_booking_is_held_for_the_first_waiter_only(scene):
    first = wait(scene, "first")
    clock.freeze(NOW + timedelta(minutes=1))
    second = wait(scene, "second")
    cancel_booking(scene["booking"], by=scene["owner"])
    db.session.commit()
    [held] = held_rows(scene["laser"])
    assert held.user_id == scene["first"].id
    assert (held.start_at, held.end_at) == (START, END)
    assert first.booking_id == held.id and second.booking_id is None
    assert first.hold_expires_at == NOW + timedelta(minutes=1) + timedelta(minutes=30)
    assert hold_mails(scene["first"]) == 1 and hold_mails(scene["second"]) == 0
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "slot_held"))
    assert message.link_kind == f"slot_hold:{held.id}"
    assert "secret-link.invalid" in message.text_body  # the link is made when it is sent


def test_nobody_else_can_book_a_held_slot_but_the_holder_takes_it(scene):
    first = wait(scene, "first")
    cancel_booking(scene["booking"], by=scene["owner"])
    db.session.commit()
    with pytest.raises(booking_errors.BookingConflict):
        create_booking(user=scene["third"], equipment=scene["laser"], start=START, end=END)
    db.session.rollback()
    taking = datetime.now(UTC)
    booking = take_hold_of_wait(db.session.get(SlotWait, first.id), user=scene["first"])
    db.session.commit()
    assert booking.status == BookingStatus.CONFIRMED and booking.user_id == scene["first"].id
    assert booking.created_at >= taking  # made when taken (the statistics rely on it)
    assert db.session.scalar(select(func.count(SlotWait.id))) == 0
    assert held_rows(scene["laser"]) == []
    kinds = set(db.session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.user_id == scene["first"].id)))
    assert kinds == {"slot_held", "booking_confirmed"}


def test_the_hold_expires_and_passes_to_the_next(scene):
    wait(scene, "first")
    clock.freeze(NOW + timedelta(seconds=1))
    second = wait(scene, "second")
    cancel_booking(scene["booking"], by=scene["owner"])
    db.session.commit()
    [held] = held_rows(scene["laser"])
    token = hold_token(held)
    clock.freeze(NOW + timedelta(minutes=29))
    assert sweep_waits().lapsed == 0
    clock.freeze(NOW + timedelta(minutes=31))
    report = sweep_waits()
    db.session.commit()
    assert report.lapsed == 1 and [w.id for w in report.held] == [second.id]
    [now_held] = held_rows(scene["laser"])
    assert now_held.user_id == scene["second"].id
    assert hold_mails(scene["second"]) == 1
    # the first one's link now says the hold went on
    with pytest.raises(errors.HoldExpired):
        booking_for_hold_token(token)


def test_a_hold_cannot_be_taken_after_it_ran_out_even_before_the_sweep(scene):
    wait(scene, "first")
    cancel_booking(scene["booking"], by=scene["owner"])
    db.session.commit()
    [held] = held_rows(scene["laser"])
    clock.freeze(NOW + timedelta(minutes=31))
    with pytest.raises(errors.HoldExpired):
        take_hold(held, user=scene["first"])


def test_the_hold_is_shorter_when_the_slot_starts_sooner(scene, make_booking):
    soon = NOW + timedelta(hours=1)  # 10:00 in Oslo
    booking = make_booking(scene["laser"], scene["owner"], soon, minutes=60)
    made = wait(scene, "first", soon, soon + timedelta(hours=1))
    clock.freeze(soon - timedelta(minutes=10))
    cancel_booking(db.session.get(Booking, booking.id), by=scene["owner"])
    db.session.commit()
    assert db.session.get(SlotWait, made.id).hold_expires_at == soon


def test_a_no_show_frees_the_rest_for_a_later_wait(scene, make_booking):
    long_start = NOW + timedelta(hours=1)  # 10:00–13:00 in Oslo
    make_booking(scene["laser"], scene["owner"], long_start, minutes=180)
    later = long_start + timedelta(hours=2)
    made = wait(scene, "first", later, later + timedelta(hours=1))
    clock.freeze(long_start + timedelta(minutes=16))
    report = sweep_bookings()
    db.session.commit()
    assert len(report.no_shows) == 1
    assert db.session.get(SlotWait, made.id).booking_id is not None


def test_stopping_a_held_wait_passes_it_on_at_once(scene):
    first = wait(scene, "first")
    wait(scene, "second")
    cancel_booking(scene["booking"], by=scene["owner"])
    db.session.commit()
    cancel_wait(db.session.get(SlotWait, first.id))
    db.session.commit()
    [held] = held_rows(scene["laser"])
    assert held.user_id == scene["second"].id


def test_a_waiter_who_may_not_book_is_passed_over(scene, make_booking):
    wait(scene, "first")
    wait(scene, "second")
    # the first one has used up the quota since they began waiting
    for day in (2, 3, 4):
        make_booking(scene["laser"], scene["first"], START + timedelta(days=day))
    cancel_booking(scene["booking"], by=scene["owner"])
    db.session.commit()
    [held] = held_rows(scene["laser"])
    assert held.user_id == scene["second"].id


def test_waits_vanish_when_the_slot_has_begun(scene):
    wait(scene, "first")
    clock.freeze(START)
    assert sweep_waits().passed == 1
    assert db.session.scalar(select(func.count(SlotWait.id))) == 0


def test_the_sweep_holds_a_waited_slot_that_came_free_otherwise(scene):
    made = wait(scene, "first")
    # freed without the signal (e.g. a staff fix in the database)
    scene["booking"].status = BookingStatus.CANCELLED
    db.session.commit()
    report = sweep_waits()
    db.session.commit()
    assert [w.id for w in report.held] == [made.id]


def test_a_held_row_is_no_booking_for_lists_quota_or_check_in(scene):
    from makerspace.booking.services import bookings_of, upcoming_count
    from makerspace.checkin.services import NotConfirmed, check_in

    wait(scene, "first")
    cancel_booking(scene["booking"], by=scene["owner"])
    db.session.commit()
    [held] = held_rows(scene["laser"])
    assert list(bookings_of(scene["first"], upcoming=None, now=NOW)) == []
    assert upcoming_count(scene["first"], held.equipment.branch, NOW) == 0
    from makerspace.accounts.models import Role
    from makerspace.accounts.services import create_user

    staff, _ = create_user(email="stab@example.no", name="Stab", role=Role.LIBRARIAN,
                           branch_slugs=["hoved"], password="correct horse battery")
    clock.freeze(START)
    with pytest.raises(NotConfirmed):
        check_in(held.checkin_token, by=staff)
