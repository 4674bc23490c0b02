"""Fixtures: every database test runs on SQLite and on PostgreSQL.

The PostgreSQL half needs TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).
The suite makes a database of its own on that server, migrates it, and drops it at the end, so
whatever earlier runs left there does not matter. With CI=true a skipped test fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from makerspace import clock, create_app
from makerspace.accounts.models import Role, User
from makerspace.accounts.services import create_user, issue_api_token
from makerspace.booking import versions
from makerspace.branches.models import Branch
from makerspace.database import SNAPSHOT_TAKEN
from makerspace.extensions import db, limiter
from tests.api_check import ApiCheckingClient
from tests.databases import migrated_app, test_config, throwaway_database
from tests.helpers import PASSWORD, sign_in

BACKENDS = ["sqlite", "postgresql"]
IN_CI = os.environ.get("CI", "").lower() == "true"


# -- CI: a skip is a failure --------------------------------------------------------------

def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped"):
        reporter.write_line(
            f"CI=true: {len(reporter.stats['skipped'])} test(s) skipped; "
            "in CI a skip is a failure.",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test served by a live server (another thread, its own connections) commits."""
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.commits)


# -- databases ----------------------------------------------------------------------------

@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest):
    """A migrated, empty database of each kind, made once per test session."""
    if request.param == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    with throwaway_database(request.param) as url:
        app = migrated_app(url)
        with app.app_context():
            db.engine.dispose()
        yield url


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra config for the test's app; override in a test module to change it."""
    return {}


# Settings read once, when the app is made: a test that changes one gets an app of its own.
CREATE_TIME_SETTINGS = {"RATELIMIT_ENABLED", "RATELIMIT_STORAGE_URI", "PROXY_FIX_X_FOR",
                        "ENVIRONMENT", "SESSION_COOKIE_SECURE", "DATABASE_URL"}


@pytest.fixture(scope="session")
def shared_app(database_url: str) -> Iterator[Flask]:
    """One app per database for the whole run: Jinja's template cache and the mappers'
    compiled statements survive from test to test."""
    app = create_app(test_config(database_url))
    app.test_client_class = ApiCheckingClient
    db.session.session_factory.configure(join_transaction_mode="create_savepoint")
    yield app
    with app.app_context():
        db.engine.dispose()


@contextmanager
def _rolled_back(app: Flask) -> Iterator[None]:
    """Run the test inside one outer transaction on one connection and roll it back at the
    end. The app's sessions join it in "create_savepoint" mode: their commits release
    savepoints, their rollbacks return to them, and nothing reaches the database."""
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
    engines = db._app_engines[app]  # noqa: SLF001  (Flask-SQLAlchemy keeps no public hook)
    engines[None] = connection  # type: ignore[assignment]

    def a_new_view(_session: Any, _transaction: Any, joined: Any) -> None:
        # Every write of the test is on this one connection, so a session joining it sees
        # all of them, as a new transaction does (database.snapshot_taken).
        joined.info[SNAPSHOT_TAKEN] = False

    event.listen(Session, "after_begin", a_new_view)
    try:
        yield
    finally:
        event.remove(Session, "after_begin", a_new_view)
        engines[None] = engine
        outer.rollback()
        connection.close()


@pytest.fixture
def app(request: pytest.FixtureRequest, database_url: str, app_config: dict[str, Any]
        ) -> Iterator[Flask]:
    """The app for one test. Most tests share the run's app and are rolled back; tests
    marked `commits` (several connections at once: threads, a live server) commit for real
    and the tables are emptied afterwards; tests that change a start-up setting get an app
    of their own."""
    if CREATE_TIME_SETTINGS & set(app_config):
        fresh = create_app(test_config(database_url, **app_config))
        fresh.test_client_class = ApiCheckingClient
        try:
            yield fresh
        finally:
            clock.freeze(None)
            with fresh.app_context():
                db.session.rollback()
                _empty_all_tables()
                db.engine.dispose()
                # One Limiter object serves every app in the process: switch it back off
                # and forget its counts, or the shared app would start counting too.
                limiter.reset()
            limiter.enabled = False
        return
    shared = request.getfixturevalue("shared_app")
    saved = dict(shared.config)  # tests may change settings; each starts from the same
    shared.config.update(app_config)
    shared.extensions.pop("built_feeds", None)
    # Rolled-back tests reuse ids, so tokens and pages kept by another test must not answer.
    versions.install(shared)
    try:
        if request.node.get_closest_marker("commits"):
            try:
                yield shared
            finally:
                with shared.app_context():
                    db.session.rollback()
                    _empty_all_tables()
        else:
            with _rolled_back(shared):
                yield shared
    finally:
        clock.freeze(None)
        shared.config.clear()
        shared.config.update(saved)


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """An app context for service-level tests (not for tests that also use `client`)."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


# -- time ---------------------------------------------------------------------------------

class Clock:
    def set(self, moment: datetime) -> None:
        clock.freeze(moment)

    def now(self) -> datetime:
        return clock.now()


@pytest.fixture
def frozen_clock() -> Iterator[Clock]:
    yield Clock()
    clock.freeze(None)


# -- factories ----------------------------------------------------------------------------

@contextmanager
def _in_context(app: Flask) -> Iterator[bool]:
    """Use the test's app context if it has one; else a short one of our own."""
    from flask import has_app_context

    if has_app_context():
        yield False
    else:
        with app.app_context():
            yield True


def _persist(app: Flask, build: Callable[[], Any]) -> Any:
    with _in_context(app) as own_context:
        obj = build()
        db.session.commit()
        if own_context:
            db.session.refresh(obj)
            db.session.expunge(obj)
        return obj


@pytest.fixture
def make_branch(app: Flask) -> Callable[..., Branch]:
    counter = iter(range(1, 10_000))

    def make(slug: str | None = None, **fields: Any) -> Branch:
        n = next(counter)
        slug = slug or f"branch-{n}"
        fields.setdefault("name", f"Bibliotek {n}")
        fields.setdefault("municipality", "Trondheim")

        def build() -> Branch:
            branch = Branch(slug=slug, **fields)
            db.session.add(branch)
            return branch

        return _persist(app, build)

    return make


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, *, name: str | None = None, role: Role = Role.CITIZEN,
             branches: list[Branch] | None = None, birth_year: int | None = 1990,
             password: str = PASSWORD, locale: str | None = None) -> User:
        n = next(counter)

        def build() -> User:
            user, _ = create_user(
                email=email or f"person{n}@example.no", name=name or f"Person {n}", role=role,
                branch_slugs=[b.slug for b in branches or []], password=password,
                birth_year=birth_year,
            )
            user.locale = locale
            return user

        return _persist(app, build)

    return make


@pytest.fixture
def make_token(app: Flask) -> Callable[[User], str]:
    def make(user: User) -> str:
        with _in_context(app):
            _token, raw = issue_api_token(db.session.get(User, user.id), name="test")
            db.session.commit()
            return raw

    return make


@pytest.fixture
def login(client: FlaskClient) -> Callable[[User], FlaskClient]:
    """Log a user in on the test client without going through the form."""

    return lambda user: sign_in(client, user)


# -- booking factories --------------------------------------------------------------------

ALL_WEEK = {day: [("08:00", "20:00")] for day in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                  "sun")}


@pytest.fixture
def open_branch(app: Flask, make_branch: Callable[..., Branch]) -> Callable[..., Branch]:
    """A branch open 08:00–20:00 every day, public holidays included unless told."""
    from makerspace.branches.hours import set_weekly_hours

    def make(slug: str | None = None, *, weekly: dict | None = None,
             closed_on_public_holidays: bool = False, **fields: Any) -> Branch:
        branch = make_branch(slug, closed_on_public_holidays=closed_on_public_holidays,
                             **fields)
        with _in_context(app):
            set_weekly_hours(db.session.get(Branch, branch.id), weekly or ALL_WEEK)
            db.session.commit()
        return branch

    return make


@pytest.fixture
def make_equipment(app: Flask, open_branch: Callable[..., Branch]):  # type: ignore[no-untyped-def]
    from makerspace.booking.services import create_equipment

    def make(branch: Branch | None = None, **fields: Any):  # type: ignore[no-untyped-def]
        branch = branch or open_branch()
        fields.setdefault("name", "Prusa MK4")
        fields.setdefault("kind", "3d-printer")

        def build():  # type: ignore[no-untyped-def]
            return create_equipment(db.session.get(Branch, branch.id), **fields)

        return _persist(app, build)

    return make


@pytest.fixture
def make_booking(app: Flask):  # type: ignore[no-untyped-def]
    """Insert a booking directly (no rules), for setting the scene."""
    from datetime import timedelta

    from makerspace.booking.models import Booking, BookingStatus, Equipment

    def make(equipment, user, start: datetime, minutes: int = 60,  # type: ignore[no-untyped-def]
             status: BookingStatus = BookingStatus.CONFIRMED):
        def build():  # type: ignore[no-untyped-def]
            machine = db.session.get(Equipment, equipment.id)
            end = start + timedelta(minutes=minutes)
            booking = Booking(equipment_id=machine.id, user_id=user.id, start_at=start,
                              end_at=end, status=status,
                              occupied_until=end + timedelta(minutes=machine.buffer_minutes))
            db.session.add(booking)
            return booking

        return _persist(app, build)

    return make
