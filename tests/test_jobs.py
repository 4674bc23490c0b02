"""Jobs on machines (booking/jobs.py): started, ended (freeing the machine at once), material
recorded and priced; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

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
from makerspace.booking.models import Booking, BookingStatus, EquipmentKind
from makerspace.booking.services import create_booking
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.extensions import db

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Oslo
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def scene(app_ctx, make_equipment, make_user, make_booking, frozen_clock):
    frozen_clock.set(NOW)
    printer = make_equipment(buffer_minutes=30)
    person = make_user()
    booking = make_booking(printer, person, START, minutes=120)
    staff = make_user(role=Role.LIBRARIAN, branches=[printer.branch])
    return (db.session.get(Booking, booking.id), db.session.get(User, person.id),
            db.session.get(User, staff.id))


def test_start_checks_in_and_end_frees_the_machine_at_once(scene, make_user):
    booking, person, staff = scene
    start_job(booking, at=START, by=None, via="machine")
    assert booking.status == BookingStatus.CHECKED_IN
    assert booking.job.started_via == "machine"
    start_job(booking, at=START + timedelta(minutes=5), by=staff)  # again: nothing changes
    assert booking.job.started_at == START
    done = START + timedelta(minutes=40)
    end_job(booking, JobOutcome.FINISHED, at=done, by=person, via="web")
    assert booking.status == BookingStatus.COMPLETED
    assert booking.end_at == done and booking.occupied_until == done
    db.session.commit()
    # a booking from the moment it was freed, made a second later, is accepted
    clock.freeze(done + timedelta(seconds=1))
    other = db.session.get(User, make_user().id)
    later = create_booking(user=other, equipment=booking.equipment,
                           start=START + timedelta(hours=1), end=START + timedelta(hours=2))
    assert later.status == BookingStatus.CONFIRMED
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.booking_id == booking.id)))
    assert {AuditAction.JOB_STARTED, AuditAction.JOB_ENDED} <= actions


def test_end_refuses_a_job_not_started_and_a_second_different_outcome(scene):
    booking, person, staff = scene
    with pytest.raises(errors.JobNotStarted):
        end_job(booking, JobOutcome.FAILED, at=START, by=staff)
    start_job(booking, at=START, by=staff)
    end_job(booking, JobOutcome.FAILED, at=START + timedelta(minutes=10), by=staff)
    end_job(booking, JobOutcome.FAILED, at=START + timedelta(minutes=11), by=staff)
    with pytest.raises(errors.JobAlreadyEnded):
        end_job(booking, JobOutcome.FINISHED, at=START + timedelta(minutes=12), by=staff)


def test_strangers_get_not_found(scene, make_user):
    booking, _person, _staff = scene
    stranger = db.session.get(User, make_user().id)
    with pytest.raises(errors.BookingNotFound):
        start_job(booking, at=START, by=stranger)


def test_material_is_recorded_priced_and_summed(scene):
    booking, person, staff = scene
    set_material_price(booking.equipment.branch, EquipmentKind.PRINTER_3D, 50, by=staff)
    start_job(booking, at=START, by=staff)
    job = record_material(booking, amount="23,5", material="PLA", colour="Blå", by=person,
                          via="web")
    assert job.material_amount == 23.5 and job.material_unit == "g"
    assert job.material_price_ore == 50 and job.material_cost_ore == 1175
    with pytest.raises(errors.InvalidMaterial):
        record_material(booking, amount="-1", by=staff)
    with pytest.raises(errors.InvalidMaterial):
        record_material(booking, amount="lots", by=staff)
    # to a milligram: what the statistics add up exactly
    assert record_material(booking, amount="12,34567", by=staff).material_amount == 12.346
