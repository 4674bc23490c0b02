"""People can take a copy of their data and delete their account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from makerspace.accounts.models import User
from makerspace.booking.models import Booking
from makerspace.branches.models import Branch
from makerspace.events.models import Signup, SignupStatus
from makerspace.events.services import create_event, sign_up
from makerspace.extensions import db
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
