"""Benchmark: the county-wide events feed with 5,000 events — a full build and the 304 path.

For SQLite (a temporary file) and, when TEST_DATABASE_URL or BENCH_DATABASE_URL is set,
PostgreSQL (a database of its own, dropped at the end), this migrates an empty database, adds
5,000 events spread over the feed's window (30 days back, 180 ahead) at nine branches, and
times through the Flask test client:

  (a) GET /calendar/events.ics — building the whole feed,
  (b) the same with If-None-Match: the ETag from a fingerprint query, answered 304,
  (c) build_calendar() alone on the same items (pure serialisation, no database).

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/feeds.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from makerspace import clock, create_app  # noqa: E402
from makerspace.branches.models import Branch  # noqa: E402
from makerspace.calendar import ical  # noqa: E402
from makerspace.calendar import services as calendar_services  # noqa: E402
from makerspace.calendar.ical import build_calendar  # noqa: E402
from makerspace.calendar.services import public_events_feed  # noqa: E402
from makerspace.events.models import Event  # noqa: E402
from makerspace.extensions import db  # noqa: E402
from tests.databases import postgres_database, sqlite_database, test_config  # noqa: E402

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))


def databases() -> Iterator[tuple[str, str]]:
    with sqlite_database() as url:
        yield "sqlite", url
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if base:
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
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def populate() -> None:
    branches = [Branch(slug=f"b{i}", name=f"Bibliotek {i}", municipality="Trøndelag")
                for i in range(9)]
    db.session.add_all(branches)
    db.session.flush()
    first = NOW - timedelta(days=30)
    span = timedelta(days=210).total_seconds()
    rows = []
    for index in range(EVENTS):
        start = first + timedelta(seconds=int(span * index / EVENTS))
        rows.append({
            "branch_id": branches[index % 9].id, "title": f"Kurs nr. {index}: 3D-print, del 1",
            "description": "Vi lærer å modellere og skrive ut. " * 4, "instructor": "Kari",
            "start_at": start, "end_at": start + timedelta(hours=2), "capacity": 8,
            "status": "scheduled", "cancel_reason": "", "sequence": 0,
            "created_at": NOW - timedelta(days=40), "updated_at": NOW - timedelta(days=40)})
    db.session.execute(insert(Event), rows)
    db.session.commit()


def main() -> None:
    clock.freeze(NOW)
    print(f"# Calendar feed benchmark ({EVENTS:,} events, {REPEAT} timed runs)\n")
    print("| Backend | Call | Median ms | p95 ms | Notes |\n|---|---|---:|---:|---|")
    for backend, url in databases():
        app = create_app(test_config(url))
        with app.app_context():
            upgrade()
            populate()
        with app.test_request_context():  # the items link to event pages
            feed = public_events_feed(NOW)
            items = feed.items()
            median, p95 = timed(lambda feed=feed, items=items: build_calendar(feed.meta, items))
            build_only = (median, p95)
        client = app.test_client()
        response = client.get("/calendar/events.ics")
        size, etag = len(response.data), response.headers["ETag"]
        def full_build(client=client, app=app):  # type: ignore[no-untyped-def]
            # measure the build, not the caches (whole feeds, and each event's bytes)
            app.extensions.pop("built_feeds", None)
            ical._vevent_bytes.cache_clear()
            calendar_services._written_events.clear()
            return client.get("/calendar/events.ics")

        median, p95 = timed(full_build)
        print(f"| {backend} | (a) GET /calendar/events.ics, full build | {median:.1f} | "
              f"{p95:.1f} | {size:,} bytes, {len(items):,} events |")
        client.get("/calendar/events.ics")
        changes = iter(range(10**6))

        def after_one_change(client=client, app=app, changes=changes):  # type: ignore[no-untyped-def]
            with app.app_context():
                event = db.session.scalars(select(Event).order_by(Event.id).limit(1)).one()
                event.title = f"Endret {next(changes)}"
                db.session.commit()
            answer = client.get("/calendar/events.ics")
            assert answer.status_code == 200
            return answer

        median, p95 = timed(after_one_change)
        print(f"| {backend} | (a1) GET after one event changed (each event's bytes kept) | "
              f"{median:.1f} | {p95:.1f} | one event written again, the rest reused |")
        etag = client.get("/calendar/events.ics").headers["ETag"]
        median, p95 = timed(lambda client=client: client.get("/calendar/events.ics"),
                            repeat=REPEAT * 10)
        print(f"| {backend} | (a2) same again, no If-None-Match (built feed reused) | "
              f"{median:.2f} | {p95:.2f} | fingerprint query + cached bytes |")
        median, p95 = timed(lambda client=client, etag=etag: client.get(
            "/calendar/events.ics", headers={"If-None-Match": etag}), repeat=REPEAT * 10)
        assert client.get("/calendar/events.ics",
                          headers={"If-None-Match": etag}).status_code == 304
        print(f"| {backend} | (b) same, If-None-Match → 304 | {median:.2f} | {p95:.2f} | "
              "fingerprint query only |")
        print(f"| {backend} | (c) build_calendar() alone | {build_only[0]:.1f} | "
              f"{build_only[1]:.1f} | serialisation, no database |")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
