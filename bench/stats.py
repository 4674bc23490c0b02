"""Benchmark: the county-wide statistics page for a year with 1,000,000 bookings and 20,000
course sign-ups, and the API's busiest grouping.

For SQLite (a temporary file) and, when TEST_DATABASE_URL or BENCH_DATABASE_URL is set,
PostgreSQL (a database of its own, dropped at the end), this migrates an empty database, adds
20 branches open 08:00-20:00 with 15 machines each, BENCH_BOOKINGS bookings (default
1,000,000) in 2025 (hourly slots, every status, anonymised like year-old bookings are, keyed
to 30,000 citizens) and 20,000 sign-ups on 1,000 courses, then times through the Flask test
client, logged in as a county admin:

  (a) GET /staff/statistics/?period=year&day=2025-06-01 — the whole page,
  (b) GET /staff/statistics/branches.csv for the same year,
  (c) GET /api/v1/stats?from=2025-01-01&to=2025-12-31&group=branch,kind,month,
  (d) the same page for one month,
  (e) a custom period of almost the same year, which the rollup does not cover.

The rollup of closed periods (makerspace/stats/rollup.py) is built first, as `flask tick`
would, and its time is reported.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/stats.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from makerspace import clock, create_app  # noqa: E402
from makerspace.accounts.models import Role  # noqa: E402
from makerspace.accounts.services import create_user, issue_api_token  # noqa: E402
from makerspace.booking.models import Booking, Equipment, EquipmentKind  # noqa: E402
from makerspace.branches.hours import set_weekly_hours  # noqa: E402
from makerspace.branches.models import Branch  # noqa: E402
from makerspace.events.models import Event, Signup  # noqa: E402
from makerspace.extensions import db  # noqa: E402
from makerspace.stats.rollup import refresh_rollup  # noqa: E402
from tests.databases import postgres_database, sqlite_database, test_config  # noqa: E402
from tests.helpers import sign_in  # noqa: E402

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "1000000"))
SIGNUPS = 20_000
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
BRANCHES, MACHINES_EACH, CITIZENS = 20, 15, 30_000
OSLO = ZoneInfo("Europe/Oslo")
KINDS = [k.value for k in EquipmentKind]
BANDS = ["under-16", "16-25", "26-66", "67+", None]


def databases() -> Iterator[tuple[str, str]]:
    if os.environ.get("BENCH_DATABASES", "sqlite,postgresql").find("sqlite") >= 0:
        with sqlite_database() as url:
            yield "sqlite", url
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if base and "postgresql" in os.environ.get("BENCH_DATABASES", "sqlite,postgresql"):
        with postgres_database(base, "makerspace_bench") as url:
            yield "postgresql", url


def timed(call: Callable[[], object], repeat: int = REPEAT) -> tuple[float, float]:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[-1]


def _statuses(rng: random.Random) -> tuple[str, str | None]:
    roll = rng.random()
    if roll < 0.70:
        return "completed", None
    if roll < 0.80:
        return "no_show", None
    if roll < 0.88:
        return "cancelled", "citizen"
    if roll < 0.92:
        return "cancelled", "staff"
    if roll < 0.93:
        return "cancelled", "out_of_service"
    return "completed", None


def populate() -> int:
    rng = random.Random(17)
    weekly = {d: [("08:00", "20:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
    long_ago = datetime(2024, 1, 1, tzinfo=UTC)
    machines = []
    for b in range(BRANCHES):
        branch = Branch(slug=f"b{b}", name=f"Bibliotek {b}", municipality="Trøndelag",
                        closed_on_public_holidays=True)
        db.session.add(branch)
        db.session.flush()
        set_weekly_hours(branch, weekly)
        for m in range(MACHINES_EACH):
            machine = Equipment(branch_id=branch.id, name=f"Maskin {b}-{m}",
                                kind=KINDS[m % len(KINDS)], created_at=long_ago)
            db.session.add(machine)
            machines.append(machine)
    db.session.flush()
    slots_per_year = len(machines) * 312 * 12
    share = min(BOOKINGS / slots_per_year, 1.0)
    keys = [f"{n:016x}" for n in range(CITIZENS)]
    rows: list[dict] = []
    written = 0
    day = date(2025, 1, 1)
    created = datetime(2024, 12, 1, tzinfo=UTC)
    while day.year == 2025 and written < BOOKINGS:
        if day.weekday() < 6:
            for machine in machines:
                for hour in range(8, 20):
                    if rng.random() >= share or written >= BOOKINGS:
                        continue
                    start = datetime(day.year, day.month, day.day, hour, tzinfo=OSLO).astimezone(
                        UTC)
                    status, cancellation = _statuses(rng)
                    end = start + timedelta(hours=1)
                    rows.append({
                        "equipment_id": machine.id, "user_id": None,
                        "age_band": BANDS[rng.randrange(5)],
                        "citizen_key": keys[rng.randrange(CITIZENS)] if rng.random() > 0.03
                        else None, "first_booking": rng.random() < 0.02,
                        "start_at": start, "end_at": end, "occupied_until": end,
                        "status": status, "cancellation": cancellation,
                        "checkin_token": f"anon-{written}", "cancel_reason": "",
                        "sequence": 0, "created_at": created, "updated_at": created})
                    written += 1
            if len(rows) >= 20_000:
                db.session.execute(insert(Booking.__table__), rows)
                rows = []
        day += timedelta(days=1)
    if rows:
        db.session.execute(insert(Booking.__table__), rows)
    events, signups = [], []
    for n in range(1000):
        start = datetime(2025, 1, 6, 16, tzinfo=UTC) + timedelta(hours=n * 8)
        events.append({"branch_id": 1 + n % BRANCHES, "title": f"Kurs {n}", "description": "",
                       "instructor": "", "start_at": start, "end_at": start + timedelta(hours=2),
                       "capacity": 16, "status": "scheduled", "cancel_reason": "",
                       "sequence": 0, "created_at": created, "updated_at": created})
    db.session.execute(insert(Event.__table__), events)
    event_ids = [row[0] for row in db.session.execute(text("SELECT id FROM events"))]
    for n in range(SIGNUPS):
        waitlisted = n % 20 >= 16
        signups.append({"event_id": event_ids[n // 20], "user_id": None,
                        "status": "waitlisted" if waitlisted else "confirmed",
                        "queue_number": n % 20 if waitlisted else None,
                        "attended_at": None if waitlisted or n % 5 == 0 else created,
                        "checkin_token": f"anon-s{n}", "sequence": 0,
                        "created_at": created, "updated_at": created,
                        "age_band": BANDS[n % 5]})
    db.session.execute(insert(Signup.__table__), signups)
    db.session.commit()
    return written


def main() -> None:
    clock.freeze(NOW)
    print(f"# Statistics benchmark ({BOOKINGS:,} bookings, {SIGNUPS:,} sign-ups, "
          f"{REPEAT} timed runs)\n")
    print("| Backend | Call | Median ms | Slowest ms | Notes |\n|---|---|---:|---:|---|")
    for backend, url in databases():
        app = create_app(test_config(url))
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            written = populate()
            filled = time.perf_counter() - started
            admin, _ = create_user(email="admin@example.no", name="Admin", role=Role.ADMIN,
                                   branch_slugs=[], password="bench-password-1")  # noqa: S106
            _token, raw = issue_api_token(admin, name="bench")
            db.session.commit()
            admin_id = admin.id
            started = time.perf_counter()
            rolled = refresh_rollup(limit=100, commit=True)
            rollup_s = time.perf_counter() - started
            if backend == "postgresql":
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            else:
                db.session.execute(text("ANALYZE"))
                db.session.commit()
        client = app.test_client()
        sign_in(client, SimpleNamespace(id=admin_id))
        year = "/staff/statistics/?period=year&day=2025-06-01"
        page = client.get(year)
        assert page.status_code == 200, page.status_code
        median, slowest = timed(lambda client=client, url=year: client.get(url))
        print(f"| {backend} | (a) year page, county-wide | {median:.0f} | {slowest:.0f} | "
              f"{written:,} bookings written in {filled:.0f} s; rollup of {rolled} closed "
              f"periods built by tick in {rollup_s:.0f} s |")
        csv_url = "/staff/statistics/table.csv?table=branches&period=year&day=2025-06-01"
        median, slowest = timed(lambda client=client, url=csv_url: client.get(url))
        print(f"| {backend} | (b) branches.csv for the year | {median:.0f} | {slowest:.0f} | |")
        api = "/api/v1/stats?from=2025-01-01&to=2025-12-31&group=branch,kind,month"
        answer = client.get(api, headers={"Authorization": f"Bearer {raw}"})
        assert answer.status_code == 200, answer.status_code
        median, slowest = timed(lambda client=client, url=api, raw=raw: client.get(
            url, headers={"Authorization": f"Bearer {raw}"}))
        print(f"| {backend} | (c) API, a year by branch, kind and month | {median:.0f} | "
              f"{slowest:.0f} | {len(answer.get_json()['rows']):,} rows |")
        month = "/staff/statistics/?period=month&day=2025-06-01"
        median, slowest = timed(lambda client=client, url=month: client.get(url))
        print(f"| {backend} | (d) month page, county-wide | {median:.0f} | {slowest:.0f} | |")
        custom = "/staff/statistics/?period=custom&from=2025-01-02&to=2025-12-31"
        median, slowest = timed(lambda client=client, url=custom: client.get(url), repeat=1)
        print(f"| {backend} | (e) custom period of a year (not rolled up: counted live) | "
              f"{median:.0f} | {slowest:.0f} | |")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
