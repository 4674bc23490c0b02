"""A code scanned at several desks at the same moment checks its booking in once: each scan
on its own database connection, on SQLite and PostgreSQL. A repeated scan reads without
locking the booking; a scan that checks in reads it again, locked, and decides on that."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select, update

from makerspace.accounts.models import Role, User
from makerspace.booking.models import Booking, BookingStatus
from makerspace.checkin import services
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.extensions import db
from tests.helpers import bearer

SCANS = 16
NOW = datetime(2026, 11, 30, 8, 55, tzinfo=UTC)  # 09:55 in Oslo
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # check-in 09:45–10:15


@pytest.fixture
def scene(app, frozen_clock, open_branch, make_equipment, make_user, make_booking):
    frozen_clock.set(NOW)
    branch = open_branch("hoved", name="Hovedbiblioteket")
    printer = make_equipment(branch, name="Prusa MK4")
    citizen = make_user("kari@example.no", name="Kari Nordmann")
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[branch])
    booking = make_booking(printer, citizen, START)
    with app.app_context():
        token = db.session.get(Booking, booking.id).checkin_token
    return booking, librarian, token


def _checked_in_once(app, booking_id: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == BookingStatus.CHECKED_IN
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == AuditAction.CHECKED_IN)) == 1


@pytest.mark.commits
def test_one_code_scanned_at_once_at_16_desks_checks_in_once(app, scene):
    booking, librarian, token = scene
    barrier = threading.Barrier(SCANS)

    def scan(_index: int) -> str:
        with app.app_context():
            barrier.wait()  # (SQLite: a read before it would take the write lock, and wait)
            result = services.check_in(token, by=db.session.get(User, librarian.id))
            db.session.commit()
            return result.result

    with ThreadPoolExecutor(max_workers=SCANS) as pool:
        results = list(pool.map(scan, range(SCANS)))
    assert results.count("checked_in") == 1
    assert results.count("already_checked_in") == SCANS - 1
    _checked_in_once(app, booking.id)


@pytest.mark.commits
def test_one_code_sent_at_once_by_16_scan_stations_checks_in_once(app, scene, make_token):
    booking, librarian, token = scene
    key = make_token(librarian)
    barrier = threading.Barrier(SCANS)

    def scan(_index: int) -> str:
        client = app.test_client()
        barrier.wait()
        answer = client.post("/api/v1/checkins", json={"code": token}, headers=bearer(key))
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()["result"]

    with ThreadPoolExecutor(max_workers=SCANS) as pool:
        results = list(pool.map(scan, range(SCANS)))
    assert sorted(results) == ["already_checked_in"] * (SCANS - 1) + ["checked_in"]
    _checked_in_once(app, booking.id)


@pytest.mark.commits
def test_a_scan_whose_reads_went_stale_before_its_write_runs_again(
        app, scene, make_token, backend):
    """SQLite: the scan's transaction began as a reader; a commit by someone else between its
    reads and its write makes SQLite refuse the write, and the request runs again as a
    writer. PostgreSQL: the scan's locked read sees the commit; nothing runs twice."""
    booking, librarian, token = scene
    key = make_token(librarian)
    writes: list[str] = []

    def someone_else_commits_first(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if not statement.startswith("UPDATE bookings"):
            return
        writes.append(statement)
        if len(writes) == 1:
            with db.engine.connect() as other:
                other.execute(update(User).where(User.id == booking.user_id)
                              .values(name="Kari Nordmann-Hansen"))
                other.commit()

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", someone_else_commits_first)
        try:
            answer = app.test_client().post("/api/v1/checkins", json={"code": token},
                                            headers=bearer(key))
        finally:
            event.remove(db.engine, "before_cursor_execute", someone_else_commits_first)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["result"] == "checked_in"
    if backend == "sqlite":  # everything read again, after that commit
        assert len(writes) == 2 and answer.get_json()["name"] == "Kari Nordmann-Hansen"
    else:  # read, locked, before it
        assert len(writes) == 1 and answer.get_json()["name"] == "Kari Nordmann"
    _checked_in_once(app, booking.id)
