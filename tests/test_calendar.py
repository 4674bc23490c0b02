"""iCal feeds: parsed by two independent parsers (vobject and Mozilla's ical.js), right across
DST, stable bytes and ETags, cancellations, privacy, and secret addresses that rotate."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import vobject
from sqlalchemy import select

from makerspace.accounts.models import Role, User
from makerspace.booking.models import Booking
from makerspace.booking.services import cancel_booking
from makerspace.branches.models import Branch
from makerspace.branches.services import update_branch
from makerspace.events.models import Event
from makerspace.events.services import cancel_event, create_event, sign_up, update_event
from makerspace.extensions import db
from tests.helpers import bearer

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
JS_PARSER = Path(__file__).parent / "js" / "parse_ics.mjs"


def parse_with_icaljs(body: bytes) -> dict:
    node = shutil.which("node")
    if node is None or not (JS_PARSER.parent / "node_modules" / "ical.js").exists():
        pytest.skip("Node.js and tests/js/node_modules (npm ci) are needed for ical.js")
    result = subprocess.run([node, str(JS_PARSER)], input=body, capture_output=True,  # noqa: S603
                            check=True, timeout=30)
    return json.loads(result.stdout)


def parse_with_vobject(body: bytes):  # type: ignore[no-untyped-def]
    return vobject.readOne(body.decode("utf-8"))


def both(body: bytes) -> tuple[list, dict]:
    """Events as vobject sees them, and the document as ical.js sees it."""
    return list(parse_with_vobject(body).vevent_list), parse_with_icaljs(body)


@pytest.fixture
def scene(app, frozen_clock, open_branch, make_user, make_equipment, make_booking):
    frozen_clock.set(NOW)
    branch = open_branch("hoved", name="Hovedbiblioteket")
    printer = make_equipment(branch, name="Prusa", buffer_minutes=30)
    citizen = make_user("kari@example.no", name="Kari Nordmann")
    booking = make_booking(printer, citizen, datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with app.app_context():
        live = db.session.get(Branch, branch.id)
        winter = create_event(branch=live, title="Laserkurs, del 1; grunnkurs", start=datetime(
            2026, 12, 2, 16, 0, tzinfo=UTC), end=datetime(2026, 12, 2, 18, 0, tzinfo=UTC),
            capacity=4, description="Ta med " + "tre og akryl " * 12, instructor="Per")
        summer = create_event(branch=live, title="Vårverksted", start=datetime(
            2027, 3, 30, 15, 0, tzinfo=UTC), end=datetime(2027, 3, 30, 17, 0, tzinfo=UTC),
            capacity=4)
        sign_up(event=winter, user=db.session.get(User, citizen.id))
        db.session.commit()
        ids = {"winter": winter.id, "summer": summer.id, "booking": booking.id}
    return {"branch": branch, "printer": printer, "citizen": citizen, **ids}


def test_public_events_feed_parses_and_is_right_across_dst(client, scene):
    response = client.get("/calendar/events.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.data
    assert b"METHOD:" not in body and b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in body
    assert b"X-PUBLISHED-TTL:PT1H" in body
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))  # folded
    events, js = both(body)
    by_title = {e.summary.value: e for e in events}
    # 17:00 in Oslo on both sides of the change to summer time (28 March 2027)
    assert by_title["Laserkurs, del 1; grunnkurs"].dtstart.value == datetime(
        2026, 12, 2, 16, 0, tzinfo=UTC)
    assert by_title["Vårverksted"].dtstart.value == datetime(2027, 3, 30, 15, 0, tzinfo=UTC)
    js_events = {e["summary"]: e for e in js["events"]}
    assert js_events["Vårverksted"]["start"] == "2027-03-30T15:00:00.000Z"
    assert js_events["Laserkurs, del 1; grunnkurs"]["start"] == "2026-12-02T16:00:00.000Z"
    assert js_events["Laserkurs, del 1; grunnkurs"]["location"] == "Hovedbiblioteket"
    assert "tre og akryl " * 11 in js_events["Laserkurs, del 1; grunnkurs"]["description"]
    assert js["name"] == "Folkeverksted – kurs i Trøndelag"
    assert by_title["Vårverksted"].url.value.endswith(f"/events/{scene['summer']}")


def test_feed_names_follow_the_language(client, scene):
    english = parse_with_icaljs(client.get("/calendar/events.ics?lang=en").data)
    assert english["name"] == "Folkeverksted – courses in Trøndelag"
    nynorsk = client.get(f"/calendar/equipment/{scene['printer'].id}.ics?lang=nn").data
    assert b"SUMMARY:Opptatt" in nynorsk
    assert b"SUMMARY:Booked" in client.get(
        f"/calendar/equipment/{scene['printer'].id}.ics?lang=en").data


def test_public_feeds_carry_nothing_personal(client, scene):
    for path in ("/calendar/events.ics", "/calendar/branches/hoved/events.ics",
                 f"/calendar/equipment/{scene['printer'].id}.ics"):
        body = client.get(path).data
        for secret in (b"Kari", b"Nordmann", b"kari@example.no"):
            assert secret not in body, path
    machine = client.get(f"/calendar/equipment/{scene['printer'].id}.ics").data
    events, js = both(machine)
    assert [e.summary.value for e in events] == ["Opptatt"]
    # the block includes the buffer after the booking
    assert js["events"][0]["end"] == "2026-12-01T10:30:00.000Z"


def test_same_bytes_etag_304_head_and_changes(client, scene, app):
    path = "/calendar/branches/hoved/events.ics"
    first, second = client.get(path), client.get(path)
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    head = client.head(path)
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    with app.app_context():
        event = db.session.get(Event, scene["winter"])
        update_event(event, title="Laserkurs – flyttet")
        db.session.commit()
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    [moved] = [e for e in parse_with_vobject(changed.data).vevent_list
               if e.uid.value == f"event-{scene['winter']}@folkeverksted"]
    assert moved.sequence.value == "1" and moved.summary.value == "Laserkurs – flyttet"


def test_a_built_feed_is_kept_once_per_address_and_language(client, scene, app, monkeypatch):
    from makerspace.calendar import routes

    path = "/calendar/branches/hoved/events.ics"
    first = client.get(path)
    client.get(path + "?lang=en")
    kept = app.extensions["built_feeds"]
    assert set(kept) == {(path, "nb"), (path, "en")}
    assert kept[(path, "nb")] == (first.headers["ETag"], first.data)
    with app.app_context():
        update_event(db.session.get(Event, scene["winter"]), title="Laserkurs – flyttet")
        db.session.commit()
    changed = client.get(path)
    assert "Laserkurs – flyttet" in changed.get_data(as_text=True)
    assert len(kept) == 2 and kept[(path, "nb")] == (changed.headers["ETag"], changed.data)
    # bounded by size: a feed that does not fit beside the others pushes the oldest out
    monkeypatch.setattr(routes, "BUILT_FEEDS_BYTES", len(changed.data) + 10)
    county = client.get("/calendar/events.ics")
    assert county.status_code == 200 and set(kept) == {("/calendar/events.ics", "nb")}
    assert client.get(path).data == changed.data  # built again, the same bytes


def test_cancelled_items_stay_30_days_then_go(client, scene, app, frozen_clock):
    with app.app_context():
        cancel_event(db.session.get(Event, scene["summer"]), reason="Sykdom")
        booking = db.session.get(Booking, scene["booking"])
        cancel_booking(booking, by=booking.user)
        db.session.commit()
    events, js = both(client.get("/calendar/events.ics").data)
    statuses = {e["summary"]: e["status"] for e in js["events"]}
    assert statuses["Vårverksted"] == "CANCELLED"
    assert next(e for e in events if e.summary.value == "Vårverksted").sequence.value == "1"
    machine = client.get(f"/calendar/equipment/{scene['printer'].id}.ics").data
    assert b"STATUS:CANCELLED" in machine
    frozen_clock.set(datetime.now(UTC) + timedelta(days=31))
    later = client.get("/calendar/events.ics").data
    assert b"V\xc3\xa5rverksted" not in later


def test_personal_feed_and_rotation(client, scene, make_token):
    token = make_token(scene["citizen"])
    url = client.get("/api/v1/me", headers=bearer(token)).get_json()["calendar_url"]
    path = url.removeprefix("http://127.0.0.1:5000")
    events, js = both(client.get(path).data)
    summaries = sorted(e["summary"] for e in js["events"])
    assert summaries == ["Laserkurs, del 1; grunnkurs", "Prusa"]
    assert len(events) == 2
    rotated = client.post("/api/v1/me/calendar-token", headers=bearer(token))
    new_path = rotated.get_json()["calendar_url"].removeprefix("http://127.0.0.1:5000")
    assert new_path != path
    assert client.get(path).status_code == 404
    assert client.get(new_path).status_code == 200
    assert client.get("/calendar/me/not-a-token.ics").status_code == 404


def test_staff_feed_has_initials_unless_the_branch_chooses_names(client, scene, make_user,
                                                                  make_token, app):
    librarian = make_token(make_user(role=Role.LIBRARIAN, branches=[scene["branch"]]))
    citizen = make_token(scene["citizen"])
    assert client.get("/api/v1/branches/hoved/staff-calendar",
                      headers=bearer(citizen)).status_code == 403
    url = client.get("/api/v1/branches/hoved/staff-calendar",
                     headers=bearer(librarian)).get_json()["url"]
    path = url.removeprefix("http://127.0.0.1:5000")
    response = client.get(path)
    assert response.headers["Cache-Control"].startswith("private")
    events, js = both(response.data)
    summaries = [e["summary"] for e in js["events"]]
    assert not any("Kari" in summary or "Nordmann" in summary for summary in summaries)
    assert any(summary.startswith("Prusa: K. N. (booking ") for summary in summaries)
    with app.app_context():
        db.session.get(Branch, scene["branch"].id).staff_feed_full_names = True
        db.session.commit()
    named = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert named.status_code == 200, "the setting changes the feed, and so its ETag"
    assert "Prusa: Kari Nordmann" in [e["summary"] for e in both(named.data)[1]["events"]]
    new_url = client.post("/api/v1/branches/hoved/staff-calendar",
                          headers=bearer(librarian)).get_json()["url"]
    assert new_url != url and client.get(path).status_code == 404


def test_single_item_files(client, scene, login, make_user):
    login(make_user())
    assert client.get(f"/bookings/{scene['booking']}.ics").status_code == 404
    login(scene["citizen"])
    response = client.get(f"/bookings/{scene['booking']}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert b"X-WR-CALNAME" not in response.data and b"REFRESH-INTERVAL" not in response.data
    [event], js = both(response.data)
    assert event.uid.value == f"booking-{scene['booking']}@folkeverksted"
    with client.application.app_context():
        from makerspace.events.models import Signup

        signup_id = db.session.scalar(select(Signup.id))
    events, _js = both(client.get(f"/signups/{signup_id}.ics").data)
    assert events[0].summary.value == "Laserkurs, del 1; grunnkurs"


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_calendars_page_in_three_languages(client, scene, login, lang):
    login(scene["citizen"])
    client.set_cookie("lang", lang)
    page = client.get("/calendars").get_data(as_text=True)
    assert f'lang="{lang}"' in page
    assert "webcal://127.0.0.1:5000/calendar/events.ics" in page
    assert "webcal://127.0.0.1:5000/calendar/me/" in page
    assert "Google Calendar" in page and "Outlook" in page
    client.post("/calendars/me/rotate")
    assert client.get("/calendars").status_code == 200


def test_kept_event_items_follow_the_language_and_the_event(client, scene, app):
    """Each event's item is kept by its row and the feed's words: the same event in another
    language, or changed, is another item."""
    path = "/calendar/events.ics"
    norwegian = client.get(f"{path}?lang=nb").data
    english = client.get(f"{path}?lang=en").data
    assert b"Instrukt\xc3\xb8r: Per" in norwegian and b"Instructor: Per" in english
    assert b"Instructor: Per" not in client.get(f"{path}?lang=nb").data
    with app.app_context():
        update_event(db.session.get(Event, scene["winter"]), instructor="Kari")
        db.session.commit()
    changed = client.get(f"{path}?lang=en").data
    assert b"Instructor: Kari" in changed and b"Instructor: Per" not in changed

    with app.app_context():  # the branch's name is each event's place
        branch = db.session.get(Branch, scene["branch"].id)
        update_branch(branch, slug=branch.slug, name="Det nye hovedbiblioteket",
                      municipality=branch.municipality, timezone=branch.timezone)
        db.session.commit()
    assert b"LOCATION:Det nye hovedbiblioteket" in client.get(f"{path}?lang=en").data
    with app.app_context():
        cancel_event(db.session.get(Event, scene["winter"]), reason="Sykdom")
        db.session.commit()
    cancelled = client.get(f"{path}?lang=en").data
    assert cancelled.count(b"STATUS:CANCELLED") == 1
    assert cancelled.count(b"LOCATION:Det nye hovedbiblioteket") == 2
