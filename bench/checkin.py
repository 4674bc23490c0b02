"""Benchmark: check-in throughput and the no-show sweep, with 100,000 bookings in the database.

For SQLite (a temporary file) and, when TEST_DATABASE_URL or BENCH_DATABASE_URL is set,
PostgreSQL (a database of its own on that server, dropped at the end), this script migrates an
empty database, adds one branch, 8 machines, 200 citizens and a librarian, and 100,000 bookings
(about three years of history plus confirmed bookings in the coming two weeks, each with its
own check-in token), and then times, through `checkin.services` with a frozen clock:

  (a) 2,000 scans of different bookings, each inside its check-in window: check_in() on the
      scanned URL text plus the view's commit, one scan after the other (the desk's pace is one
      person at a time; this is the cost per scan and the throughput of one worker);
  (b) the same 2,000 codes scanned again (answer: already checked in);
  (c) 2,000 forged codes (well-formed random tokens: a miss in both indexes);
  (d) 500 scans through HTTP: POST /api/v1/checkins with a bearer token (test client);
  (e) the no-show sweep (`sweep_bookings`, what `flask tick` runs every minute): the first
      sweep, which has a backlog of 40 bookings to mark, and then the steady state.

It prints the query plans of the token lookup and of the sweep's bookings query (the exact SQL
the app sends) and a Markdown table of median and p95 milliseconds per call.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/checkin.py

Environment: BENCH_SCANS (default 2000), BENCH_BOOKINGS (100000).
"""

from __future__ import annotations

import os
import platform
import random
import secrets
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import psycopg  # noqa: E402
import sqlalchemy  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, func, insert, select, text, update  # noqa: E402

from makerspace import clock, create_app  # noqa: E402
from makerspace.accounts.models import Role, User  # noqa: E402
from makerspace.accounts.services import create_user, issue_api_token  # noqa: E402
from makerspace.booking.models import Booking, BookingStatus  # noqa: E402
from makerspace.booking.services import create_equipment  # noqa: E402
from makerspace.branches.models import Branch  # noqa: E402
from makerspace.checkin.codes import new_checkin_token  # noqa: E402
from makerspace.checkin.services import InvalidCode, check_in, sweep_bookings  # noqa: E402
from makerspace.extensions import db  # noqa: E402
from tests.databases import postgres_database, sqlite_database, test_config  # noqa: E402

NOW = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Oslo
BASE_URL = "https://folkeverksted.example.no"
MACHINES = 8
USERS = 200
SLOTS_PER_DAY = 12  # one-hour slots 08:00–20:00 (UTC here; the zone does not matter)
FUTURE_DAYS = 14
BACKLOG = 40  # confirmed bookings of the last two days that the first sweep marks no-shows
BATCH = 5_000
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "100000"))
SCANS = int(os.environ.get("BENCH_SCANS", "2000"))
HTTP_SCANS = 500
SWEEPS = 200


# -- data ---------------------------------------------------------------------------------

def slot(day_offset: int, index: int) -> tuple[datetime, datetime]:
    day = NOW.replace(hour=0) + timedelta(days=day_offset)
    start = day + timedelta(hours=8 + index)
    return start, start + timedelta(minutes=60)


def booking_rows(machine_ids: list[int], user_ids: list[int], total: int,
                 rng: random.Random) -> list[dict[str, Any]]:
    """Per machine: every one-hour slot from today back in time (none overlap), the coming two
    weeks' slots confirmed, the past ones mostly completed; a backlog of confirmed bookings
    from the last hours that nobody swept yet."""
    rows: list[dict[str, Any]] = []
    per_machine = total // len(machine_ids)
    for machine_id in machine_ids:
        slots = [slot(d, i) for d in range(FUTURE_DAYS, -2000, -1)
                 for i in range(SLOTS_PER_DAY - 1, -1, -1)][:per_machine]
        for start, end in slots:
            if start >= NOW:
                status = BookingStatus.CONFIRMED
            elif end > NOW - timedelta(days=2) and rng.random() < 0.5:
                status = BookingStatus.CONFIRMED  # the backlog, trimmed below
            else:
                status = rng.choices([BookingStatus.COMPLETED, BookingStatus.CANCELLED,
                                      BookingStatus.NO_SHOW], weights=[80, 12, 8])[0]
            user_id = rng.choice(user_ids)
            created = start - timedelta(days=rng.randint(0, 14))
            rows.append({
                "equipment_id": machine_id, "user_id": user_id, "start_at": start,
                "end_at": end, "occupied_until": end, "status": status,
                "created_by_id": user_id, "created_at": created, "updated_at": created,
                "cancel_reason": "", "checkin_token": new_checkin_token(),
            })
    backlog = [r for r in rows if r["status"] == BookingStatus.CONFIRMED and r["start_at"] < NOW]
    for row in backlog[BACKLOG:]:
        row["status"] = BookingStatus.COMPLETED
    rows.sort(key=lambda r: (r["start_at"], r["equipment_id"]))
    return rows


@dataclass
class Scene:
    app: Flask
    branch_id: int
    librarian_id: int
    api_token: str
    bookings: int
    seconds_to_load: float


def build_scene(url: str, total: int, seed: int) -> Scene:
    rng = random.Random(seed)
    app = create_app(test_config(url, BASE_URL=BASE_URL))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        branch = Branch(slug="bench", name="Benkebiblioteket", municipality="Trondheim",
                        timezone="Europe/Oslo", closed_on_public_holidays=False)
        db.session.add(branch)
        db.session.flush()
        machine_ids = [create_equipment(branch, name=f"Maskin {n}", kind="3d-printer").id
                       for n in range(MACHINES)]
        db.session.execute(insert(User), [
            {"email": f"bench{n}@example.no", "name": f"Person {n}", "password_hash": "!",
             "birth_year": 1950 + n % 60, "role": Role.CITIZEN, "created_at": NOW,
             "updated_at": NOW} for n in range(USERS)])
        user_ids = list(db.session.scalars(select(User.id)))
        librarian, _password = create_user(
            email="lib@example.no", name="Bibliotekar", role=Role.LIBRARIAN,
            branch_slugs=["bench"], password=secrets.token_urlsafe(16))
        _token, raw = issue_api_token(librarian, name="bench")
        db.session.commit()
        rows = booking_rows(machine_ids, user_ids, total, rng)
        for first in range(0, len(rows), BATCH):
            db.session.execute(insert(Booking), rows[first:first + BATCH])
            db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(Booking))
        assert count == len(rows), (count, len(rows))
        scene = Scene(app, branch.id, librarian.id, raw, count, time.perf_counter() - started)
        db.session.remove()
    return scene


# -- measuring ----------------------------------------------------------------------------

@dataclass
class Result:
    backend: str
    what: str
    calls: int
    median_ms: float
    p95_ms: float
    per_second: float
    note: str


def summary(backend: str, what: str, samples: list[float], note: str) -> Result:
    return Result(backend, what, len(samples), statistics.median(samples),
                  statistics.quantiles(samples, n=100)[94],
                  len(samples) / (sum(samples) / 1000), note)


@contextmanager
def capturing(marker: str) -> Iterator[list[tuple[str, Any]]]:
    """Collect the SQL statements (with parameters) that contain `marker`."""
    found: list[tuple[str, Any]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if marker in statement:
            found.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", catch)
    try:
        yield found
    finally:
        event.remove(db.engine, "before_cursor_execute", catch)


@contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def explain(statement: str, parameters: Any) -> list[str]:
    connection = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement,
            parameters)
        return [" ".join(statement.split())] + [r[0] for r in rows]
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    return [" ".join(statement.split())] + [r[-1] for r in rows]


def measure(backend: str, scene: Scene) -> tuple[list[Result], list[str]]:
    results: list[Result] = []
    plans: list[str] = []
    rng = random.Random(7)
    with scene.app.app_context():
        # (e) the sweep first, on the data as loaded (a backlog of BACKLOG no-shows).
        clock.freeze(NOW)
        with capturing("FROM bookings") as sweep_sql, counting() as statements:
            started = time.perf_counter()
            report = sweep_bookings()
            db.session.commit()
            first_ms = (time.perf_counter() - started) * 1000
        results.append(Result(backend, "(e) sweep_bookings, first run (+ commit)", 1, first_ms,
                              first_ms, 1000 / first_ms,
                              f"{len(statements)} SQL; {len(report.no_shows)} no-shows, "
                              f"{len(report.completed)} completed, {len(report.blocks)} blocks"))
        samples = []
        for _ in range(SWEEPS):
            started = time.perf_counter()
            again = sweep_bookings()
            db.session.commit()
            samples.append((time.perf_counter() - started) * 1000)
            assert not again.no_shows and not again.completed
        results.append(summary(backend, "(e) sweep_bookings, steady state (+ commit)", samples,
                               "nothing left to do"))
        plans.append("-- the sweep's bookings query")
        plans += explain(*sweep_sql[0])

        # SCANS + HTTP_SCANS bookings to check in: the upcoming ones, and if there are not
        # enough, past ones made confirmed again (each is scanned inside its own window).
        wanted = SCANS + HTTP_SCANS
        pool = list(db.session.execute(
            select(Booking.id, Booking.checkin_token, Booking.start_at)
            .where(Booking.start_at >= NOW, Booking.status == BookingStatus.CONFIRMED)))
        if len(pool) < wanted:
            extra = list(db.session.execute(
                select(Booking.id, Booking.checkin_token, Booking.start_at)
                .where(Booking.start_at < NOW, Booking.status == BookingStatus.COMPLETED)
                .limit(wanted - len(pool))))
            db.session.execute(update(Booking).where(Booking.id.in_([r.id for r in extra]))
                               .values(status=BookingStatus.CONFIRMED))
            db.session.commit()
            pool += extra
        rng.shuffle(pool)
        chosen, http_pool = pool[:SCANS], pool[SCANS:wanted]
        librarian = db.session.get(User, scene.librarian_id)
        branch = db.session.get(Branch, scene.branch_id)

        def scan_all(label: str, codes: list[tuple[str, datetime]], expect: str) -> None:
            samples = []
            for code, moment in codes:
                clock.freeze(moment)
                started = time.perf_counter()
                try:
                    answer = check_in(code, by=librarian, branch=branch).result
                    db.session.commit()
                except InvalidCode:
                    db.session.rollback()
                    answer = "invalid_code"
                samples.append((time.perf_counter() - started) * 1000)
                assert answer == expect, (answer, expect)
            results.append(summary(backend, label, samples, f"all {expect}"))

        codes = [(f"{BASE_URL}/c/{row.checkin_token}", row.start_at + timedelta(minutes=5))
                 for row in chosen]
        clock.freeze(codes[0][1])
        with capturing("checkin_token") as lookup_sql, counting() as statements:
            check_in(codes[0][0], by=librarian, branch=branch)  # a trial, rolled back
        db.session.rollback()
        scan_all(f"(a) check_in, {SCANS:,} bookings (+ commit)", codes, "checked_in")
        results[-1].note += f"; {len(statements)} SQL per scan"
        plans.append("-- the token lookup")
        plans += explain(*lookup_sql[0])
        scan_all("(b) check_in again (already checked in)", codes, "already_checked_in")
        forged = [(f"{BASE_URL}/c/{new_checkin_token()}", NOW) for _ in range(SCANS)]
        scan_all("(c) check_in, forged codes", forged, "invalid_code")
        clock.freeze(None)
        db.session.remove()

    # (d) through HTTP, codes not scanned before.
    fresh = [(row.checkin_token, row.start_at) for row in http_pool]
    client = scene.app.test_client()
    headers = {"Authorization": f"Bearer {scene.api_token}"}
    samples = []
    for token, start in fresh:
        clock.freeze(start)
        started = time.perf_counter()
        response = client.post("/api/v1/checkins", json={"code": token}, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    clock.freeze(None)
    results.append(summary(backend, "(d) POST /api/v1/checkins (HTTP)", samples,
                           f"{len(response.get_data())} bytes"))
    return results, plans


def run_backend(backend: str, database: Callable[[], Any]) -> tuple[list[Result], list[str],
                                                                    list[str]]:
    with database() as url:
        scene = build_scene(url, BOOKINGS, seed=20250312)
        info = [f"{backend}: loaded {scene.bookings:,} bookings in "
                f"{scene.seconds_to_load:.1f} s"]
        if backend == "postgresql":
            with scene.app.app_context():
                info.insert(0, "PostgreSQL server "
                            + db.session.scalar(text("SHOW server_version")))
                db.session.remove()
        results, plans = measure(backend, scene)
        with scene.app.app_context():
            db.engine.dispose()
    return results, plans, info


def main() -> None:
    began = time.perf_counter()
    print("# Check-in benchmark\n")
    print(f"- CPUs (nproc): {os.cpu_count()}; {platform.platform()}")
    print(f"- Python {platform.python_version()}; SQLAlchemy {sqlalchemy.__version__}; "
          f"psycopg {psycopg.__version__}; SQLite {sqlite3.sqlite_version}")
    print(f"- {BOOKINGS:,} bookings on {MACHINES} machines; {SCANS:,} scans one after the "
          "other, each committed; frozen clock")
    backends: list[tuple[str, Callable[[], Any]]] = [("sqlite", sqlite_database)]
    pg_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg_url:
        backends.append(("postgresql", lambda: postgres_database(pg_url, "makerspace_bench")))
    else:
        print("- PostgreSQL skipped: set TEST_DATABASE_URL or BENCH_DATABASE_URL")
    all_results: list[Result] = []
    all_plans: dict[str, list[str]] = {}
    for backend, database in backends:
        results, plans, info = run_backend(backend, database)
        for line in info:
            print(f"- {line}")
        all_results += results
        all_plans[backend] = plans
    print()
    print("| Backend | Call | Calls | Median ms | p95 ms | Per second | Notes |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in sorted(all_results, key=lambda r: (r.backend != "sqlite", r.what)):
        print(f"| {r.backend} | {r.what} | {r.calls:,} | {r.median_ms:.2f} | {r.p95_ms:.2f} | "
              f"{r.per_second:,.0f} | {r.note} |")
    for backend, plans in all_plans.items():
        print(f"\n## Query plans ({backend}, {BOOKINGS:,} bookings)\n")
        print("```")
        print("\n".join(plans))
        print("```")
    print(f"\nTotal run time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
