"""What a machine's job events do to bookings, at service level on both databases: a start in
the check-in window checks in (audited "started on the machine"), an end marks the outcome and
frees the rest, a job outside any booking is "in use without booking", an unreachable machine
changes nothing but its status (with backoff), and the API key is stored encrypted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from makerspace.accounts.models import Role, User
from makerspace.booking.errors import EquipmentNotFound
from makerspace.booking.models import Booking, BookingStatus, Equipment, JobOutcome
from makerspace.booking.services import create_booking
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.extensions import db
from makerspace.machines import credentials, services
from makerspace.machines.clients import Reading
from makerspace.machines.models import JobState, MachineConnection, MachineJob, MachineStatus

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Oslo: check-in 09:45–10:15


@pytest.fixture(name="world")
def world_fixture(app_ctx, frozen_clock, open_branch, make_equipment, make_user, make_booking):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    printer = make_equipment(branch, name="Prusa MK4", max_minutes=240)
    citizen = make_user("kari@example.no", name="Kari Nordmann")
    other = make_user("ola@example.no", name="Ola Nordmann")
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[branch])
    booking = make_booking(printer, citizen, START, minutes=180)
    machine = db.session.get(Equipment, printer.id)
    connection = services.set_connection(machine, kind="octoprint", url="http://127.0.0.1:9/",
                                         api_key="SECRET-KEY-123", now=NOW)
    db.session.commit()
    return SimpleNamespace(branch=branch, printer=machine, citizen=citizen, other=other,
                           librarian=librarian, booking=booking, connection=connection,
                           clock=frozen_clock)


def printing(key: str = "tiny.gcode", progress: float = 10.0, left: float = 3600,
             elapsed: float = 0) -> Reading:
    return Reading("printing", job_key=key, progress=progress, seconds_left=left,
                   seconds_printing=elapsed, filament_mm=1000.0)


def booking(world) -> Booking:  # type: ignore[no-untyped-def]
    return db.session.get(Booking, world.booking.id)


def apply(world, reading: Reading, at: datetime):  # type: ignore[no-untyped-def]
    world.clock.set(at)
    job = services.record_reading(world.connection.id, reading, at)
    db.session.commit()
    return job


def test_the_api_key_is_stored_encrypted_and_never_in_clear(world):
    stored = db.session.scalar(text("SELECT api_key_encrypted FROM machine_connections"))
    assert "SECRET-KEY-123" not in stored
    assert credentials.decrypt(stored) == "SECRET-KEY-123"
    # Saving without a key keeps it; "" removes it.
    services.set_connection(world.printer, kind="octoprint", url="http://127.0.0.1:9",
                            now=NOW)
    assert credentials.decrypt(world.connection.api_key_encrypted) == "SECRET-KEY-123"
    services.set_connection(world.printer, kind="octoprint", url="http://127.0.0.1:9",
                            api_key="", now=NOW)
    assert world.connection.api_key_encrypted is None


def test_a_key_made_with_another_secret_cannot_be_read(world, app):
    stored = world.connection.api_key_encrypted
    app.config["MACHINE_CREDENTIALS_KEY"] = "another secret entirely"
    assert credentials.decrypt(stored) is None
    # Rotation: the new key first, the old one (here SECRET_KEY's) after it.
    app.config["MACHINE_CREDENTIALS_KEY"] = f"new secret,{app.config['SECRET_KEY']}"
    assert credentials.decrypt(stored) == "SECRET-KEY-123"


@pytest.mark.parametrize(("kind", "url", "field"), [
    ("klipper", "http://10.0.0.2", "kind"), ("octoprint", "ftp://10.0.0.2", "url"),
    ("octoprint", "http://user:pw@10.0.0.2", "url"), ("octoprint", "10.0.0.2", "url")])
def test_a_bad_connection_is_refused_with_its_field(world, kind, url, field):
    with pytest.raises(services.InvalidConnection) as refusal:
        services.set_connection(world.printer, kind=kind, url=url, now=NOW)
    assert refusal.value.extra["field"] == field


def test_a_job_started_in_the_window_checks_in_and_its_end_frees_the_rest(world):
    job = apply(world, printing(elapsed=60), START + timedelta(minutes=2))
    assert job.booking_id == world.booking.id
    assert booking(world).status == BookingStatus.CHECKED_IN
    assert booking(world).checked_in_at == START + timedelta(minutes=1)
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == AuditAction.STARTED_ON_MACHINE))
    assert entry.booking_id == world.booking.id and entry.actor_id is None
    # progress and the estimated end
    job = apply(world, printing(progress=55.0, left=1200, elapsed=600), START + timedelta(
        minutes=12))
    assert job.progress == 55.0
    assert job.estimated_end_at == START + timedelta(minutes=32)
    # finished at 10:40 (Oslo): the booking ends then, and 11:00–12:00 is bookable
    ended = START + timedelta(minutes=40)
    job = apply(world, Reading("idle", job_key="tiny.gcode", progress=100.0), ended)
    assert job.state == JobState.FINISHED and job.ended_at == ended
    assert booking(world).end_at == ended
    assert booking(world).status == BookingStatus.COMPLETED
    outcome = booking(world).job
    assert outcome.outcome == JobOutcome.FINISHED and outcome.ended_via == "machine"
    assert outcome.ended_by_id is None
    # 1 m of 1.75 mm PLA ≈ 3 g, for the person to confirm
    assert outcome.material_amount == pytest.approx(3.0, abs=0.1)
    assert outcome.material_recorded_by_id is None
    world.clock.set(ended + timedelta(seconds=1))
    later = create_booking(user=db.session.merge(world.other), equipment=world.printer,
                           start=START + timedelta(hours=1), end=START + timedelta(hours=2))
    assert later.id


def test_a_cancelled_job_marks_the_booking_and_frees_it(world):
    apply(world, printing(), START)
    job = apply(world, Reading("idle", job_key="tiny.gcode", progress=40.0),
                START + timedelta(minutes=30))
    assert job.state == JobState.CANCELLED
    assert booking(world).end_at == START + timedelta(minutes=30)
    assert booking(world).job.outcome == JobOutcome.STOPPED


def test_a_failed_job_is_marked_failed(world):
    apply(world, printing(), START)
    apply(world, Reading("error", detail="Error"), START + timedelta(minutes=20))
    assert booking(world).job.outcome == JobOutcome.FAILED


def test_the_desk_ending_it_first_has_the_last_word(world, app):
    from makerspace.booking.jobs import end_job

    apply(world, printing(), START)
    end_job(booking(world), JobOutcome.FAILED, at=START + timedelta(minutes=10),
            by=db.session.merge(world.librarian), via="desk")
    db.session.commit()
    apply(world, Reading("idle", job_key="tiny.gcode", progress=100.0),
          START + timedelta(minutes=20))
    assert booking(world).job.outcome == JobOutcome.FAILED
    assert booking(world).end_at == START + timedelta(minutes=10)


def test_a_job_outside_the_window_checks_nobody_in(world):
    # 09:30 in Oslo: before the window opens (09:45); no booking then: in use without one
    job = apply(world, printing(), START - timedelta(minutes=30))
    assert job.booking_id is None
    assert booking(world).status == BookingStatus.CONFIRMED


def test_staff_can_turn_the_check_in_off(world):
    services.set_connection(world.printer, kind="octoprint", url="http://127.0.0.1:9",
                            check_in_on_start=False, finish_on_end=False, now=NOW)
    job = apply(world, printing(), START)
    assert job.booking_id == world.booking.id  # progress still shows to the owner
    assert booking(world).status == BookingStatus.CONFIRMED
    apply(world, Reading("idle", job_key="tiny.gcode", progress=100.0), START + timedelta(
        minutes=20))
    assert booking(world).end_at == START + timedelta(hours=3)


def test_an_unreachable_machine_changes_nothing_and_backs_off(world, app):
    apply(world, printing(), START)
    world.clock.set(START + timedelta(minutes=1))
    first = services.record_failure(world.connection.id, "timeout", START + timedelta(minutes=1))
    assert first.status == MachineStatus.OFFLINE
    pause1 = first.next_poll_at - (START + timedelta(minutes=1))
    second = services.record_failure(world.connection.id, "timeout",
                                     START + timedelta(minutes=2))
    pause2 = second.next_poll_at - (START + timedelta(minutes=2))
    assert pause2 == 2 * pause1
    for _ in range(20):
        services.record_failure(world.connection.id, "timeout", START + timedelta(minutes=3))
    assert (second.next_poll_at - (START + timedelta(minutes=3))).total_seconds() == \
        app.config["MACHINE_POLL_MAX_BACKOFF_SECONDS"]
    db.session.commit()
    # the job is still open and the booking untouched
    assert services.open_job(world.printer.id).state == JobState.RUNNING
    assert booking(world).status == BookingStatus.CHECKED_IN
    assert booking(world).end_at == START + timedelta(hours=3)
    # back online: the poll interval again
    apply(world, printing(progress=20), START + timedelta(minutes=4))
    assert world.connection.failures == 0 and world.connection.status == MachineStatus.ONLINE


def test_a_disconnected_printer_is_offline_and_decides_nothing(world):
    apply(world, printing(), START)
    apply(world, Reading("disconnected", detail="printer not connected"),
          START + timedelta(minutes=5))
    assert world.connection.status == MachineStatus.OFFLINE
    assert services.open_job(world.printer.id) is not None
    assert booking(world).end_at == START + timedelta(hours=3)


def test_a_new_job_without_seeing_the_old_end_leaves_the_booking_alone(world):
    apply(world, printing("a.gcode"), START)
    apply(world, printing("b.gcode"), START + timedelta(minutes=30))
    jobs = list(db.session.scalars(select(MachineJob).order_by(MachineJob.id)))
    assert [j.state for j in jobs] == [JobState.UNKNOWN, JobState.RUNNING]
    assert booking(world).end_at == START + timedelta(hours=3)


def test_the_public_sees_only_about_when(world):
    apply(world, printing(left=37 * 60 + 5), START)
    in_use, until = services.in_use_until(services.open_job(world.printer.id), START)
    assert in_use and until == START + timedelta(minutes=40)  # 10:37 → about 10:40
    assert services.in_use_until(None, START) == (False, None)


def test_a_machine_now_is_its_outage_in_force_and_its_open_job(world):
    """The machine page's one statement finds what the separate questions find."""
    from makerspace.booking.services import current_outage, take_out_of_service

    def now_of(at):  # type: ignore[no-untyped-def]
        return services.machine_now(world.printer.id, at)

    assert now_of(START).outage is None and now_of(START).job is None
    apply(world, printing(left=37 * 60 + 5), START)
    outage, _cancelled = take_out_of_service(
        world.printer, reason="Dysen er tett", by=db.session.get(User, world.librarian.id),
        start=START + timedelta(hours=1), end=START + timedelta(hours=2))
    for at in (START, START + timedelta(hours=1), START + timedelta(minutes=119),
               START + timedelta(hours=2)):
        found = now_of(at)
        assert found.equipment.id == world.printer.id
        assert found.outage == current_outage(world.printer, at)
        assert found.job == services.open_job(world.printer.id)
    assert now_of(START + timedelta(hours=1)).outage == outage
    with pytest.raises(EquipmentNotFound):
        services.machine_now(world.printer.id + 10_000, START)


def test_at_most_one_open_job_per_machine(world):
    apply(world, printing(), START)
    db.session.add(MachineJob(equipment_id=world.printer.id, remote_key="x",
                              state=JobState.RUNNING, started_at=START))
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        db.session.flush()
    db.session.rollback()


def test_claims_move_the_next_poll_on(world):
    orders = services.claim_due(NOW, limit=10)
    assert [o.connection_id for o in orders] == [world.connection.id]
    assert orders[0].api_key == "SECRET-KEY-123"
    assert services.claim_due(NOW, limit=10) == []
    db.session.commit()
    assert db.session.get(MachineConnection, world.connection.id).next_poll_at > NOW
