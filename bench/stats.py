"""Benchmark: the county-wide statistics page for a year with 1,000,000 bookings and 20,000
course sign-ups, and the API's busiest grouping.

For SQLite (a temporary file) and, when TEST_DATABASE_URL or BENCH_DATABASE_URL is set,
PostgreSQL (a database of its own, dropped at the end), this migrates an empty database, adds
20 branches open 08:00-20:00 with 15 machines each, BENCH_BOOKINGS bookings (default
1,000,000) in 2025 (hourly slots, every status, anonymised like year-old bookings are, keyed
to 30,000 citizens), a job with material for each completed booking on a machine that uses
material (about 410,000), and 20,000 sign-ups on 1,000 courses, then times through the Flask test
client, logged in as a county admin:

  (a) GET /staff/statistics/?period=year&day=2025-06-01 — the whole page,
  (b) GET /staff/statistics/table.csv?table=branches for the same year,
  (c) GET /api/v1/stats?from=2025-01-01&to=2025-12-31&group=branch,kind,month,
  (d) the same page for one month,
  (e) a custom period of almost the same year (its figures are added up from the daily and
      monthly rollup like any period's; its distinct citizens are the kept year's less the
      people who booked only on the day it leaves out),
  (f) the API for that custom period by branch,
and as a librarian of two libraries (g) their year page and (h) their custom period.

Before that, with the clock on 10 December 2025 (the year, the fourth quarter and December
still open, days rolled up to 8 December, three weeks of bookings ahead), it counts the open
periods as the tick does, then adds BENCH_MADE_SINCE bookings made after that count
(default 500, more than the hour's worth the tick allows: this data's year of bookings is
about 2,700 a day), in free slots of the three weeks ahead, by anyone, and times
  (i) the year page of the open year, county-wide, and (j) the open month's page:
their distinct citizens are the kept numbers plus the people of the bookings made since
who had not booked in the period (with the same library, kind, month or age band) before.

The rollup (makerspace/stats/rollup.py) is built first, as `flask tick` would (days, then
the distinct citizens of closed periods), and its time is reported. Each call is timed
BENCH_REPEAT times after one untimed call; the best and the median are printed, with the
machine's load average, since the machine is shared.

BENCH_PEOPLE=local makes people book as they do (mostly at their own library, in one age
band) instead of anyone anywhere; see _booker.

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

from sqlalchemy import case, insert, literal, select, text  # noqa: E402

from makerspace import clock  # noqa: E402
from makerspace.accounts.models import Role  # noqa: E402
from makerspace.accounts.services import create_user, issue_api_token  # noqa: E402
from makerspace.booking.models import (  # noqa: E402
    MATERIAL_UNITS,
    Booking,
    BookingJob,
    BookingStatus,
    Equipment,
    EquipmentKind,
)
from makerspace.branches.hours import set_weekly_hours  # noqa: E402
from makerspace.branches.models import Branch  # noqa: E402
from makerspace.events.models import Event, Signup  # noqa: E402
from makerspace.extensions import db  # noqa: E402
from makerspace.stats.rollup import refresh_days, refresh_distinct, refresh_open  # noqa: E402
from tests.databases import migrated_app, postgres_base_url, throwaway_database  # noqa: E402
from tests.helpers import sign_in  # noqa: E402

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
OPEN_NOW = datetime(2025, 12, 10, 8, 0, tzinfo=UTC)
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "1000000"))
SIGNUPS = 20_000
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
BRANCHES, MACHINES_EACH, CITIZENS = 20, 15, 30_000
OSLO = ZoneInfo("Europe/Oslo")
KINDS = [k.value for k in EquipmentKind]
BANDS = ["under-16", "16-25", "26-66", "67+", None]
PEOPLE = os.environ.get("BENCH_PEOPLE", "spread")
MADE_SINCE = int(os.environ.get("BENCH_MADE_SINCE", "500"))


def databases() -> Iterator[tuple[str, str]]:
    wanted = os.environ.get("BENCH_DATABASES", "sqlite,postgresql")
    for backend in ("sqlite", "postgresql"):
        if backend in wanted and (backend == "sqlite" or postgres_base_url()):
            with throwaway_database(backend, "makerspace_bench") as url:
                yield backend, url


def timed(call: Callable[[], object], repeat: int = REPEAT) -> tuple[float, float]:
    """(best, median) ms of `repeat` calls after one untimed call; the machine is shared, so
    the best is the truest of what the code costs."""
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return min(samples), statistics.median(samples)


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


def _booker(rng: random.Random, keys: list[str], branch_id: int) -> dict:
    """Who books (3 % are guests): with BENCH_PEOPLE=spread (the default, the worst case for
    counting distinct people) anyone, in any age band; with BENCH_PEOPLE=local, as people
    do: 80 % of a library's bookings are by the people who live there, and each person is in
    one age band."""
    if rng.random() < 0.03:
        return {"citizen_key": None, "age_band": BANDS[rng.randrange(5)]}
    if PEOPLE == "spread":
        return {"citizen_key": keys[rng.randrange(CITIZENS)], "age_band": BANDS[rng.randrange(5)]}
    person = rng.randrange(CITIZENS)
    if rng.random() < 0.8:  # someone living at this library (person % BRANCHES is the home)
        person = person - person % BRANCHES + (branch_id - 1) % BRANCHES
    return {"citizen_key": keys[person], "age_band": BANDS[person // BRANCHES % 5]}


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
                        **_booker(rng, keys, machine.branch_id),
                        "first_booking": rng.random() < 0.02,
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
    add_jobs()
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


def add_jobs() -> None:
    """A job for every completed booking on a machine that uses material (3D printers, laser,
    vinyl cutters and sewing machines: half the machines), ended with an outcome (one in ten
    failed) and the material recorded, as the desk and the printers record them."""
    units = {kind.value: unit.value for kind, unit in MATERIAL_UNITS.items()}
    unit = case(units, value=Equipment.kind)
    db.session.execute(insert(BookingJob.__table__).from_select(
        ["booking_id", "started_at", "started_via", "ended_at", "ended_via", "outcome",
         "material_amount", "material_unit", "material_recorded_at"],
        select(Booking.id, Booking.start_at, literal("machine"), Booking.end_at,
               literal("machine"),
               case((Booking.id % 10 == 0, "failed"), else_="finished"),
               (Booking.id % 40 + 5) * 1.5, unit, Booking.end_at)
        .join(Equipment, Equipment.id == Booking.equipment_id)
        .where(Booking.status == "completed", Equipment.kind.in_(list(units)))))


def add_made_since(count: int) -> int:
    """`count` bookings made now (after the open periods were counted), in free slots of
    the days from OPEN_NOW to the end of the year."""
    rng = random.Random(29)
    taken = set(db.session.execute(select(Booking.equipment_id, Booking.start_at).where(
        Booking.start_at >= OPEN_NOW, Booking.status.in_(BookingStatus.occupying()))).all())
    machines = list(db.session.execute(select(Equipment.id, Equipment.branch_id)).all())
    keys = [f"{n:016x}" for n in range(CITIZENS)]
    rows: list[dict] = []
    made = datetime.now(UTC)
    while len(rows) < count:
        machine_id, branch_id = machines[rng.randrange(len(machines))]
        day = OPEN_NOW.date() + timedelta(days=rng.randrange(1, 21))
        if day.weekday() == 6 or day.year != 2025:
            continue
        start = datetime(day.year, day.month, day.day, rng.randrange(8, 20),
                         tzinfo=OSLO).astimezone(UTC)
        if (machine_id, start) in taken:
            continue
        taken.add((machine_id, start))
        end = start + timedelta(hours=1)
        rows.append({"equipment_id": machine_id, "user_id": None,
                     **_booker(rng, keys, branch_id), "first_booking": False,
                     "start_at": start, "end_at": end, "occupied_until": end,
                     "status": "confirmed", "cancellation": None,
                     "checkin_token": f"since-{len(rows)}", "cancel_reason": "", "sequence": 0,
                     "created_at": made, "updated_at": made})
    db.session.execute(insert(Booking.__table__), rows)
    db.session.commit()
    return len(rows)


def _load() -> str:
    try:
        one, five, _fifteen = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.1f}/{five:.1f}"


def _analyse() -> None:
    """What autovacuum does after a bulk load on PostgreSQL (VACUUM also marks the pages
    all-visible, so index-only scans need no heap fetches); ANALYZE on SQLite."""
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) bookings"))
            connection.execute(text("ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def _time_calls(backend: str, client: object, calls: list) -> None:
    for name, url, headers, repeat in calls:
        answer = client.get(url, headers=headers)  # type: ignore[attr-defined]
        assert answer.status_code == 200, (url, answer.status_code)
        best, median = timed(lambda url=url, headers=headers: client.get(  # type: ignore
            url, headers=headers), repeat=repeat)
        note = (f"{len(answer.get_json()['rows']):,} rows; " if "/api/" in url else "")
        print(f"| {backend} | {name} | {best:.0f} | {median:.0f} | {note}load "
              f"{_load()} |", flush=True)


def main() -> None:
    clock.freeze(NOW)
    print(f"# Statistics benchmark ({BOOKINGS:,} bookings by {PEOPLE} people, {SIGNUPS:,} "
          "sign-ups, "
          f"{REPEAT} timed runs, best and median; load average 1/5 min of the "
          f"{os.cpu_count()} CPUs in the notes)\n")
    print("| Backend | Call | Best ms | Median ms | Notes |\n|---|---|---:|---:|---|")
    for backend, url in databases():
        app = migrated_app(url)
        with app.app_context():
            started = time.perf_counter()
            written = populate()
            filled = time.perf_counter() - started
            admin, _ = create_user(email="admin@example.no", name="Admin", role=Role.ADMIN,
                                   branch_slugs=[], password="bench-password-1")  # noqa: S106
            librarian, _ = create_user(email="lib@example.no", name="Librarian",
                                       role=Role.LIBRARIAN, branch_slugs=["b0", "b1"],
                                       password="bench-password-1")  # noqa: S106
            _token, raw = issue_api_token(admin, name="bench")
            db.session.commit()
            admin_id, librarian_id = admin.id, librarian.id
            clock.freeze(OPEN_NOW)
            started = time.perf_counter()
            refresh_days(limit=10**6, commit=True)
            refresh_distinct(limit=10**4, commit=True)
            rolled_s = time.perf_counter() - started
            started = time.perf_counter()
            opened = refresh_open(limit=10, commit=True)
            open_s = time.perf_counter() - started
            since = add_made_since(MADE_SINCE)
            _analyse()
        client = app.test_client()
        sign_in(client, SimpleNamespace(id=admin_id))
        print(f"| {backend} | setting up, 10 December | | | {written:,} bookings written in "
              f"{filled:.0f} s; rolled up to 8 December in {rolled_s:.0f} s; {opened} open "
              f"periods counted in {open_s:.0f} s; {since} bookings made since |")
        _time_calls(backend, client, [
            ("(i) year page of the open year on 10 December, county-wide",
             "/staff/statistics/?period=year&day=2025-12-10", {}, REPEAT),
            ("(j) the open month's page on 10 December, county-wide",
             "/staff/statistics/?period=month&day=2025-12-10", {}, REPEAT)])
        clock.freeze(NOW)
        with app.app_context():
            started = time.perf_counter()
            days = refresh_days(limit=10**6, commit=True)
            days_s = time.perf_counter() - started
            started = time.perf_counter()
            periods = refresh_distinct(limit=10**4, commit=True)
            periods_s = time.perf_counter() - started
            _analyse()
        print(f"| {backend} | setting up, 1 March 2026 | | | the other {days} days rolled up "
              f"in {days_s:.0f} s; distinct citizens of {periods} closed periods counted in "
              f"{periods_s:.0f} s |")
        sign_in(client, SimpleNamespace(id=admin_id))  # the clock moved on: a new session
        bearer = {"Authorization": f"Bearer {raw}"}
        api = "/api/v1/stats?from=2025-01-01&to=2025-12-31&group=branch,kind,month"
        custom_api = "/api/v1/stats?from=2025-01-02&to=2025-12-31&group=branch"
        calls = [
            ("(a) year page, county-wide", "/staff/statistics/?period=year&day=2025-06-01",
             {}, REPEAT),
            ("(b) branches.csv for the year",
             "/staff/statistics/table.csv?table=branches&period=year&day=2025-06-01", {},
             REPEAT),
            ("(c) API, a year by branch, kind and month", api, bearer, REPEAT),
            ("(d) month page, county-wide", "/staff/statistics/?period=month&day=2025-06-01",
             {}, REPEAT),
            ("(e) custom period 2 Jan-31 Dec, county-wide",
             "/staff/statistics/?period=custom&from=2025-01-02&to=2025-12-31", {}, 2),
            ("(f) API, the same custom period by branch", custom_api, bearer, 2),
        ]
        _time_calls(backend, client, calls)
        sign_in(client, SimpleNamespace(id=librarian_id))
        for name, url in [
                ("(g) year page, a librarian's two libraries",
                 "/staff/statistics/?period=year&day=2025-06-01"),
                ("(h) custom period, a librarian's two libraries",
                 "/staff/statistics/?period=custom&from=2025-01-02&to=2025-12-31")]:
            assert client.get(url).status_code == 200
            best, median = timed(lambda client=client, url=url: client.get(url), repeat=3)
            print(f"| {backend} | {name} | {best:.0f} | {median:.0f} | load {_load()} |",
                  flush=True)
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
