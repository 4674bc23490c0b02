"""People can take a copy of their data and delete their account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from makerspace.accounts.models import User
from makerspace.booking.models import Booking, BookingStatus
from makerspace.branches.models import Branch
from makerspace.events.models import Signup, SignupStatus
from makerspace.events.services import create_event, sign_up
from makerspace.extensions import db
from makerspace.machines.models import JobState, MachineJob
from makerspace.privacy.services import sweep_retention
from tests.helpers import PASSWORD

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _scene(app, frozen_clock, open_branch, make_user, make_equipment, make_booking):
    frozen_clock.set(NOW)
    branch = open_branch()
    printer = make_equipment(branch)
    person, waiting = make_user(name="Kari Nordmann"), make_user()
    make_booking(printer, person, NOW + timedelta(days=1))
    make_booking(printer, person, NOW - timedelta(days=3))
    with app.app_context():
        event = create_event(branch=db.session.get(Branch, branch.id), title="Kurs",
                             start=NOW + timedelta(days=2), end=NOW + timedelta(days=2, hours=2),
                             capacity=1)
        sign_up(event=event, user=db.session.get(User, person.id))
        sign_up(event=event, user=db.session.get(User, waiting.id))
        db.session.commit()
    return person, waiting


def test_export_has_everything_and_only_for_the_owner(app, client, login, frozen_clock,
                                                      open_branch, make_user, make_equipment,
                                                      make_booking):
    person, _waiting = _scene(app, frozen_clock, open_branch, make_user, make_equipment,
                              make_booking)
    assert client.get("/profile/export.json").status_code == 302  # log in first
    login(person)
    response = client.get("/profile/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = response.get_json()
    assert data["account"]["name"] == "Kari Nordmann"
    assert len(data["bookings"]) == 2 and len(data["signups"]) == 1


def test_delete_account_frees_seats_and_removes_data(app, client, login, frozen_clock,
                                                     open_branch, make_user, make_equipment,
                                                     make_booking):
    person, waiting = _scene(app, frozen_clock, open_branch, make_user, make_equipment,
                             make_booking)
    login(person)
    assert client.get("/profile/delete").status_code == 200
    wrong = client.post("/profile/delete", data={"password": "not it at all"})
    assert wrong.status_code == 422
    done = client.post("/profile/delete", data={"password": PASSWORD})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(User, person.id) is None
        # kept for the statistics, without the person
        assert db.session.scalar(select(func.count(Booking.id))) == 2
        assert db.session.scalar(select(func.count(Booking.id)).where(
            Booking.user_id.is_not(None))) == 0
        promoted = db.session.scalar(select(Signup).where(Signup.user_id == waiting.id))
        assert promoted.status == SignupStatus.CONFIRMED  # the waitlist moved first
    assert client.get("/profile").status_code == 302  # logged out


def _jobs(app, frozen_clock, open_branch, make_user, make_equipment, make_booking):
    """Kari printed "kari-benchy.gcode" in a booking three days ago and is printing
    "kari-vase.gcode" now; someone printed "walk-in.gcode" without a booking."""
    frozen_clock.set(NOW)
    printer = make_equipment(open_branch())
    other = make_equipment(open_branch("filial"), name="Prusa 2")
    kari = make_user(name="Kari Nordmann")
    past = make_booking(printer, kari, NOW - timedelta(days=3), status=BookingStatus.COMPLETED)
    now = make_booking(other, kari, NOW - timedelta(minutes=30),
                       status=BookingStatus.CHECKED_IN)
    with app.app_context():
        db.session.add_all([
            MachineJob(equipment_id=printer.id, booking_id=past.id,
                       remote_key="kari-benchy.gcode", state=JobState.FINISHED,
                       started_at=NOW - timedelta(days=3), progress=100.0,
                       ended_at=NOW - timedelta(days=3) + timedelta(minutes=50)),
            MachineJob(equipment_id=printer.id, remote_key="walk-in.gcode",
                       state=JobState.CANCELLED, started_at=NOW - timedelta(days=2),
                       ended_at=NOW - timedelta(days=2) + timedelta(minutes=5)),
            MachineJob(equipment_id=other.id, booking_id=now.id, remote_key="kari-vase.gcode",
                       state=JobState.RUNNING, started_at=NOW - timedelta(minutes=20)),
        ])
        db.session.commit()
    return kari


def _job_names(app) -> dict[str, str]:
    with app.app_context():
        return {j.state.value: j.remote_key for j in db.session.scalars(select(MachineJob))}


def test_the_export_has_the_jobs_of_the_persons_bookings(app, client, login, frozen_clock,
                                                         open_branch, make_user,
                                                         make_equipment, make_booking):
    kari = _jobs(app, frozen_clock, open_branch, make_user, make_equipment, make_booking)
    login(kari)
    jobs = client.get("/profile/export.json").get_json()["machine_jobs"]
    assert [(j["job_name"], j["state"]) for j in jobs] == [
        ("kari-benchy.gcode", "finished"), ("kari-vase.gcode", "running")]
    login(make_user())  # someone else's export has none of them
    assert client.get("/profile/export.json").get_json()["machine_jobs"] == []


def test_deleting_the_account_forgets_the_names_of_its_ended_jobs(app, client, login,
                                                                 frozen_clock, open_branch,
                                                                 make_user, make_equipment,
                                                                 make_booking):
    kari = _jobs(app, frozen_clock, open_branch, make_user, make_equipment, make_booking)
    login(kari)
    assert client.post("/profile/delete", data={"password": PASSWORD}).status_code == 302
    # The printing job keeps its name (the poller tells jobs apart by it) until retention;
    # a job without a booking was nobody's.
    assert _job_names(app) == {"finished": "", "cancelled": "walk-in.gcode",
                               "running": "kari-vase.gcode"}


def test_retention_forgets_the_names_of_old_jobs(app, frozen_clock, open_branch, make_user,
                                                 make_equipment, make_booking):
    _jobs(app, frozen_clock, open_branch, make_user, make_equipment, make_booking)
    frozen_clock.set(NOW + timedelta(days=88))  # 91 days after the first, 90 after the second
    with app.app_context():
        report = sweep_retention()
        db.session.commit()
    assert report.job_names == 1 and "1 machine job name(s) removed" in report.summary()
    assert _job_names(app) == {"finished": "", "cancelled": "walk-in.gcode",
                               "running": "kari-vase.gcode"}
    frozen_clock.set(NOW + timedelta(days=89))
    with app.app_context():
        assert sweep_retention().job_names == 1
        assert sweep_retention().job_names == 0  # done once
        db.session.commit()
    assert _job_names(app)["cancelled"] == ""
