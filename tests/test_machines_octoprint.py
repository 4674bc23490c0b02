"""A booking's whole life against a real OctoPrint with its virtual printer: the job starts →
the booking is checked in → its progress shows on the booking page (and the desk's day grid,
and "in use" on the public page) → it finishes → the rest of the slot is bookable by someone
else. Also: the worker polls it on a thread of its own, while a hung machine blocks nothing.

OctoPrint is installed into a venv of its own the first time (tests/octoprint_standin.py);
where it cannot be, the tests skip, and with CI=true a skip fails the run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import Role
from makerspace.booking.models import Booking, BookingStatus, Equipment, JobOutcome
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.extensions import db
from makerspace.jobs import Worker
from makerspace.machines import services
from makerspace.machines.models import JobState, MachineConnection, MachineJob, MachineStatus
from makerspace.machines.poller import MachinePoller
from tests.helpers import bearer
from tests.octoprint_standin import OctoPrint, OctoPrintUnavailable, octoprint_server
from tests.standins import silent_server

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 10:00 in Oslo, 2 h booked

pytestmark = pytest.mark.commits


@pytest.fixture(scope="session")
def octoprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OctoPrint]:
    try:
        with octoprint_server(Path(tmp_path_factory.mktemp("octoprint"))) as server:
            yield server
    except OctoPrintUnavailable as error:
        pytest.skip(f"no OctoPrint: {error}")


@pytest.fixture
def app_config():  # type: ignore[no-untyped-def]
    return {"MACHINE_POLL_SECONDS": 0.2, "MACHINE_POLL_TICK_SECONDS": 0.1,
            "MACHINE_TIMEOUT_SECONDS": 2}


@pytest.fixture(name="scene")
def scene_fixture(app, octoprint, frozen_clock, open_branch, make_equipment, make_user,  # type: ignore[no-untyped-def]
                  make_booking, make_token):
    frozen_clock.set(START + timedelta(minutes=2))
    branch = open_branch("hoved")
    printer = make_equipment(branch, name="Prusa MK4", max_minutes=240)
    kari = make_user("kari@example.no", name="Kari Nordmann", locale="en")
    ola = make_user("ola@example.no", name="Ola Nordmann", locale="en")
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[branch],
                          locale="en")
    booking = make_booking(printer, kari, START, minutes=120)
    with app.app_context():
        services.set_connection(db.session.get(Equipment, printer.id), kind="octoprint",
                                url=octoprint.url, api_key=octoprint.api_key,
                                now=clock.now())
        db.session.commit()
    return {"printer": printer, "kari": kari, "ola": ola, "librarian": librarian,
            "booking": booking, "ola_token": make_token(ola),
            "staff_token": make_token(librarian)}


def poll_until(app, condition, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Poll as the worker would (one round a quarter second, the clock moving on) until the
    condition holds."""
    poller = MachinePoller(app)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with app.app_context():
                clock.freeze(clock.now() + timedelta(seconds=0.25))
                poller.poll_once()
                if condition():
                    return
            time.sleep(0.25)
        raise AssertionError("the condition did not come true in time")
    finally:
        poller.stop()


def _booking(scene) -> Booking:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(Booking, scene["booking"].id)


def _job() -> MachineJob | None:
    db.session.expire_all()
    return db.session.scalar(select(MachineJob).order_by(MachineJob.id.desc()).limit(1))


def test_a_booking_from_job_start_to_a_freed_remainder(app, client, login, scene, octoprint):
    poll_until(app, lambda: _job() is None and db.session.scalar(
        select(MachineConnection.status)) == MachineStatus.ONLINE)
    octoprint.print_file("nokkelring.gcode")
    # the job starts → checked in, audited as started on the machine
    poll_until(app, lambda: _booking(scene).status == BookingStatus.CHECKED_IN)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.booking_id == scene["booking"].id))
        assert entry.action == AuditAction.STARTED_ON_MACHINE and entry.actor_id is None
        assert _job().booking_id == scene["booking"].id
    # progress on the owner's booking page, and on the desk's grid; the public page says
    # only that it is in use
    poll_until(app, lambda: (_job().progress or 0) > 0)
    login(scene["kari"])
    page = client.get(f"/bookings/{scene['booking'].id}").get_data(as_text=True)
    assert 'id="machine-job"' in page and "<progress" in page
    public = client.get(f"/equipment/{scene['printer'].id}").get_data(as_text=True)
    assert 'id="in-use"' in public and "Kari" not in public
    answer = client.get(f"/api/v1/equipment/{scene['printer'].id}/connection",
                        headers=bearer(scene["staff_token"]))
    assert answer.status_code == 200
    assert answer.json["job"]["booking_id"] == scene["booking"].id
    assert "api_key" not in answer.json and octoprint.api_key not in answer.get_data(
        as_text=True)
    # finished → the booking is done and ends now: the rest of the slot is free
    poll_until(app, lambda: _job().state == JobState.FINISHED)
    with app.app_context():
        booking = _booking(scene)
        assert booking.end_at < START + timedelta(minutes=30)
        assert booking.status == BookingStatus.COMPLETED
        assert booking.job.outcome == JobOutcome.FINISHED and booking.job.ended_via == "machine"
    page = client.get(f"/bookings/{scene['booking'].id}").get_data(as_text=True)
    assert 'id="machine-job-ended"' in page
    # someone else books the rest, through the API
    taken = client.post("/api/v1/bookings", headers=bearer(scene["ola_token"]), json={
        "equipment_id": scene["printer"].id, "start": "2026-11-30T10:30:00+01:00",
        "end": "2026-11-30T11:30:00+01:00"})
    assert taken.status_code == 201, taken.json


def test_a_job_without_a_booking_shows_on_the_day_grid(app, client, login, scene, octoprint):
    clock.freeze(START + timedelta(hours=3))  # 13:00: nobody has booked the machine
    octoprint.print_file("walk-up.gcode")
    try:
        poll_until(app, lambda: _job() is not None and _job().is_open)
        with app.app_context():
            assert _job().booking_id is None
        login(scene["librarian"])
        grid = client.get("/staff/hoved/?date=2026-11-30").get_data(as_text=True)
        assert f'id="machine-state-{scene["printer"].id}"' in grid
        assert 'class="machine-unbooked"' in grid
    finally:
        octoprint.cancel()
    poll_until(app, lambda: _job().state == JobState.CANCELLED)


def test_the_worker_polls_on_its_own_thread_and_a_hung_machine_blocks_nothing(
        app, scene, octoprint, make_equipment):
    with silent_server() as port:
        with app.app_context():
            hung = make_equipment(db.session.get(Equipment, scene["printer"].id).branch,
                                  name="Bambu A1")
            hung_id = hung.id
            services.set_connection(db.session.get(Equipment, hung_id), kind="prusalink",
                                    url=f"http://127.0.0.1:{port}", now=clock.now())
            db.session.commit()
        worker = Worker(app, tick_seconds=3600, poll_seconds=0.1)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with app.app_context():
                    db.session.expire_all()
                    states = dict(db.session.execute(select(
                        MachineConnection.equipment_id, MachineConnection.status)).all())
                if (states.get(scene["printer"].id) == MachineStatus.ONLINE
                        and states.get(hung_id) == MachineStatus.OFFLINE):
                    break
                time.sleep(0.2)
            assert states[scene["printer"].id] == MachineStatus.ONLINE
            assert states[hung_id] == MachineStatus.OFFLINE
            # the mail loop kept going meanwhile: many rounds while the hung one timed out
            rounds = worker.rounds
            time.sleep(1)
            assert worker.rounds > rounds
        finally:
            worker.stop()
            thread.join(15)
        assert not thread.is_alive()
