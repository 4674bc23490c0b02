"""Unattended jobs past closing (docs/booking.md), on SQLite and PostgreSQL: a 9-hour print
from 17:30 holds the machine until its end (across a DST night too), a laser cutter refuses
it, finishing early frees the rest, the night limits refuse with their codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.booking import errors
from makerspace.booking.jobs import (
    JobOutcome,
    end_job,
    record_material,
    set_material_price,
    start_job,
)
from makerspace.booking.models import BookingStatus, Equipment, EquipmentKind
from makerspace.booking.services import create_booking, pickup_from, rebook_failed_job
from makerspace.extensions import db

# Open 10:00–19:00 every day (Oslo).
HOURS = {d: [("10:00", "19:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def oslo(*args: int) -> datetime:
    from zoneinfo import ZoneInfo
    return datetime(*args, tzinfo=ZoneInfo("Europe/Oslo")).astimezone(UTC)


@pytest.fixture
def machines(app_ctx, open_branch, make_equipment, frozen_clock):
    branch = open_branch(weekly=HOURS, closed_on_public_holidays=True)
    printer = make_equipment(branch, buffer_minutes=30, unattended_max_minutes=840)
    laser = make_equipment(branch, name="Laser", kind="laser-cutter")
    printer2 = make_equipment(branch, name="Bambu", unattended_max_minutes=840)
    return (db.session.get(Equipment, printer.id), db.session.get(Equipment, laser.id),
            db.session.get(Equipment, printer2.id))


def _person(make_user) -> User:
    return db.session.get(User, make_user().id)


@pytest.mark.parametrize("day", [(2026, 12, 8), (2027, 3, 27), (2026, 10, 24)],
                         ids=["winter", "dst-spring", "dst-autumn"])
def test_a_9_hour_print_from_1730_holds_the_machine_until_its_end(machines, make_user,
                                                                  make_booking, day):
    printer, _laser, _other = machines
    printer.branch.closed_on_public_holidays = False  # 28 March 2027 is Easter Sunday
    clock.freeze(oslo(*day, 9, 0))
    start = oslo(*day, 17, 30)
    job = create_booking(user=_person(make_user), equipment=printer, start=start,
                         unattended=True, estimated_minutes=540)
    db.session.commit()
    assert job.end_at == start + timedelta(hours=9)  # UTC: 9 real hours, whatever the clocks
    assert job.occupied_until == job.end_at + timedelta(minutes=30)
    nxt = date(*day) + timedelta(days=1)
    next_day = (nxt.year, nxt.month, nxt.day)
    assert pickup_from(job) == oslo(*next_day, 10, 0)
    with pytest.raises(errors.BookingConflict):
        create_booking(user=_person(make_user), equipment=printer,
                       start=oslo(*day, 18, 0), end=oslo(*day, 19, 0))
    db.session.rollback()
    # the database itself refuses an overlap in the night (rules or not)
    with pytest.raises(IntegrityError):
        make_booking(printer, _person(make_user), start + timedelta(hours=8, minutes=45))
    db.session.rollback()
    # the next morning is free
    morning = create_booking(user=_person(make_user), equipment=printer,
                             start=oslo(*next_day, 10, 0), end=oslo(*next_day, 11, 0))
    assert morning.status == BookingStatus.CONFIRMED


def test_a_laser_cutter_refuses_unattended(machines, make_user):
    _printer, laser, _other = machines
    clock.freeze(oslo(2026, 12, 8, 9, 0))
    with pytest.raises(errors.UnattendedNotAllowed) as refused:
        create_booking(user=_person(make_user), equipment=laser, start=oslo(2026, 12, 8, 17, 30),
                       unattended=True, estimated_minutes=540)
    assert refused.value.code == "unattended_not_allowed"


def test_start_in_staffed_hours_and_end_before_reopening(machines, make_user):
    printer, _laser, _other = machines
    clock.freeze(oslo(2026, 12, 8, 9, 0))
    with pytest.raises(errors.UnattendedStartUnstaffed):
        create_booking(user=_person(make_user), equipment=printer,
                       start=oslo(2026, 12, 8, 19, 30), unattended=True, estimated_minutes=60)
    with pytest.raises(errors.UnattendedTooLong):
        create_booking(user=_person(make_user), equipment=printer,
                       start=oslo(2026, 12, 8, 10, 0), unattended=True, estimated_minutes=900)
    # 18:30 + 14 h = 08:30, before 10:00 + the hour's margin; 10:00 + 14 h would not do
    # either way; 18:30 + 840 fits, but a start at 22:00 is not staffed
    ok = create_booking(user=_person(make_user), equipment=printer,
                        start=oslo(2026, 12, 8, 18, 30), unattended=True, estimated_minutes=840)
    assert ok.end_at == oslo(2026, 12, 9, 8, 30)


def test_ends_too_late(machines, make_user):
    printer, _laser, _other = machines
    printer.unattended_max_minutes = 1440
    clock.freeze(oslo(2026, 12, 8, 9, 0))
    with pytest.raises(errors.UnattendedEndsTooLate):
        create_booking(user=_person(make_user), equipment=printer,
                       start=oslo(2026, 12, 8, 17, 0), unattended=True, estimated_minutes=1140)


def test_a_job_before_a_public_holiday_is_refused_with_its_code(machines, make_user):
    printer, _laser, _other = machines
    clock.freeze(oslo(2026, 12, 20, 9, 0))
    with pytest.raises(errors.UnattendedBeforeClosedDay) as refused:  # 25 Dec: first Christmas day
        create_booking(user=_person(make_user), equipment=printer,
                       start=oslo(2026, 12, 24, 17, 30), unattended=True, estimated_minutes=540)
    assert refused.value.code == "unattended_before_closed_day"
    printer.branch.unattended_before_closed_day = True
    create_booking(user=_person(make_user), equipment=printer,
                   start=oslo(2026, 12, 24, 17, 30), unattended=True, estimated_minutes=540)


def test_at_most_one_a_night_per_branch(machines, make_user):
    printer, _laser, other = machines
    clock.freeze(oslo(2026, 12, 8, 9, 0))
    create_booking(user=_person(make_user), equipment=printer, start=oslo(2026, 12, 8, 17, 30),
                   unattended=True, estimated_minutes=540)
    with pytest.raises(errors.UnattendedNightFull) as refused:
        create_booking(user=_person(make_user), equipment=other,
                       start=oslo(2026, 12, 8, 18, 0), unattended=True, estimated_minutes=300)
    assert refused.value.code == "unattended_night_full"
    printer.branch.unattended_per_night = 2
    create_booking(user=_person(make_user), equipment=other, start=oslo(2026, 12, 8, 18, 0),
                   unattended=True, estimated_minutes=300)


def test_finished_early_frees_the_rest_for_a_booking_a_second_later(machines, make_user):
    printer, _laser, _other = machines
    clock.freeze(oslo(2026, 12, 8, 9, 0))
    person = _person(make_user)
    job = create_booking(user=person, equipment=printer, start=oslo(2026, 12, 8, 10, 0),
                         unattended=True, estimated_minutes=540)
    db.session.commit()
    start_job(job, at=oslo(2026, 12, 8, 10, 0), by=person, via="web")
    done = oslo(2026, 12, 8, 12, 25)
    clock.freeze(done)
    end_job(job, JobOutcome.FINISHED, at=done, by=person, via="web")
    db.session.commit()
    clock.freeze(done + timedelta(seconds=1))
    later = create_booking(user=_person(make_user), equipment=printer,
                           start=oslo(2026, 12, 8, 12, 30), end=oslo(2026, 12, 8, 14, 0))
    assert later.status == BookingStatus.CONFIRMED


def test_a_failed_job_is_rebooked_with_priority_past_the_quota(machines, make_user):
    printer, _laser, _other = machines
    printer.branch.max_upcoming_bookings = 1
    printer.branch.unattended_per_night = None
    clock.freeze(oslo(2026, 12, 8, 9, 0))
    person = _person(make_user)
    job = create_booking(user=person, equipment=printer, start=oslo(2026, 12, 8, 10, 0),
                         unattended=True, estimated_minutes=300)
    start_job(job, at=oslo(2026, 12, 8, 10, 0), by=person, via="web")
    with pytest.raises(errors.NotRebookable):
        rebook_failed_job(job, start=oslo(2026, 12, 8, 13, 0), by=person)
    clock.freeze(oslo(2026, 12, 8, 11, 0))
    end_job(job, JobOutcome.FAILED, at=oslo(2026, 12, 8, 11, 0), by=person, via="web")
    create_booking(user=person, equipment=printer, start=oslo(2026, 12, 9, 10, 0),
                   end=oslo(2026, 12, 9, 11, 0))  # the quota is full now
    with pytest.raises(errors.QuotaExceeded):
        create_booking(user=person, equipment=printer, start=oslo(2026, 12, 9, 12, 0),
                       end=oslo(2026, 12, 9, 13, 0))
    again = rebook_failed_job(job, start=oslo(2026, 12, 8, 11, 30), by=person)
    assert again.rerun_of_id == job.id and again.unattended and again.estimated_minutes == 300


def test_material_and_price_are_recorded_and_summed(machines, make_user):
    from makerspace.booking.jobs import material_totals

    printer, _laser, other = machines
    staff = db.session.get(User, make_user(role=Role.LIBRARIAN, branches=[printer.branch]).id)
    set_material_price(printer.branch, EquipmentKind.PRINTER_3D, 40, by=staff)  # 0.40 kr/g
    clock.freeze(oslo(2026, 12, 8, 9, 0))
    jobs = [create_booking(user=_person(make_user), equipment=machine,
                           start=oslo(2026, 12, 8, hour, 0), end=oslo(2026, 12, 8, hour + 1, 0))
            for machine, hour in ((printer, 10), (printer, 12), (other, 10))]
    for job, grams in zip(jobs, ("12", "30,5", "0"), strict=True):
        start_job(job, at=job.start_at, by=staff)
        end_job(job, JobOutcome.FINISHED, at=job.end_at, by=staff)
        record_material(job, amount=grams, material="PLA", colour="svart", by=staff)
    assert [j.job.material_cost_ore for j in jobs] == [480, 1220, 0]
    totals = {t.equipment_id: t for t in material_totals(printer.branch, oslo(2026, 12, 8, 0, 0),
                                                         oslo(2026, 12, 9, 0, 0))}
    assert totals[printer.id].amount == 42.5 and totals[printer.id].cost_ore == 1700
    assert totals[printer.id].jobs == 2
    assert totals[other.id].cost_ore == 0


# -- through the API ------------------------------------------------------------------------

def test_api_books_an_unattended_job_and_refuses_it_on_a_laser_cutter(app, open_branch,
                                                                       make_equipment,
                                                                       make_user, make_token,
                                                                       frozen_clock):
    from tests.helpers import bearer, matches
    from tests.test_api import assert_problem

    branch = open_branch(weekly=HOURS)
    printer = make_equipment(branch, unattended_max_minutes=840)
    laser = make_equipment(branch, name="Laser", kind="laser-cutter")
    token = make_token(make_user())
    frozen_clock.set(oslo(2026, 12, 8, 9, 0))
    client = app.test_client()
    described = client.get(f"/api/v1/equipment/{printer.id}").get_json()
    assert described["unattended_max_minutes"] == 840
    body = {"equipment_id": printer.id, "start": "2026-12-08T17:30:00+01:00",
            "unattended": True, "estimated_minutes": 520}
    answer = client.post("/api/v1/bookings", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.get_json()
    booked = answer.get_json()
    matches(booked, "Booking")
    assert booked["unattended"] is True and booked["end"] == "2026-12-09T01:10:00+00:00"
    assert booked["pickup_from"] == "2026-12-09T09:00:00+00:00"
    refused = client.post("/api/v1/bookings", json={**body, "equipment_id": laser.id},
                          headers=bearer(token))
    assert_problem(refused, 422, "unattended_not_allowed")
    missing = client.post("/api/v1/bookings", json={**body, "estimated_minutes": None},
                          headers=bearer(token))
    assert missing.status_code == 422
