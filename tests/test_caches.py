"""What is kept between requests for speed (opening hours per branch version, the
availability ETag) never hides a change: hours, a closure, an outage, a booking or a
cancellation shows in the very next answer."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event

from makerspace.accounts.models import Role, User
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.booking.services import cancel_booking, take_out_of_service
from makerspace.branches.hours import (
    hours_for_days,
    remove_date_exception,
    set_date_exception,
    set_weekly_hours,
)
from makerspace.branches.models import Branch
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
    assert again.status_code == 304 and again.headers["ETag"] == etag
    assert again.get_data() == b""

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
    assert freed.headers["ETag"] == etag  # the same answer as before the booking


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
