"""Benchmark: a machine's availability for one week, with 100,000 bookings in the database.

For SQLite (a temporary file) and, when TEST_DATABASE_URL or BENCH_DATABASE_URL is set,
PostgreSQL (a database of its own on that server, dropped at the end), this script migrates an
empty database, adds one branch open 08:00–20:00 every day, a few machines and 100,000
bookings (about three years of history, non-overlapping per machine, plus confirmed bookings in
the coming two weeks), and then times:

  (a) booking.availability.free_and_busy() for this week,
  (b) booking.availability.week_slots() for this week,
  (c) GET /api/v1/equipment/<id>/availability?from=...&days=7 through the Flask test client,
  (d) free_and_busy() for a week two years back (a range far from "now"),

and (a) again on a database with only 1,000 bookings, to show that the cost does not grow with
history. It prints the query plan of the busy-intervals query (the exact SQL the app sends) and
a Markdown table of median and p95 milliseconds per call.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/availability.py

Environment: BENCH_REPEAT (default 200 timed calls per measurement), BENCH_BOOKINGS (100000).
"""

from __future__ import annotations

import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import psycopg  # noqa: E402
import sqlalchemy  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, func, insert, select, text  # noqa: E402

from makerspace import clock, create_app  # noqa: E402
from makerspace.accounts.models import Role, User  # noqa: E402
from makerspace.booking.availability import busy_intervals, free_and_busy, week_slots  # noqa: E402
from makerspace.booking.models import MAX_OCCUPIED_SPAN, Booking, BookingStatus, Equipment  # noqa: E402
from makerspace.booking.services import create_equipment  # noqa: E402
from makerspace.branches.hours import local_moment, set_weekly_hours  # noqa: E402
from makerspace.branches.models import Branch  # noqa: E402
from makerspace.database import read_only_transaction  # noqa: E402
from makerspace.extensions import db  # noqa: E402
from tests.databases import postgres_database, sqlite_database, test_config  # noqa: E402

ZONE = ZoneInfo("Europe/Oslo")
# A Wednesday morning; the measured week is Monday–Sunday around it (past and future days).
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=ZONE)
WEEK_START = date(2025, 3, 10)
OLD_WEEK_START = WEEK_START - timedelta(weeks=104)
OPENS, CLOSES = 8 * 60, 20 * 60  # 08:00–20:00 local, every day
SEGMENT = 60  # each opening day is cut into 12 one-hour segments; a booking fills (part of) one
FUTURE_DAYS = 14
FUTURE_SHARE = 0.4  # share of the coming two weeks' segments that hold a confirmed booking
USERS = 200
BATCH = 5_000
REPEAT = int(os.environ.get("BENCH_REPEAT", "200"))
WARMUP = 20
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "100000"))
SMALL = 1_000

MACHINES = [  # name, kind, buffer minutes
    ("Prusa MK4 #1", "3d-printer", 0),
    ("Prusa MK4 #2", "3d-printer", 0),
    ("Bambu X1", "3d-printer", 0),
    ("Glowforge Pro", "laser-cutter", 15),
    ("Cricut Maker", "vinyl-cutter", 0),
    ("Bernina 335", "sewing-machine", 0),
    ("Podcast studio", "podcast-studio", 0),
    ("Meta Quest 3", "vr-kit", 0),
]
MEASURED = 0  # index in MACHINES of the machine whose availability is timed


# -- data ---------------------------------------------------------------------------------

def segments(day: date) -> list[tuple[datetime, datetime]]:
    return [(local_moment(day, m, ZONE), local_moment(day, m + SEGMENT, ZONE))
            for m in range(OPENS, CLOSES, SEGMENT)]


def booking_rows(equipment: list[Equipment], user_ids: list[int], total: int,
                 rng: random.Random) -> list[dict[str, Any]]:
    """`total` bookings over the machines: confirmed ones in the coming two weeks, the rest in
    the past going back as far as needed (about three years for 100,000). Each booking lies
    inside one one-hour segment of an opening day, so bookings of a machine never overlap."""
    now = NOW.astimezone(UTC)
    today = NOW.date()
    rows: list[dict[str, Any]] = []
    per_machine = [total // len(equipment) + (i < total % len(equipment))
                   for i in range(len(equipment))]
    for machine, count in zip(equipment, per_machine, strict=True):
        future = [s for d in range(FUTURE_DAYS + 1) for s in segments(today + timedelta(days=d))
                  if s[0] >= now]
        future = sorted(rng.sample(future, min(count, int(len(future) * FUTURE_SHARE))))
        past_needed = count - len(future)
        # Walk back day by day, keeping ~95 % of segments (some hours nobody booked).
        past: list[tuple[datetime, datetime]] = []
        day = today
        while len(past) < past_needed:
            for segment in reversed(segments(day)):
                if segment[1] <= now and rng.random() < 0.95:
                    past.append(segment)
                    if len(past) == past_needed:
                        break
            day -= timedelta(days=1)
        chosen = [(s, False) for s in reversed(past)] + [(s, True) for s in future]
        for (start, segment_end), upcoming in chosen:
            room = int((segment_end - start).total_seconds() // 60) - machine.buffer_minutes
            minutes = rng.choice([m for m in (30, 60) if m <= room])
            end = start + timedelta(minutes=minutes)
            if upcoming:
                status = BookingStatus.CONFIRMED
            else:
                status = rng.choices([BookingStatus.COMPLETED, BookingStatus.CANCELLED,
                                      BookingStatus.NO_SHOW], weights=[80, 12, 8])[0]
            created = start - timedelta(days=rng.randint(0, machine.max_advance_days),
                                        minutes=rng.randint(0, 600))
            cancelled = status == BookingStatus.CANCELLED
            user_id = rng.choice(user_ids)
            rows.append({
                "equipment_id": machine.id, "user_id": user_id, "start_at": start,
                "end_at": end, "occupied_until": end + timedelta(minutes=machine.buffer_minutes),
                "status": status, "created_by_id": user_id, "created_at": created,
                "updated_at": created, "cancelled_at": created if cancelled else None,
                "cancelled_by_id": user_id if cancelled else None,
                "cancel_reason": "Kan ikke komme" if cancelled else "",
            })
    # Chronological order, as bookings arrive in real life (and as the SQLite overlap trigger,
    # which looks at bookings ending after the new one starts, expects to be cheap).
    rows.sort(key=lambda r: (r["start_at"], r["equipment_id"]))
    return rows


@dataclass
class Scene:
    app: Flask
    equipment_id: int
    bookings: int
    seconds_to_load: float


def build_scene(url: str, total: int, seed: int) -> Scene:
    rng = random.Random(seed)
    app = create_app(test_config(url))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        branch = Branch(slug="bench", name="Benkebiblioteket", municipality="Trondheim",
                        timezone="Europe/Oslo", closed_on_public_holidays=False)
        db.session.add(branch)
        db.session.flush()
        set_weekly_hours(branch, {d: [("08:00", "20:00")] for d in
                                  ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
        machines = [create_equipment(branch, name=name, kind=kind, buffer_minutes=buffer)
                    for name, kind, buffer in MACHINES]
        db.session.execute(insert(User), [
            {"email": f"bench{n}@example.no", "name": f"Person {n}", "password_hash": "!",
             "birth_year": 1950 + n % 60, "role": Role.CITIZEN, "created_at": NOW,
             "updated_at": NOW} for n in range(USERS)])
        user_ids = list(db.session.scalars(select(User.id)))
        db.session.commit()
        rows = booking_rows(machines, user_ids, total, rng)
        for first in range(0, len(rows), BATCH):
            db.session.execute(insert(Booking), rows[first:first + BATCH])
            db.session.commit()
        equipment_id = machines[MEASURED].id
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(Booking))
        assert count == total, (count, total)
        seconds = time.perf_counter() - started
        db.session.remove()
    return Scene(app, equipment_id, total, seconds)


# -- measuring ----------------------------------------------------------------------------

@dataclass
class Result:
    backend: str
    bookings: int
    what: str
    median_ms: float
    p95_ms: float
    note: str


def timed(call: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, float]:
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=100)[94]


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Collect the SQL statements sent while the block runs."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def week_window(first: date) -> tuple[datetime, datetime]:
    return local_moment(first, 0, ZONE), local_moment(first + timedelta(days=7), 0, ZONE)


def busy_query_plan(equipment: Equipment, first: date) -> list[str]:
    """EXPLAIN the busy-intervals query exactly as the app sends it (captured SQL + params)."""
    engine = db.engine
    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if "FROM bookings" in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        busy_intervals(equipment, *week_window(first))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    connection = db.session.connection()
    if engine.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement,
            parameters)
        return [" ".join(statement.split())] + [r[0] for r in rows]
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    return [" ".join(statement.split())] + [r[-1] for r in rows]


def rows_in_window(equipment_id: int, first: date) -> tuple[int, int]:
    """(index entries the query's range on occupied_until selects, rows returned) for a week."""
    start, end = week_window(first)
    base = select(func.count()).select_from(Booking).where(
        Booking.equipment_id == equipment_id, Booking.occupied_until > start,
        Booking.occupied_until < end + MAX_OCCUPIED_SPAN)
    return (db.session.scalar(base),
            db.session.scalar(base.where(Booking.start_at < end)))


def measure(backend: str, scene: Scene, full: bool) -> tuple[list[Result], list[str]]:
    results: list[Result] = []
    plans: list[str] = []
    clock.freeze(NOW)
    app = scene.app
    with app.app_context():
        read_only_transaction(db.session)
        equipment = db.session.get(Equipment, scene.equipment_id)
        assert equipment is not None
        now = clock.now()
        free_and_busy(equipment, WEEK_START, 7, now)  # loads equipment.branch once
        with counting_statements() as statements:
            free, busy = free_and_busy(equipment, WEEK_START, 7, now)
        scanned, returned = rows_in_window(equipment.id, WEEK_START)
        note = (f"{len(statements)} SQL; {len(busy)} busy / {len(free)} free periods; "
                f"index range {scanned} rows, {returned} in week")
        median, p95 = timed(lambda: free_and_busy(equipment, WEEK_START, 7, now))
        results.append(Result(backend, scene.bookings, "(a) free_and_busy, this week",
                              median, p95, note))
        if full:
            with counting_statements() as statements:
                days = week_slots(equipment, WEEK_START, now)
            states: dict[str, int] = {}
            for day in days:
                for slot in day.slots:
                    states[slot.state] = states.get(slot.state, 0) + 1
            median, p95 = timed(lambda: week_slots(equipment, WEEK_START, now))
            results.append(Result(backend, scene.bookings, "(b) week_slots, this week", median,
                                  p95, f"{len(statements)} SQL; " + ", ".join(
                                      f"{n} {s}" for s, n in sorted(states.items()))))
            free, busy = free_and_busy(equipment, OLD_WEEK_START, 7, now)
            scanned, returned = rows_in_window(equipment.id, OLD_WEEK_START)
            median, p95 = timed(lambda: free_and_busy(equipment, OLD_WEEK_START, 7, now))
            results.append(Result(
                backend, scene.bookings,
                f"(d) free_and_busy, week of {OLD_WEEK_START} (2 years back)", median, p95,
                f"{len(busy)} busy periods; index range {scanned} rows, {returned} in week"))
            plans.append(f"-- this week ({WEEK_START})")
            plans += busy_query_plan(equipment, WEEK_START)
            plans.append(f"-- two years back ({OLD_WEEK_START})")
            plans += busy_query_plan(equipment, OLD_WEEK_START)[1:]
        db.session.rollback()
        db.session.remove()
    if full:
        client = app.test_client()
        path = f"/api/v1/equipment/{scene.equipment_id}/availability?from={WEEK_START}&days=7"
        with app.app_context(), counting_statements() as statements:
            response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()

        def get() -> None:
            assert client.get(path).status_code == 200

        median, p95 = timed(get)
        results.append(Result(backend, scene.bookings, "(c) GET …/availability?days=7 (HTTP)",
                              median, p95, f"{len(statements)} SQL; {len(body['busy'])} busy"
                              f" / {len(body['free'])} free, {len(response.get_data())} bytes"))
    clock.freeze(None)
    return results, plans


def run_backend(backend: str, database: Callable[[], Any]) -> tuple[list[Result], list[str],
                                                                    list[str]]:
    info: list[str] = []
    results: list[Result] = []
    plans: list[str] = []
    for total, full in ((SMALL, False), (BOOKINGS, True)):
        with database() as url:
            scene = build_scene(url, total, seed=20250312 + total)
            info.append(f"{backend}: loaded {total:,} bookings in {scene.seconds_to_load:.1f} s")
            if backend == "postgresql" and total == SMALL:
                with scene.app.app_context():
                    version = db.session.scalar(text("SHOW server_version"))
                    db.session.remove()
                info.insert(0, f"PostgreSQL server {version}")
            measured, plan = measure(backend, scene, full)
            results += measured
            plans += plan
            with scene.app.app_context():
                db.engine.dispose()
    return results, plans, info


def main() -> None:
    began = time.perf_counter()
    print("# Availability benchmark\n")
    print(f"- CPUs (nproc): {os.cpu_count()}; {platform.platform()}")
    print(f"- Python {platform.python_version()}; SQLAlchemy {sqlalchemy.__version__}; "
          f"psycopg {psycopg.__version__}; SQLite {sqlite3.sqlite_version}")
    print(f"- now = {NOW.isoformat()} (frozen); week measured = {WEEK_START} + 7 days; "
          f"{WARMUP} warm-up + {REPEAT} timed calls each")
    print(f"- {len(MACHINES)} machines in one branch open 08:00–20:00 daily; the measured "
          f"machine holds 1/{len(MACHINES)} of the bookings")
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
    print("| Backend | Bookings | Call | Median ms | p95 ms | Notes |")
    print("|---|---:|---|---:|---:|---|")
    order = sorted(all_results, key=lambda r: (r.backend != "sqlite", r.what, r.bookings))
    for r in order:
        print(f"| {r.backend} | {r.bookings:,} | {r.what} | {r.median_ms:.2f} | "
              f"{r.p95_ms:.2f} | {r.note} |")
    for backend, plans in all_plans.items():
        print(f"\n## Busy-intervals query plan ({backend}, {BOOKINGS:,} bookings)\n")
        print("```")
        print("\n".join(plans))
        print("```")
    print(f"\nTotal run time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
