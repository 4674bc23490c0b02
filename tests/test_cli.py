"""Operators' commands."""

from __future__ import annotations

from sqlalchemy import func, select

from makerspace.accounts.models import Role, User
from makerspace.accounts.services import authenticate
from makerspace.booking.models import Booking, Equipment
from makerspace.branches.models import Branch
from makerspace.demo import ACCOUNTS, BRANCHES, DEMO_PASSWORD, MACHINES
from makerspace.events.models import Event
from makerspace.extensions import db
from tests.helpers import bearer


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_is_idempotent_and_accounts_can_log_in(runner, app):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert _count(app, Branch) == len(BRANCHES)
    users = _count(app, User)
    assert users > len(ACCOUNTS)  # the demo accounts and the neighbours who make weeks busy
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0
    assert "0 branches, 0 accounts, 0 machines, 0 bookings and 0 courses" in again.output
    assert _count(app, Branch) == len(BRANCHES)
    with app.app_context():
        librarian = authenticate(email="bibliotekar@example.no", password=DEMO_PASSWORD)
        assert librarian.role == Role.LIBRARIAN and librarian.branches
        laser = db.session.scalar(select(Equipment).where(Equipment.kind == "laser-cutter"))
        assert laser.requires_certification.slug == "laserkutter-grunnkurs"
        assert db.session.scalar(select(func.count(Booking.id))) > 10
        laser_courses = db.session.scalars(select(Event).where(
            Event.grants_certification_id == laser.requires_certification_id)).all()
        assert laser_courses and all(e.branch.slug == "trondheim-hovedbiblioteket"
                                     for e in laser_courses)
        assert db.session.scalar(select(func.count(Event.id))) > 20
    assert _count(app, Equipment) == sum(len(m) for m in MACHINES.values())
    assert _count(app, User) == users


def test_demo_data_keeps_the_rules_so_the_demo_citizen_can_book(runner, app):
    from makerspace import clock
    from makerspace.booking.services import upcoming_count

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        now = clock.now()
        for person in db.session.scalars(select(User)):
            for branch in db.session.scalars(select(Branch)):
                assert upcoming_count(person, branch, now) <= branch.max_upcoming_bookings
        sigrid = db.session.scalar(select(User).where(User.email == "innbygger@example.no"))
        trondheim = db.session.scalar(select(Branch).where(
            Branch.slug == "trondheim-hovedbiblioteket"))
        mine = upcoming_count(sigrid, trondheim, now)
        assert 1 <= mine < trondheim.max_upcoming_bookings  # she has some, and room for one
        held = db.session.scalar(select(func.count(Booking.id)).where(
            Booking.user_id == sigrid.id))
        assert held == mine  # nowhere else


def test_seed_demo_if_empty_leaves_existing_data_alone(runner, app, make_branch):
    make_branch("mine")
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert _count(app, Branch) == 1


def test_create_user_with_branches_and_generated_password(runner, app, make_branch):
    make_branch("oppdal")
    result = runner.invoke(args=["create-user", "Lib@Example.no", "--name", "Lib Rarian",
                                 "--role", "librarian", "--branch", "oppdal",
                                 "--birth-year", "1980"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1].removeprefix("Password: ")
    with app.app_context():
        user = authenticate(email="lib@example.no", password=password)
        assert user is not None and [b.slug for b in user.branches] == ["oppdal"]
        assert user.birth_year == 1980


def test_create_user_refuses_bad_input(runner, make_user):
    make_user("taken@example.no")
    taken = runner.invoke(args=["create-user", "taken@example.no", "--name", "X",
                                "--password", "long enough password"])
    assert taken.exit_code != 0 and taken.output.startswith("Error:")
    no_branch = runner.invoke(args=["create-user", "l@example.no", "--name", "X",
                                    "--role", "librarian"])
    assert no_branch.exit_code != 0 and "--branch" in no_branch.output
    bad_branch = runner.invoke(args=["create-user", "l@example.no", "--name", "X",
                                     "--role", "librarian", "--branch", "atlantis"])
    assert bad_branch.exit_code != 0


def test_create_token_prints_a_working_token_last(runner, client, make_user):
    make_user("api@example.no")
    result = runner.invoke(args=["create-token", "api@example.no"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["email"] == "api@example.no"
    unknown = runner.invoke(args=["create-token", "nobody@example.no"])
    assert unknown.exit_code != 0
