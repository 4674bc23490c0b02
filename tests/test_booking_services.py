"""Every booking rule, at the service level, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from makerspace.accounts.models import Role, User
from makerspace.booking import errors
from makerspace.booking.availability import free_and_busy, nearest_free_starts, week_slots
from makerspace.booking.models import (
    Booking,
    BookingBlock,
    BookingStatus,
    Equipment,
    EquipmentOutage,
)
from makerspace.booking.services import (
    cancel_booking,
    create_booking,
    create_equipment,
    current_outage,
    outage_covering,
    return_to_service,
    take_out_of_service,
    update_equipment,
)
from makerspace.branches.hours import (
    InvalidHours,
    hours_for_days,
    opening_intervals,
    public_holiday,
    set_date_exception,
    set_weekly_hours,
    weekly_hours,
)
from makerspace.branches.models import Branch
from makerspace.certifications.services import create_certification, grant_certification
from makerspace.extensions import db

# Monday 30 November 2026, 09:00 in Oslo (CET, UTC+1)
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def oslo(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    """A wall-clock time in Oslo in winter (UTC+1), as UTC."""
    return datetime(2026, month, day, hour - 1, minute, tzinfo=UTC)


@pytest.fixture
def scene(app_ctx, frozen_clock, open_branch, make_equipment, make_user):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    printer = make_equipment(branch, name="Prusa", min_minutes=60, max_minutes=240,
                             buffer_minutes=30)
    citizen = make_user("kari@example.no", birth_year=1990)
    return branch, printer, citizen


def book(user, equipment, start, minutes=60, **kw):
    booking = create_booking(user=user, equipment=equipment, start=start,
                             end=start + timedelta(minutes=minutes), **kw)
    db.session.commit()
    return booking


def test_a_valid_booking_is_confirmed_with_buffer(scene):
    _branch, printer, citizen = scene
    booking = book(citizen, printer, oslo(1, 10))
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.occupied_until == oslo(1, 11, 30)


@pytest.mark.parametrize(
    ("start_hour", "start_minute", "minutes", "error"),
    [
        (10, 15, 60, errors.OffGrid),
        (10, 0, 30, errors.TooShort),
        (10, 0, 300, errors.TooLong),
        (7, 0, 60, errors.OutsideOpeningHours),
        (19, 30, 60, errors.OutsideOpeningHours),
    ],
)
def test_shape_rules(scene, start_hour, start_minute, minutes, error):
    _branch, printer, citizen = scene
    with pytest.raises(error) as refused:
        book(citizen, printer, oslo(1, start_hour, start_minute), minutes)
    assert refused.value.extra["suggestions"], "a refusal offers the nearest free slots"


def test_in_the_past_and_too_far_ahead(scene):
    _branch, printer, citizen = scene
    with pytest.raises(errors.InPast):
        book(citizen, printer, oslo(30, 8, month=11))
    with pytest.raises(errors.TooFarAhead):
        book(citizen, printer, oslo(15, 10))  # 15 days ahead
    assert book(citizen, printer, oslo(14, 10)).id  # day 14 is the last bookable day


def test_out_of_service_cancels_bookings_and_refuses_new_ones(scene, make_user):
    _branch, printer, citizen = scene
    staff = make_user(role=Role.ADMIN)
    existing = book(citizen, printer, oslo(2, 10))
    later = book(citizen, printer, oslo(5, 10))
    equipment = db.session.get(Equipment, printer.id)
    _outage, cancelled = take_out_of_service(equipment, start=oslo(2, 8), end=oslo(3, 8),
                                             reason="Dysen er tett", by=staff)
    db.session.commit()
    assert [b.id for b in cancelled] == [existing.id]
    assert db.session.get(Booking, existing.id).status == BookingStatus.CANCELLED
    assert db.session.get(Booking, existing.id).cancel_reason == "Dysen er tett"
    assert db.session.get(Booking, later.id).status == BookingStatus.CONFIRMED
    with pytest.raises(errors.OutOfService, match="Dysen er tett"):
        book(citizen, printer, oslo(2, 14))
    take_out_of_service(equipment, start=NOW, end=None, reason="Ødelagt", by=staff)
    with pytest.raises(errors.OutOfService):
        book(citizen, printer, oslo(10, 10))
    return_to_service(equipment, by=staff)
    db.session.commit()
    assert book(citizen, printer, oslo(10, 10)).id


def test_the_outage_in_force_is_found_without_reading_the_machines_history(scene, make_user):
    _branch, printer, citizen = scene
    staff = make_user(role=Role.ADMIN)
    equipment = db.session.get(Equipment, printer.id)
    for day in range(1, 30):  # a month of past outages, one a day
        db.session.add(EquipmentOutage(equipment_id=equipment.id, reason=f"Rens {day}",
                                       start_at=oslo(day, 8, month=10),
                                       end_at=oslo(day, 9, month=10)))
    take_out_of_service(equipment, start=oslo(3, 8), end=oslo(3, 12), reason="Ny dyse",
                        by=staff)
    db.session.commit()
    db.session.expire_all()
    equipment = db.session.get(Equipment, printer.id)
    assert current_outage(equipment, NOW) is None
    assert current_outage(equipment, oslo(3, 11, 59)).reason == "Ny dyse"
    assert current_outage(equipment, oslo(3, 12)) is None  # the end is not in it
    assert outage_covering(equipment, oslo(2, 10), oslo(3, 9)).reason == "Ny dyse"
    assert current_outage(equipment, oslo(15, 8, 30, month=10)).reason == "Rens 15"
    with pytest.raises(errors.OutOfService, match="Ny dyse"):
        book(citizen, printer, oslo(3, 10))
    assert "outages" not in sa_inspect(equipment).dict  # the collection was never loaded


def test_age_limit_counts_from_the_year_one_turns_it(scene, make_user):
    branch, _printer, _citizen = scene
    laser = create_equipment(db.session.get(Branch, branch.id), name="Laser",
                             kind="laser-cutter", min_age=15)
    db.session.commit()
    turns_15_in_2026 = make_user(birth_year=2011)
    turns_14_in_2026 = make_user(birth_year=2012)
    unknown_age = make_user(birth_year=None)
    assert book(turns_15_in_2026, laser, oslo(1, 10)).id
    with pytest.raises(errors.TooYoung):
        book(turns_14_in_2026, laser, oslo(1, 12))
    with pytest.raises(errors.TooYoung):
        book(unknown_age, laser, oslo(1, 12))


def test_certification_required_held_and_valid(scene, make_user):
    branch, _printer, citizen = scene
    course = create_certification(slug="laser-grunnkurs", name="Laserkutter – grunnkurs",
                                  valid_months=12)
    laser = create_equipment(db.session.get(Branch, branch.id), name="Laser",
                             kind="laser-cutter", requires_certification=course)
    db.session.commit()
    with pytest.raises(errors.NotCertified) as refused:
        book(citizen, laser, oslo(1, 10))
    assert refused.value.extra["certification"] == "laser-grunnkurs"
    assert refused.value.status == 403
    staff = make_user(role=Role.ADMIN)
    # granted 13 months ago: expired
    grant_certification(user=db.session.get(User, citizen.id), certification=course,
                        granted_by=staff, at=NOW - timedelta(days=400))
    db.session.commit()
    with pytest.raises(errors.NotCertified):
        book(citizen, laser, oslo(1, 10))
    grant_certification(user=db.session.get(User, citizen.id), certification=course,
                        granted_by=staff, note="Bestått")
    db.session.commit()
    assert book(citizen, laser, oslo(1, 10)).id


def test_quota_of_upcoming_bookings_per_branch(scene):
    _branch, printer, citizen = scene
    for day in (1, 2, 3):
        book(citizen, printer, oslo(day, 10))
    with pytest.raises(errors.QuotaExceeded):
        book(citizen, printer, oslo(4, 10))
    # a cancelled booking frees a place in the quota
    first = db.session.scalars(select(Booking).order_by(Booking.start_at)).first()
    cancel_booking(first, by=db.session.get(User, citizen.id))
    db.session.commit()
    assert book(citizen, printer, oslo(4, 10)).id


def test_blocked_citizen_is_told_until_when(scene):
    _branch, printer, citizen = scene
    db.session.add(BookingBlock(user_id=citizen.id, starts_at=NOW - timedelta(days=1),
                                ends_at=NOW + timedelta(days=29), reason="3 no-shows"))
    db.session.commit()
    with pytest.raises(errors.Blocked) as refused:
        book(citizen, printer, oslo(1, 10))
    assert refused.value.status == 403 and "3 no-shows" in str(refused.value.message)
    block = db.session.scalar(select(BookingBlock))
    block.lifted_at = NOW
    db.session.commit()
    assert book(citizen, printer, oslo(1, 10)).id


def test_overlap_including_the_buffer_is_a_conflict(scene, make_user):
    _branch, printer, citizen = scene
    other = make_user()
    book(citizen, printer, oslo(1, 10))  # holds 10:00–11:30 with the buffer
    with pytest.raises(errors.BookingConflict) as refused:
        book(other, printer, oslo(1, 11))
    suggestions = refused.value.extra["suggestions"]
    assert suggestions and all(s["start"] >= oslo(1, 11, 30).isoformat() or
                               s["start"] <= oslo(1, 8).isoformat() for s in suggestions)
    assert book(other, printer, oslo(1, 11, 30)).id
    # a booking that would end less than a buffer before another is refused too
    with pytest.raises(errors.BookingConflict):
        book(other, printer, oslo(1, 9), 60)  # 9:00–10:00 + 30 min buffer overlaps 10:00


def test_the_database_refuses_an_overlap_even_without_the_service(scene, make_user):
    _branch, printer, citizen = scene
    book(citizen, printer, oslo(1, 10))
    db.session.add(Booking(equipment_id=printer.id, user_id=citizen.id, start_at=oslo(1, 10),
                           end_at=oslo(1, 11), occupied_until=oslo(1, 11)))
    with pytest.raises(Exception, match="(?i)booking_overlap|exclu"):
        db.session.commit()
    db.session.rollback()


def test_cancelled_and_no_show_bookings_free_the_slot(scene, make_user, make_booking):
    _branch, printer, citizen = scene
    make_booking(printer, citizen, oslo(1, 10), status=BookingStatus.CANCELLED)
    make_booking(printer, citizen, oslo(1, 12), status=BookingStatus.NO_SHOW)
    other = make_user()
    assert book(other, printer, oslo(1, 10)).id
    assert book(other, printer, oslo(1, 12)).id


def test_cancel_rules(scene, make_user, frozen_clock, make_branch):
    branch, printer, citizen = scene
    booking = book(citizen, printer, oslo(1, 10))
    stranger = make_user()
    with pytest.raises(errors.BookingNotFound):
        cancel_booking(booking, by=db.session.get(User, stranger.id))
    librarian = make_user(role=Role.LIBRARIAN, branches=[branch])
    elsewhere = make_user(role=Role.LIBRARIAN, branches=[make_branch()])
    with pytest.raises(errors.BookingNotFound):
        cancel_booking(booking, by=db.session.get(User, elsewhere.id))
    with pytest.raises(errors.ReasonRequired):
        cancel_booking(booking, by=db.session.get(User, librarian.id))
    frozen_clock.set(oslo(1, 10, 5))
    with pytest.raises(errors.CancelTooLate):
        cancel_booking(booking, by=db.session.get(User, citizen.id))
    cancel_booking(booking, by=db.session.get(User, librarian.id), reason="Stengt pga. vannlekk")
    db.session.commit()
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_by_id == librarian.id
    with pytest.raises(errors.NotCancellable):
        cancel_booking(booking, by=db.session.get(User, librarian.id), reason="igjen")


def test_equipment_rules_must_fit_together(scene):
    branch, printer, _citizen = scene
    with pytest.raises(errors.InvalidEquipmentRules):
        create_equipment(db.session.get(Branch, branch.id), name="X", kind="other",
                         slot_minutes=30, min_minutes=45)
    with pytest.raises(errors.InvalidEquipmentRules):
        create_equipment(db.session.get(Branch, branch.id), name="X", kind="toaster")
    with pytest.raises(errors.InvalidEquipmentRules):
        update_equipment(db.session.get(Equipment, printer.id), max_minutes=30)
    with pytest.raises(errors.InvalidEquipmentRules):  # availability scans rely on a bound
        update_equipment(db.session.get(Equipment, printer.id), max_minutes=1470)
    unchanged = db.session.get(Equipment, printer.id)
    assert unchanged.max_minutes == 240, "a refused change leaves the machine untouched"
    db.session.rollback()


# -- opening hours ------------------------------------------------------------------------

def test_weekly_hours_several_intervals_and_midnight(app_ctx, make_branch):
    branch = db.session.get(Branch, make_branch().id)
    set_weekly_hours(branch, {"mon": [["08:00", "11:00"], ["12:00", "24:00"]], "tue": []})
    db.session.commit()
    assert weekly_hours(branch)["mon"] == [("08:00", "11:00"), ("12:00", "24:00")]
    assert weekly_hours(branch)["tue"] == []
    intervals = opening_intervals(branch, date(2026, 11, 30), 1)
    assert intervals[-1].end == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 24:00 CET
    for bad in ({"mon": [["10:00", "09:00"]]}, {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]},
                {"mon": [["25:00", "26:00"]]}, {"moon": []}, {"mon": [["8"]]}):
        with pytest.raises(InvalidHours):
            set_weekly_hours(branch, bad)


def test_public_holidays_closed_unless_switched_off_or_overridden(app_ctx, make_branch):
    branch = db.session.get(Branch, make_branch().id)
    set_weekly_hours(branch, {d: [["10:00", "16:00"]] for d in
                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    christmas, boxing_day = date(2026, 12, 25), date(2026, 12, 26)
    days = hours_for_days(branch, christmas, 2)
    assert days[0].closed and days[0].holiday and days[1].closed
    set_date_exception(branch, boxing_day, [["12:00", "15:00"]], reason="Romjulsverksted")
    days = hours_for_days(branch, christmas, 2)
    assert days[1].minutes == ((720, 900),) and days[1].exception == "Romjulsverksted"
    branch.closed_on_public_holidays = False
    assert hours_for_days(branch, christmas, 1)[0].minutes == ((600, 960),)
    set_date_exception(branch, christmas, None, reason="Stengt")
    assert hours_for_days(branch, christmas, 1)[0].closed


def test_public_holidays_are_the_librarys_norway_in_both_languages():
    """hours.py loads Norway's module on its own (to leave the other countries unloaded);
    what it answers is what the library's own entry point answers."""
    import holidays

    for year in range(2000, 2061):
        for language, locale in (("no", "nb"), ("en_US", "en")):
            expected = holidays.country_holidays("NO", years=year, language=language)
            found = {day: public_holiday(day, locale) for day in expected}
            assert found == dict(expected)
    assert public_holiday(date(2026, 5, 17)) == "Grunnlovsdag"
    assert public_holiday(date(2026, 5, 17), "en") == "Constitution Day"
    assert public_holiday(date(2026, 5, 18)) is None


def test_hours_follow_daylight_saving_time(app_ctx, make_branch):
    branch = db.session.get(Branch, make_branch().id)
    set_weekly_hours(branch, {"sat": [["10:00", "14:00"]], "sun": [["10:00", "14:00"]]})
    summer, winter = opening_intervals(branch, date(2026, 10, 24), 2)  # DST ends on the 25th
    assert summer.start == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)
    assert winter.start == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)


# -- availability -------------------------------------------------------------------------

def test_free_and_busy_show_buffers_and_no_names(scene, make_user):
    _branch, printer, citizen = scene
    book(citizen, printer, oslo(1, 10))
    free, busy = free_and_busy(db.session.get(Equipment, printer.id), date(2026, 12, 1), 1, NOW)
    assert [(b.start, b.end) for b in busy] == [(oslo(1, 10), oslo(1, 11, 30))]
    assert [(f.start, f.end) for f in free] == [(oslo(1, 8), oslo(1, 10)),
                                                (oslo(1, 11, 30), oslo(1, 20))]


def test_week_slots_mark_free_busy_and_past(scene):
    _branch, printer, citizen = scene
    book(citizen, printer, oslo(30, 10, month=11))
    week = week_slots(db.session.get(Equipment, printer.id), date(2026, 11, 30), NOW)
    assert len(week) == 7
    monday = {s.start: s.state for s in week[0].slots}
    assert monday[oslo(30, 8, month=11)] == "past"
    assert monday[oslo(30, 10, month=11)] == "busy"
    assert monday[oslo(30, 11, month=11)] == "busy"  # the buffer
    assert monday[oslo(30, 11, 30, month=11)] == "free"
    assert monday[oslo(30, 19, 30, month=11)] == "short"  # 60 min do not fit before 20:00
    assert monday[oslo(30, 9, 30, month=11)] == "short"  # 30 min left before the booking


def test_nearest_free_starts_skip_busy_time(scene):
    _branch, printer, citizen = scene
    book(citizen, printer, oslo(1, 10))
    nearest = nearest_free_starts(db.session.get(Equipment, printer.id), oslo(1, 10), 60, NOW)
    starts = [n.start for n in nearest]
    assert oslo(1, 10) not in starts and len(starts) == 3
    assert oslo(1, 11, 30) in starts
