"""What is kept between requests for speed (opening hours per branch version, the
availability ETag, the machine page's schedule, the branch page) never hides a change:
hours, a closure, an outage, a booking, a cancellation or a machine's details show in the
very next answer."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select, update

from makerspace.accounts.models import Role, User
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.booking.services import (
    cancel_booking,
    return_to_service,
    take_out_of_service,
    update_equipment,
)
from makerspace.branches.hours import (
    hours_for_days,
    remove_date_exception,
    set_date_exception,
    set_weekly_hours,
)
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification
from makerspace.certifications.services import create_certification
from makerspace.database import read_only_transaction, snapshot_taken
from makerspace.extensions import db
from tests.conftest import ALL_WEEK

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # a Tuesday, 07:00 in Oslo
DAY = "2026-12-01"


@pytest.fixture
def machine(frozen_clock, make_equipment):  # type: ignore[no-untyped-def]
    frozen_clock.set(NOW)
    return make_equipment()


def availability(client, machine, **headers):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/equipment/{machine.id}/availability?from={DAY}&days=1",
                      headers=headers)


def free_of(client, machine) -> list[dict]:  # type: ignore[no-untyped-def]
    response = availability(client, machine)
    assert response.status_code == 200
    return response.get_json()["free"]


def test_new_weekly_hours_show_in_the_next_answer(app, client, machine):
    assert free_of(client, machine) == [{"start": "2026-12-01T07:00:00+00:00",
                                         "end": "2026-12-01T19:00:00+00:00"}]
    with app.app_context():
        branch = db.session.get(Equipment, machine.id).branch
        set_weekly_hours(branch, {**ALL_WEEK, "tue": [("12:00", "14:00")]})
        db.session.commit()
    assert free_of(client, machine) == [{"start": "2026-12-01T11:00:00+00:00",
                                         "end": "2026-12-01T13:00:00+00:00"}]


def test_a_closure_and_its_removal_show_in_the_next_answer(app, client, machine):
    assert free_of(client, machine)
    with app.app_context():
        branch = db.session.get(Equipment, machine.id).branch
        set_date_exception(branch, date(2026, 12, 1), None, reason="Stengt for kurs")
        db.session.commit()
    assert free_of(client, machine) == []
    with app.app_context():
        branch = db.session.get(Equipment, machine.id).branch
        remove_date_exception(branch, date(2026, 12, 1))
        db.session.commit()
    assert len(free_of(client, machine)) == 1


def test_an_outage_shows_in_the_next_answer(app, client, machine, make_user):
    before = availability(client, machine)
    staff = make_user(role=Role.ADMIN)
    with app.app_context():
        take_out_of_service(db.session.get(Equipment, machine.id), reason="Dysen er tett",
                            by=db.session.get(User, staff.id),
                            start=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
                            end=datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
        db.session.commit()
    after = availability(client, machine, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert {"start": "2026-12-01T10:00:00+00:00",
            "end": "2026-12-01T12:00:00+00:00"} in after.get_json()["busy"]


def test_etag_answers_304_until_a_booking_or_a_cancellation_changes_it(
        app, client, machine, make_user, make_booking):
    first = availability(client, machine)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    again = availability(client, machine, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    etag = again.headers["ETag"]  # from the change tokens once the machine is known

    citizen = make_user()
    booking = make_booking(machine, citizen, datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    booked = availability(client, machine, **{"If-None-Match": etag})
    assert booked.status_code == 200 and booked.headers["ETag"] != etag
    assert booked.get_json()["busy"]

    with app.app_context():
        cancel_booking(db.session.get(Booking, booking.id), by=db.session.get(User, citizen.id))
        db.session.commit()
        assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED
    freed = availability(client, machine, **{"If-None-Match": booked.headers["ETag"]})
    assert freed.status_code == 200 and freed.get_json()["busy"] == []
    assert freed.get_json() == first.get_json()  # the same answer as before the booking
    assert freed.headers["ETag"] not in (etag, booked.headers["ETag"])


def test_time_moving_on_changes_the_answer_and_its_etag(client, machine, frozen_clock):
    first = availability(client, machine)
    frozen_clock.set(datetime(2026, 12, 1, 8, 0, 30, tzinfo=UTC))
    later = availability(client, machine, **{"If-None-Match": first.headers["ETag"]})
    assert later.status_code == 200
    # free time starts at the next whole minute, not in the middle of one
    assert later.get_json()["free"][0]["start"] == "2026-12-01T08:01:00+00:00"


def test_hours_are_read_once_while_unchanged(app, machine):
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        branch = db.session.get(Branch, db.session.get(Equipment, machine.id).branch_id)
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            first = hours_for_days(branch, date(2026, 12, 1), 7)
            second = hours_for_days(branch, date(2026, 12, 1), 7)
            reads = [s for s in statements if "weekly_hours" in s]
            assert first == second and len(reads) == 1
            set_weekly_hours(branch, {"mon": [("10:00", "11:00")]})
            third = hours_for_days(branch, date(2026, 12, 1), 7)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        assert third != first and third[6].minutes == ((600, 660),)  # Monday 7 Dec
        db.session.rollback()


def test_a_feed_of_kept_event_bytes_is_what_icalendar_writes_whole():
    from datetime import timedelta

    from makerspace.calendar import ical

    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    items = [ical.CalendarItem(uid=f"event-{n}@folkeverksted", start=start + timedelta(hours=n),
                               end=start + timedelta(hours=n + 1), summary=f"Kurs «{n}» ø",
                               updated=start, description="Ta med\nsko " * n,
                               location="Hovedbiblioteket", url=f"https://x.no/events/{n}")
             for n in range(30)]
    meta = ical.CalendarMeta(uid="events-all@folkeverksted", name="Kurs")
    whole = ical._calendar()
    for name, value in (("uid", meta.uid), ("name", meta.name), ("x-wr-calname", meta.name)):
        whole.add(name, value)
    whole.add("refresh-interval", ical.vDuration(meta.refresh), parameters={"VALUE": "DURATION"})
    whole.add("x-published-ttl", ical.vDuration(meta.refresh))
    for item in items:
        whole.add_component(ical._vevent(item))
    assert ical.build_calendar(meta, reversed(items)) == whole.to_ical()
    changed = [*items[:3], ical.CalendarItem(**{**items[3].__dict__, "summary": "Avlyst"})]
    assert b"SUMMARY:Avlyst" in ical.build_calendar(meta, changed)
    assert b"Kurs \xc2\xab3\xc2\xbb" not in ical.build_calendar(meta, changed)


# -- the 304 from change tokens, without the database -------------------------------------

def _warm_etag(client, machine) -> str:  # type: ignore[no-untyped-def]
    """An ETag the change tokens answer for: the first answer about a machine hashes itself
    (its branch is not known yet), the next one is made from the tokens."""
    first = availability(client, machine)
    second = availability(client, machine, **{"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 304
    return second.headers["ETag"]


@pytest.fixture
def statements(app):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_a_repeated_request_is_answered_304_without_the_database(client, machine, statements):
    etag = _warm_etag(client, machine)
    statements.clear()
    for _ in range(3):
        again = availability(client, machine, **{"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == "no-cache"
    assert statements == []
    # another query is another answer
    week = client.get(f"/api/v1/equipment/{machine.id}/availability?from={DAY}&days=7",
                      headers={"If-None-Match": etag})
    assert week.status_code == 200


def test_an_old_etag_gets_the_kept_answer_without_the_database(client, machine, statements,
                                                               frozen_clock):
    """Once a minute every client's ETag gets old at once: the answer they get then is the
    one kept for the new tag, not a query each."""
    _warm_etag(client, machine)
    frozen_clock.set(datetime(2026, 12, 1, 6, 1, 30, tzinfo=UTC))
    fresh = availability(client, machine, **{"If-None-Match": '"an-old-tag"'})
    assert fresh.status_code == 200
    statements.clear()
    for _ in range(2):
        again = availability(client, machine, **{"If-None-Match": '"an-old-tag"'})
        assert again.status_code == 200 and again.get_data() == fresh.get_data()
        assert again.headers["ETag"] == fresh.headers["ETag"]
    assert statements == []


def _still_304(client, machine, etag: str) -> bool:  # type: ignore[no-untyped-def]
    return availability(client, machine, **{"If-None-Match": etag}).status_code == 304


def test_every_kind_of_change_ends_the_304(app, client, machine, make_user, make_booking):
    staff, citizen = make_user(role=Role.ADMIN), make_user()

    def book():  # type: ignore[no-untyped-def]
        return make_booking(machine, citizen, datetime(2026, 12, 1, 9, 0, tzinfo=UTC))

    def cancel(booking):  # type: ignore[no-untyped-def]
        cancel_booking(db.session.get(Booking, booking.id), by=db.session.get(User, citizen.id))

    def outage():  # type: ignore[no-untyped-def]
        take_out_of_service(db.session.get(Equipment, machine.id), reason="Dysen er tett",
                            by=db.session.get(User, staff.id),
                            start=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
                            end=datetime(2026, 12, 1, 16, 0, tzinfo=UTC))

    def back_in_service():  # type: ignore[no-untyped-def]
        return_to_service(db.session.get(Equipment, machine.id),
                          by=db.session.get(User, staff.id))

    def branch():  # type: ignore[no-untyped-def]
        return db.session.get(Equipment, machine.id).branch

    def rules():  # type: ignore[no-untyped-def]
        update_equipment(db.session.get(Equipment, machine.id), max_advance_days=3)

    def bulk():  # type: ignore[no-untyped-def]
        db.session.execute(update(Booking).where(Booking.equipment_id == machine.id)
                           .values(status=BookingStatus.CANCELLED))

    booking = book()
    changes = [
        ("cancellation", lambda: cancel(booking)),
        ("booking", None),  # made by the factory, which commits itself
        ("outage", outage),
        ("back in service", back_in_service),
        ("weekly hours", lambda: set_weekly_hours(branch(), {**ALL_WEEK,
                                                             "tue": [("09:00", "15:00")]})),
        ("closure", lambda: set_date_exception(branch(), date(2026, 12, 1), None,
                                               reason="Stengt for kurs")),
        ("closure removed", lambda: remove_date_exception(branch(), date(2026, 12, 1))),
        ("machine's rules", rules),
        ("bulk update", bulk),
    ]
    for name, change in changes:
        etag = _warm_etag(client, machine)
        assert _still_304(client, machine, etag), name
        if change is None:
            book()
        else:
            with app.app_context():
                change()
                db.session.commit()
        assert not _still_304(client, machine, etag), name


def test_a_change_rolled_back_keeps_the_304(app, client, machine, make_user):
    etag = _warm_etag(client, machine)
    with app.app_context():
        update_equipment(db.session.get(Equipment, machine.id), max_advance_days=3)
        db.session.rollback()
    assert _still_304(client, machine, etag)


def test_the_next_minute_ends_the_304(client, machine, frozen_clock):
    frozen_clock.set(datetime(2026, 12, 1, 6, 0, 10, tzinfo=UTC))
    etag = _warm_etag(client, machine)
    frozen_clock.set(datetime(2026, 12, 1, 6, 0, 59, tzinfo=UTC))  # same next whole minute
    assert _still_304(client, machine, etag)
    frozen_clock.set(datetime(2026, 12, 1, 6, 1, 30, tzinfo=UTC))
    later = availability(client, machine, **{"If-None-Match": etag})
    assert later.status_code == 200
    assert later.get_json()["free"][0]["start"] == "2026-12-01T07:00:00+00:00"


def test_tokens_only_in_a_store_every_process_shares():
    from makerspace.booking.versions import MemoryTokens, RedisTokens, make_store

    # memory:// is one process: a server also has the job worker, so no tokens there
    for environment in ("production", "development"):
        assert make_store({"ENVIRONMENT": environment,
                           "RATELIMIT_STORAGE_URI": "memory://"}) is None
    assert isinstance(make_store({"TESTING": True, "RATELIMIT_STORAGE_URI": "memory://"}),
                      MemoryTokens)
    shared = {"ENVIRONMENT": "production", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15"}
    assert isinstance(make_store(shared), RedisTokens)
    assert make_store({**shared, "VERSIONS_STORAGE_URI": "none://"}) is None


def test_redis_tokens_are_replaced_and_never_reused():
    import uuid

    from makerspace.booking.versions import RedisTokens

    tokens = RedisTokens("redis://127.0.0.1:6379/15")
    try:
        tokens._redis.ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    tokens.PREFIX = f"test-{uuid.uuid4().hex}:"
    keys = ["county", "b1", "m1"]
    try:
        assert tokens.get(keys) == [None, None, None]
        made = tokens.get_or_make(keys)
        assert all(made) and tokens.get_or_make(keys) == made
        tokens.replace(["m1"])
        after = tokens.get(keys)
        assert after[:2] == made[:2] and after[2] not in (None, made[2])
    finally:
        tokens._redis.delete(*(tokens.PREFIX + k for k in keys))


def _redis_tokens(prefix: str | None = None):  # type: ignore[no-untyped-def]
    import uuid

    from makerspace.booking.versions import RedisTokens

    tokens = RedisTokens("redis://127.0.0.1:6379/15")
    try:
        tokens._redis.ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    tokens.PREFIX = prefix or f"test-{uuid.uuid4().hex}:"
    return tokens


@pytest.fixture
def two_workers():  # type: ignore[no-untyped-def]
    """Two workers' tokens in one Redis: (writer, reader, keys), removed afterwards."""
    writer = _redis_tokens()
    reader = _redis_tokens(writer.PREFIX)
    keys = ["county", "b1", "m1"]
    yield writer, reader, keys
    writer._redis.delete(*(writer.PREFIX + k for k in keys))


def test_a_workers_copy_of_the_tokens_hears_of_every_replacement(two_workers):
    """Two workers: the reader answers from its copy until the writer replaces a token, and
    the very next read after replace() returns has the new one."""
    writer, reader, keys = two_workers
    made = writer.get_or_make(keys)
    assert reader.get(keys) == made
    # Changed behind the store's back (no message): the reader's copy still answers.
    writer._redis.set(writer.PREFIX + "b1", "behind-its-back")
    assert reader.get(keys) == made
    for round_ in range(3):
        writer.replace(["m1"])
        now = writer._redis.mget([writer.PREFIX + k for k in keys])
        assert reader.get(keys) == now and now[2] != made[2], round_
        assert writer.get(keys) == now  # the writer's own copy too
    # A copy is used for KEPT_SECONDS at most, so a lost message costs that much.
    reader.KEPT_SECONDS = 0
    writer._redis.set(writer.PREFIX + "county", "also-behind-its-back")
    assert reader.get(keys)[0] == "also-behind-its-back"


@pytest.mark.commits
def test_a_booking_made_in_another_worker_ends_the_304(app, database_url, machine, make_user):
    """Two workers, each with its copy of the tokens in Redis: a booking committed in one
    is seen by the other's very next answer."""
    from makerspace import create_app
    from tests.databases import test_config

    reader = app.extensions["availability_tokens"] = _redis_tokens()
    other = create_app(test_config(database_url))
    other.extensions["availability_tokens"] = _redis_tokens(reader.PREFIX)
    citizen = make_user()
    try:
        etag = _warm_etag(app.test_client(), machine)
        assert _still_304(app.test_client(), machine, etag)
        with other.app_context():
            db.session.add(Booking(equipment_id=machine.id, user_id=citizen.id,
                                   start_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
                                   end_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
                                   occupied_until=datetime(2026, 12, 1, 10, 0, tzinfo=UTC)))
            db.session.commit()
        booked = availability(app.test_client(), machine, **{"If-None-Match": etag})
        assert booked.status_code == 200
        assert {"start": "2026-12-01T09:00:00+00:00",
                "end": "2026-12-01T10:00:00+00:00"} in booked.get_json()["busy"]
    finally:
        with other.app_context():
            db.engine.dispose()
        reader._redis.delete(*reader._redis.keys(reader.PREFIX + "*"))


def test_a_broken_subscription_sends_every_read_to_redis(two_workers):
    writer, reader, keys = two_workers
    made = writer.get_or_make(keys)
    assert reader.get(keys) == made
    # The reader's subscription drops; what is published meanwhile never reaches it.
    reader._subscription.connection.disconnect()
    writer.replace(["b1"])
    assert reader.get(keys)[1] not in (None, made[1])
    # It subscribes again and keeps hearing of replacements.
    writer.replace(["m1"])
    assert reader.get(keys) == writer._redis.mget([writer.PREFIX + k for k in keys])
    assert reader._subscription is not None


def test_the_304_in_front_of_flask_has_the_headers_of_any_answer(client, machine, statements):
    etag = _warm_etag(client, machine)
    statements.clear()
    front = availability(client, machine, **{"If-None-Match": etag, "X-Request-Id": "abcdefgh12"})
    # With an Origin the request goes through Flask (CORS is the app's), to the same answer.
    inside = availability(client, machine, **{"If-None-Match": etag, "Origin": "https://x.no"})
    assert front.status_code == inside.status_code == 304 and statements == []
    assert front.headers["X-Request-Id"] == "abcdefgh12"
    assert inside.headers["X-Request-Id"] != front.headers["X-Request-Id"]
    assert {k: v for k, v in front.headers.items() if k != "X-Request-Id"} == {
        k: v for k, v in inside.headers.items() if k != "X-Request-Id"}
    assert front.headers["X-Content-Type-Options"] == "nosniff"
    assert front.headers["Vary"] == "Cookie, Accept-Language"


# -- the machine page's schedule, kept by the same tokens ---------------------------------

def _page(client, machine, query: str = "") -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/equipment/{machine.id}{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_kept_schedule_shows_every_change_in_the_next_page(
        app, client, machine, make_user, make_booking, statements):
    staff, citizen = make_user(role=Role.ADMIN), make_user()
    _page(client, machine)  # learns the machine's branch
    first = _page(client, machine)
    statements.clear()
    assert _page(client, machine) == first
    assert not [s for s in statements if "FROM bookings" in s]  # the schedule was kept

    make_booking(machine, citizen, datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    booked = _page(client, machine)
    assert booked != first and booked.count("slot-busy") > first.count("slot-busy")

    with app.app_context():
        take_out_of_service(db.session.get(Equipment, machine.id), reason="Dysen er tett",
                            by=db.session.get(User, staff.id),
                            start=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
                            end=datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
        db.session.commit()
    out = _page(client, machine)
    assert out.count("slot-busy") > booked.count("slot-busy")

    with app.app_context():
        set_date_exception(db.session.get(Equipment, machine.id).branch, date(2026, 12, 1),
                           None, reason="Stengt for kurs")
        db.session.commit()
    closed = _page(client, machine, "?day=2026-12-01")
    assert "Stengt for kurs" in closed

    # The top of the page and the rules are kept with the schedule, and follow the machine.
    with app.app_context():
        update_equipment(db.session.get(Equipment, machine.id), description="Ny dyse i år",
                         max_minutes=90)
        db.session.commit()
    changed = _page(client, machine, "?day=2026-12-01")
    assert "Ny dyse i år" in changed and "1 t 30 min" in changed


def test_the_kept_schedule_follows_the_clock_and_the_language(client, machine, frozen_clock):
    _page(client, machine)
    morning = _page(client, machine, "?day=2026-12-01")
    frozen_clock.set(datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC))  # 10:00:30 in Oslo
    later = _page(client, machine, "?day=2026-12-01")
    assert later != morning and later.count("slot-free") < morning.count("slot-free")
    frozen_clock.set(datetime(2026, 12, 1, 9, 0, 50, tzinfo=UTC))
    assert _page(client, machine, "?day=2026-12-01") == later
    frozen_clock.set(datetime(2026, 12, 1, 9, 1, 0, tzinfo=UTC))  # exactly a whole minute
    assert _page(client, machine, "?day=2026-12-01").count("slot-free") == later.count(
        "slot-free")
    english = client.get(f"/equipment/{machine.id}?day=2026-12-01",
                         headers={"Accept-Language": "en"}).get_data(as_text=True)
    norwegian = client.get(f"/equipment/{machine.id}?day=2026-12-01",
                           headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Free" in english and "Ledig" in norwegian and "Ledig" not in english


def test_a_kept_answer_is_the_answer_and_a_change_replaces_it(
        client, machine, statements, make_user, make_booking):
    _warm_etag(client, machine)
    made = availability(client, machine, **{"Origin": "https://x.no"})  # made by Flask
    statements.clear()
    kept = availability(client, machine)
    assert statements == []  # the kept bytes, in front of Flask
    assert kept.status_code == 200 and kept.get_data() == made.get_data()
    assert {k: v for k, v in kept.headers.items() if k != "X-Request-Id"} == {
        k: v for k, v in made.headers.items() if k != "X-Request-Id"}
    make_booking(machine, make_user(), datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    booked = availability(client, machine)
    assert booked.get_json()["busy"] and booked.headers["ETag"] != kept.headers["ETag"]


# -- the branch page, kept by the tokens of the branch and each of its machines ------------

def _branch_page(client, branch_slug: str, **headers: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/branches/{branch_slug}", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _slug_of(app, machine) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Equipment, machine.id).branch.slug


def test_the_kept_branch_page_shows_every_change_in_the_next_page(
        app, client, machine, make_user, make_booking, make_equipment, statements):
    slug = _slug_of(app, machine)
    _branch_page(client, slug)  # learns the branch's machines
    first = _branch_page(client, slug)
    statements.clear()
    assert _branch_page(client, slug) == first
    # the page was kept, and what it lists is in its tokens (the test's savepoints aside)
    assert [s for s in statements if "SAVEPOINT" not in s] == []
    assert "ledig fra 08:00" in first

    make_booking(machine, make_user(), datetime(2026, 12, 1, 7, 0, tzinfo=UTC))  # 08:00
    booked = _branch_page(client, slug)
    assert "ledig fra 08:00" not in booked and "ledig fra 09:00" in booked

    with app.app_context():
        branch = db.session.get(Equipment, machine.id).branch
        update_equipment(db.session.get(Equipment, machine.id), description="Ny dyse i år")
        db.session.commit()
    assert "Ny dyse i år" in _branch_page(client, slug)

    with app.app_context():
        branch = db.session.get(Equipment, machine.id).branch
    laser = make_equipment(branch, name="Glowforge", kind="laser-cutter")
    added = _branch_page(client, slug)
    assert "Glowforge" in added and f'id="machine-{laser.id}"' in added

    with app.app_context():  # retired: no longer on the page
        retired = db.session.get(Equipment, laser.id)
        retired.retired_at = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
        db.session.commit()
    assert "Glowforge" not in _branch_page(client, slug)

    with app.app_context():
        set_date_exception(db.session.get(Branch, branch.id), date(2026, 12, 3), None,
                           reason="Stengt for kurs")
        db.session.commit()
    assert "Stengt for kurs" in _branch_page(client, slug)


def test_a_renamed_certification_shows_on_the_kept_branch_page(
        app, client, frozen_clock, make_equipment):
    frozen_clock.set(NOW)
    with app.app_context():
        laser_course = create_certification(slug="laser", name="Laserkurs")
        machine = make_equipment(name="Glowforge", kind="laser-cutter",
                                 requires_certification=laser_course)
        db.session.commit()
        course_id, slug = laser_course.id, machine.branch.slug
    _branch_page(client, slug)
    assert "Laserkurs" in _branch_page(client, slug)
    with app.app_context():
        db.session.get(Certification, course_id).name = "Laserkurs for nybegynnere"
        db.session.commit()
    assert "Laserkurs for nybegynnere" in _branch_page(client, slug)


def test_the_kept_branch_page_follows_the_clock_the_language_and_the_visitor(
        app, client, machine, frozen_clock, make_user, login):
    slug = _slug_of(app, machine)
    _branch_page(client, slug)
    morning = _branch_page(client, slug)
    frozen_clock.set(datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC))  # 10:00:30 in Oslo
    later = _branch_page(client, slug)
    assert "ledig fra 08:00" in morning and "ledig fra 10:30" in later
    english = _branch_page(client, slug, **{"Accept-Language": "en"})
    assert "Free today" in english and "Ledig i dag" not in english
    assert "Edit the library" not in english
    login(make_user(role=Role.ADMIN, locale="en"))
    assert "Edit the library's details" in _branch_page(client, slug)


def test_a_request_that_has_read_from_sqlite_keeps_nothing(app_ctx, backend):
    """A logged-in person is loaded before the page: on SQLite the request then sees the
    database as it was at that read, which may be older than the tokens read after it."""
    read_only_transaction(db.session)
    assert not snapshot_taken(db.session)
    db.session.execute(select(Branch.id)).all()
    assert snapshot_taken(db.session) == (backend == "sqlite")


# -- the page frame's parts, kept by template, language and page --------------------------

def _current_links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="page"', html)


def test_the_kept_frame_follows_the_page_the_language_and_the_visitor(
        client, make_user, login):
    libraries = client.get("/branches/").get_data(as_text=True)
    find = client.get("/find").get_data(as_text=True)
    assert _current_links(libraries) == ["/branches/"]
    assert _current_links(find) == ["/find"]
    assert "Bibliotek" in libraries and ">Logg inn<" in find

    english = client.get("/find", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ">Log in<" in english and ">Logg inn<" not in english
    assert 'value="en" lang="en"\n                    aria-current="true"' in english
    assert _current_links(english) == ["/find"]

    login(make_user(name="Kari Nordmann", locale="nn"))
    mine = client.get("/find").get_data(as_text=True)
    assert "Logg inn" not in mine and "Mine bookingar" in mine
    assert 'value="nn" lang="nn"\n                    aria-current="true"' in mine
    assert 'name="csrf_token" value="' in mine  # the visitor's own token, around the parts
