"""Course and event pages: the list, an event, signing up and leaving, My courses, and the
staff pages (create, weekly series, edit, cancel, attendance, a citizen's certifications)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from makerspace.accounts.models import Role
from makerspace.booking.models import Booking
from makerspace.branches.hours import set_date_exception
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification, UserCertification
from makerspace.certifications.services import create_certification
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.events.services import cancel_event, create_event, mark_attendance, sign_up
from makerspace.extensions import db

EN = {"Accept-Language": "en"}
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo
START = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # Wednesday 17:00 in Oslo


def page(response) -> str:  # type: ignore[no-untyped-def]
    """The page as text; Babel's narrow no-break spaces made plain."""
    return response.get_data(as_text=True).replace("\u202f", " ")


def item(html: str, element_id: str) -> str:
    """The text of the list item (or row) with this id."""
    start = html.index(f'id="{element_id}"')
    ends = [i for i in (html.find("</li>", start), html.find("</tr>", start)) if i != -1]
    return html[start:min(ends)]


@pytest.fixture
def scene(frozen_clock, open_branch, make_user):
    """Steinkjer with a librarian; Levanger with its own librarian; two citizens."""
    frozen_clock.set(NOW)
    steinkjer = open_branch("steinkjer", name="Steinkjer bibliotek")
    levanger = open_branch("levanger", name="Levanger bibliotek")
    return {
        "branch": steinkjer,
        "other": levanger,
        "librarian": make_user("lib@example.no", role=Role.LIBRARIAN, branches=[steinkjer],
                               name="Lise Bibliotekar"),
        "other_librarian": make_user("lev@example.no", role=Role.LIBRARIAN,
                                     branches=[levanger]),
        "kari": make_user("kari@example.no", name="Kari Nordmann"),
        "ola": make_user("ola@example.no", name="Ola Nordmann"),
    }


@pytest.fixture
def make_event(app):  # type: ignore[no-untyped-def]
    """An event at a branch (Wednesday 17:00–19:00 in Oslo unless told); returns its id."""

    def make(branch, *, signups=(), cancelled=False, **fields) -> int:  # type: ignore[no-untyped-def]
        fields.setdefault("title", "Laserkutter – grunnkurs")
        fields.setdefault("start", START)
        fields.setdefault("end", fields["start"] + timedelta(hours=2))
        fields.setdefault("capacity", 5)
        with app.app_context():
            event = create_event(branch=db.session.get(Branch, branch.id), **fields)
            for person in signups:
                sign_up(event=event, user=db.session.get(type(person), person.id))
            if cancelled:
                cancel_event(event, reason="Sykdom")
            db.session.commit()
            return event.id

    return make


def certification(app, slug: str = "laser-grunnkurs", **fields) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        fields.setdefault("name", "Laserkutter – grunnkurs")
        made = create_certification(slug=slug, **fields)
        db.session.commit()
        return made.id


def signup_of(app, event_id: int, user) -> Signup | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session.scalar(select(Signup).where(Signup.event_id == event_id,
                                                       Signup.user_id == user.id,
                                                       Signup.status != SignupStatus.CANCELLED))
        if found is not None:
            db.session.expunge(found)
        return found


def event_data(**overrides: str) -> dict[str, str]:
    data = {"title": "Symaskin for nybegynnere", "description": "Vi syr en pute.",
            "instructor": "Ingrid", "day": "2026-12-03", "start_time": "17:00",
            "end_time": "19:00", "capacity": "8", "min_age": "", "signup_opens_at": "",
            "signup_closes_at": "", "requires_certification": "", "grants_certification": ""}
    data.update(overrides)
    return data


# -- the list -----------------------------------------------------------------------------

def test_list_shows_seats_left_waitlist_cancelled_and_certification(
        scene, client, app, make_event):
    with app.app_context():
        laser = db.session.get(Certification, certification(app))
    open_id = make_event(scene["branch"], capacity=3, signups=[scene["kari"]],
                         grants_certification=laser)
    full_id = make_event(scene["branch"], title="3D-print", capacity=1,
                         signups=[scene["kari"], scene["ola"]])
    cancelled_id = make_event(scene["other"], title="VR-kveld", cancelled=True)
    past_id = make_event(scene["branch"], title="Ferdig", start=NOW - timedelta(hours=3))

    response = client.get("/events", headers=EN)
    assert response.status_code == 200
    html = page(response)
    assert f'id="event-{past_id}"' not in html
    first = item(html, f"event-{open_id}")
    assert "2 seats left" in first and "seats-open" in first
    assert "Steinkjer bibliotek" in first and "Wednesday, 2 December 2026, 17:00" in first
    assert "badge-grants" in first and "Laserkutter – grunnkurs" in first
    assert f'href="/events/{open_id}"' in first
    full = item(html, f"event-{full_id}")
    assert "Full – waitlist" in full and "seats-full" in full
    assert "Cancelled" in item(html, f"event-{cancelled_id}")

    levanger = page(client.get("/events?branch=levanger", headers=EN))
    assert f'id="event-{cancelled_id}"' in levanger and f'id="event-{open_id}"' not in levanger
    later = page(client.get("/events?from=2026-12-03"))
    assert 'id="event-' not in later and 'class="no-events"' in later
    assert client.get("/events?from=not-a-date&branch=atlantis").status_code == 200


def test_list_counts_seats_in_one_query_whatever_the_number_of_events(
        scene, client, app, make_event):
    def statements(path: str) -> int:
        seen: list[str] = []
        with app.app_context():
            engine = db.engine

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            seen.append(statement)

        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(path).status_code == 200
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    for hours in range(2):
        make_event(scene["branch"], start=START + timedelta(days=hours), signups=[scene["kari"]])
    few = statements("/events")
    for hours in range(2, 8):
        make_event(scene["branch"], start=START + timedelta(days=hours), signups=[scene["kari"]])
    assert statements("/events") == few


# -- one event: sign up, waitlist, leave --------------------------------------------------

def test_event_page_and_signing_up(scene, client, app, login, make_event):
    event_id = make_event(scene["branch"], capacity=2, instructor="Ingrid", min_age=13,
                          description="Lær å bruke laserkutteren trygt.")
    anonymous = page(client.get(f"/events/{event_id}", headers=EN))
    assert "Lær å bruke laserkutteren trygt." in anonymous and "Ingrid" in anonymous
    assert "2 seats left" in anonymous and 'id="waitlist-length">0 people' in anonymous
    assert "turn 13 this year" in anonymous
    assert f'href="/login?next=/events/{event_id}"' in anonymous
    assert 'id="signup-button"' not in anonymous
    assert client.post(f"/events/{event_id}/signup").status_code == 302  # to the login
    assert signup_of(app, event_id, scene["kari"]) is None

    login(scene["kari"])
    assert 'id="signup-button"' in page(client.get(f"/events/{event_id}"))
    response = client.post(f"/events/{event_id}/signup")
    assert response.status_code == 302 and response.headers["Location"] == f"/events/{event_id}"
    assert signup_of(app, event_id, scene["kari"]).status == SignupStatus.CONFIRMED
    html = page(client.get(f"/events/{event_id}", headers=EN))
    assert "message-success" in html and "status-confirmed" in html
    assert 'id="leave-button"' in html and "1 seat left" in html

    again = client.post(f"/events/{event_id}/signup", headers=EN, follow_redirects=True)
    assert again.status_code == 200
    assert "message-error" in page(again) and "already signed up" in page(again)
    assert client.get("/events/999").status_code == 404


def test_full_event_puts_people_on_the_waitlist_with_their_position(
        scene, client, app, login, make_user, make_event):
    event_id = make_event(scene["branch"], capacity=1, signups=[scene["kari"], scene["ola"]])
    login(make_user())
    html = page(client.get(f"/events/{event_id}", headers=EN))
    assert "Full – waitlist" in html and "Join the waitlist" in html
    response = client.post(f"/events/{event_id}/signup", headers=EN, follow_redirects=True)
    html = page(response)
    assert "number 2" in html and "message-info" in html
    assert re.search(r'id="waitlist-position">You are number 2 on the waitlist', html)
    assert 'id="waitlist-length">2 people' in html


def test_leaving_promotes_the_first_on_the_waitlist(scene, client, app, login, make_user,
                                                    make_event):
    third = make_user()
    event_id = make_event(scene["branch"], capacity=1,
                          signups=[scene["kari"], scene["ola"], third])
    login(scene["kari"])
    response = client.post(f"/events/{event_id}/leave")
    assert response.status_code == 302 and response.headers["Location"] == f"/events/{event_id}"
    assert signup_of(app, event_id, scene["kari"]) is None
    assert signup_of(app, event_id, scene["ola"]).status == SignupStatus.CONFIRMED
    assert signup_of(app, event_id, third).queue_number is not None
    html = page(client.get(f"/events/{event_id}"))
    assert 'id="signup-button"' in html and "message-success" in html

    again = client.post(f"/events/{event_id}/leave", follow_redirects=True)
    assert again.status_code == 200 and "message-error" in page(again)


def test_refusals_are_shown_never_500(scene, client, app, login, make_user, make_event):
    with app.app_context():
        laser = db.session.get(Certification, certification(app))
    needs = make_event(scene["branch"], requires_certification=laser)
    adults = make_event(scene["branch"], min_age=18)
    gone = make_event(scene["branch"], cancelled=True)
    later = make_event(scene["branch"], signup_opens_at=NOW + timedelta(days=1))
    login(make_user(birth_year=2015))
    for event_id in (needs, adults, gone, later):
        response = client.post(f"/events/{event_id}/signup", follow_redirects=True)
        assert response.status_code == 200, event_id
        assert "message-error" in page(response), event_id
    with app.app_context():
        assert db.session.scalar(select(Signup.id)) is None
    assert "Sign-up opens" in page(client.get(f"/events/{later}", headers=EN))


# -- My courses ---------------------------------------------------------------------------

def test_my_courses_lists_upcoming_past_and_certifications(
        scene, client, app, login, make_event, frozen_clock):
    with app.app_context():
        laser = db.session.get(Certification, certification(app, valid_months=24))
    past_id = make_event(scene["branch"], title="Introkurs", start=NOW + timedelta(hours=1),
                         grants_certification=laser, signups=[scene["kari"]])
    seat_id = make_event(scene["branch"], title="Symaskin", signups=[scene["kari"]])
    queue_id = make_event(scene["branch"], title="3D", capacity=1,
                          signups=[scene["ola"], scene["kari"]])
    with app.app_context():
        signup = db.session.scalar(select(Signup).where(Signup.event_id == past_id))
        librarian = db.session.get(type(scene["librarian"]), scene["librarian"].id)
        frozen_clock.set(NOW + timedelta(hours=1))
        mark_attendance(signup, by=librarian)
        db.session.commit()
    frozen_clock.set(NOW + timedelta(hours=4))

    login(scene["kari"])
    html = page(client.get("/me/events", headers=EN))
    upcoming = html[html.index('id="upcoming"'):html.index('id="past"')]
    assert f'href="/events/{seat_id}"' in upcoming and f'href="/events/{queue_id}"' in upcoming
    assert "Number 1" in upcoming and "status-waitlisted" in upcoming
    past = html[html.index('id="past"'):html.index('id="certifications"')]
    assert f'href="/events/{past_id}"' in past and "Attended" in past
    mine = html[html.index('id="certifications"'):]
    assert "Laserkutter – grunnkurs" in mine and "valid until" in mine and "2028" in mine

    response = client.post(f"/events/{seat_id}/leave", data={"next": "/me/events"})
    assert response.headers["Location"] == "/me/events"
    assert signup_of(app, seat_id, scene["kari"]) is None
    evil = client.post(f"/events/{queue_id}/leave", data={"next": "//evil.example"})
    assert evil.headers["Location"] == f"/events/{queue_id}"
    assert client.get("/me/events").status_code == 200


def test_my_courses_needs_a_login_and_the_nav_links_to_courses(client, scene):
    assert client.get("/me/events").status_code == 302
    html = page(client.get("/events", headers=EN))
    assert re.search(r'<a href="/events" aria-current="page">Courses</a>', html)


# -- staff: create, series, edit, cancel --------------------------------------------------

def test_staff_create_an_event(scene, client, app, login):
    certification(app)
    login(scene["librarian"])
    dashboard = page(client.get("/staff/steinkjer/"))
    assert 'href="/staff/steinkjer/events"' in dashboard
    assert client.get("/staff/steinkjer/events/new").status_code == 200

    response = client.post("/staff/steinkjer/events/new", data=event_data(
        grants_certification="laser-grunnkurs", signup_closes_at="2026-12-03T12:00",
        min_age="13"))
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert response.headers["Location"] == f"/events/{event.id}"
        assert event.start_at == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # 17:00 in Oslo
        assert event.end_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
        assert event.signup_closes_at == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
        assert event.capacity == 8 and event.min_age == 13 and event.instructor == "Ingrid"
        assert event.grants_certification.slug == "laser-grunnkurs"
        assert event.requires_certification is None

    listing = page(client.get("/staff/steinkjer/events"))
    assert f'id="event-{event.id}"' in listing

    backwards = client.post("/staff/steinkjer/events/new",
                            data=event_data(start_time="19:00", end_time="17:00"))
    assert backwards.status_code == 422 and 'class="problem"' in page(backwards)
    missing = client.post("/staff/steinkjer/events/new", data=event_data(title="", day=""))
    assert missing.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Event.id))) == 1


def test_staff_create_a_weekly_series_skipping_closed_days(scene, client, app, login):
    with app.app_context():
        set_date_exception(db.session.get(Branch, scene["branch"].id), date(2026, 12, 15),
                           None, reason="Personaldag")
        db.session.commit()
    login(scene["librarian"])
    assert client.get("/staff/steinkjer/events/series").status_code == 200
    response = client.post("/staff/steinkjer/events/series", data={
        "title": "Åpent verksted", "description": "", "instructor": "",
        "first_day": "2026-12-01", "start_time": "17:00", "end_time": "19:00",
        "until": "2026-12-29", "capacity": "10", "min_age": "13", "skip_closed_days": "y",
        "requires_certification": "", "grants_certification": ""})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/steinkjer/events"
    with app.app_context():
        events = db.session.scalars(select(Event).order_by(Event.start_at)).all()
        assert [e.start_at.date() for e in events] == [
            date(2026, 12, 1), date(2026, 12, 8), date(2026, 12, 22), date(2026, 12, 29)]
        assert events[0].start_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
        assert len({e.series_id for e in events}) == 1 and events[0].series_id is not None
        assert all(e.capacity == 10 and e.min_age == 13 for e in events)

    too_long = client.post("/staff/steinkjer/events/series", data={
        "title": "X", "first_day": "2026-12-01", "start_time": "17:00", "end_time": "19:00",
        "until": "2028-12-29", "capacity": "10", "requires_certification": "",
        "grants_certification": ""})
    assert too_long.status_code == 422


def test_staff_edit_raises_capacity_and_promotes(scene, client, app, login, make_event):
    event_id = make_event(scene["branch"], capacity=1, signups=[scene["kari"], scene["ola"]])
    login(scene["librarian"])
    form = page(client.get(f"/staff/events/{event_id}/edit"))
    assert 'value="2026-12-02"' in form and 'value="17:00"' in form and 'value="19:00"' in form

    data = event_data(title="Laserkutter – grunnkurs", day="2026-12-02", capacity="2")
    response = client.post(f"/staff/events/{event_id}/edit", data=data)
    assert response.status_code == 302
    assert signup_of(app, event_id, scene["ola"]).status == SignupStatus.CONFIRMED

    lower = client.post(f"/staff/events/{event_id}/edit", data={**data, "capacity": "1"})
    assert lower.status_code == 422 and 'class="problem"' in page(lower)
    with app.app_context():
        assert db.session.get(Event, event_id).capacity == 2


def test_staff_cancel_an_event(scene, client, app, login, make_event):
    event_id = make_event(scene["branch"], signups=[scene["kari"]])
    login(scene["librarian"])
    no_reason = client.post(f"/staff/events/{event_id}/cancel", data={"reason": ""})
    assert no_reason.status_code == 302
    with app.app_context():
        assert db.session.get(Event, event_id).status == EventStatus.SCHEDULED

    response = client.post(f"/staff/events/{event_id}/cancel", data={"reason": "Sykdom"})
    assert response.headers["Location"] == f"/staff/events/{event_id}/attendees"
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.status == EventStatus.CANCELLED and event.cancel_reason == "Sykdom"
    public = page(client.get(f"/events/{event_id}", headers=EN))
    assert 'id="cancelled"' in public and "Sykdom" in public
    twice = client.post(f"/staff/events/{event_id}/cancel", data={"reason": "Igjen"},
                        follow_redirects=True)
    assert twice.status_code == 200 and "message-error" in page(twice)


# -- staff: attendance, and the certification gate end to end -----------------------------

def test_attendance_grants_the_certification_and_unlocks_the_laser_cutter(
        scene, client, app, login, make_equipment, make_event, frozen_clock):
    cert_id = certification(app, valid_months=24)
    with app.app_context():
        laser = db.session.get(Certification, cert_id)
        machine = make_equipment(db.session.get(Branch, scene["branch"].id), name="Laserkutter",
                                 kind="laser-cutter", requires_certification=laser)
        machine_id = machine.id
    event_id = make_event(scene["branch"], grants_certification=laser, capacity=1,
                          signups=[scene["ola"]])
    booking = {"date": "2026-12-03", "start": "10:00", "duration": "60", "confirm": "1"}

    login(scene["kari"])
    refused = client.post(f"/equipment/{machine_id}/book", data=booking)
    assert refused.status_code == 422 and 'data-code="not_certified"' in page(refused)
    assert f'href="/events/{event_id}"' in page(refused)  # where to get the certification
    assert client.post(f"/events/{event_id}/signup").status_code == 302
    assert signup_of(app, event_id, scene["kari"]).status == SignupStatus.WAITLISTED
    login(scene["ola"])
    client.post(f"/events/{event_id}/leave")
    kari = signup_of(app, event_id, scene["kari"])
    assert kari.status == SignupStatus.CONFIRMED

    login(scene["librarian"])
    html = page(client.get(f"/staff/events/{event_id}/attendees"))
    assert "Kari Nordmann" in item(html, f"signup-{kari.id}") and "mark-attended" in html
    early = client.post(f"/staff/events/{event_id}/attendance/{kari.id}", follow_redirects=True)
    assert early.status_code == 200 and "message-error" in page(early)
    assert signup_of(app, event_id, scene["kari"]).attended_at is None

    frozen_clock.set(START - timedelta(minutes=10))
    marked = client.post(f"/staff/events/{event_id}/attendance/{kari.id}")
    assert marked.headers["Location"] == f"/staff/events/{event_id}/attendees#signup-{kari.id}"
    assert signup_of(app, event_id, scene["kari"]).attended_at is not None
    with app.app_context():
        held = db.session.scalar(select(UserCertification))
        assert held.user_id == scene["kari"].id and held.certification_id == cert_id
        assert held.expires_at.year == 2028
    assert "status-attended" in item(page(client.get(f"/staff/events/{event_id}/attendees")),
                                     f"signup-{kari.id}")
    people = page(client.get(f"/staff/people/{scene['kari'].id}/certifications"))
    assert 'id="held-laser-grunnkurs"' in people

    login(scene["kari"])
    allowed = client.post(f"/equipment/{machine_id}/book", data=booking)
    assert allowed.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Booking.user_id)) == scene["kari"].id


def test_attendees_list_the_waitlist_in_order(scene, client, login, make_user, make_event):
    third = make_user(name="Tredje Person")
    event_id = make_event(scene["branch"], capacity=1,
                          signups=[scene["kari"], scene["ola"], third])
    login(scene["librarian"])
    html = page(client.get(f"/staff/events/{event_id}/attendees"))
    waitlist = html[html.index('id="waitlist"'):]
    assert waitlist.index("Ola Nordmann") < waitlist.index("Tredje Person")
    assert "Kari Nordmann" in html[html.index('id="confirmed"'):html.index('id="waitlist"')]
    assert "Kari Nordmann" not in page(client.get(f"/events/{event_id}"))  # public page


# -- who may see staff pages ----------------------------------------------------------------

def test_other_librarians_and_citizens_get_404_on_staff_pages(
        scene, client, app, login, make_event):
    event_id = make_event(scene["branch"], signups=[scene["kari"]])
    signup_id = signup_of(app, event_id, scene["kari"]).id
    gets = ["/staff/steinkjer/events", "/staff/steinkjer/events/new",
            "/staff/steinkjer/events/series", f"/staff/events/{event_id}/edit",
            f"/staff/events/{event_id}/attendees"]
    posts = [f"/staff/events/{event_id}/cancel",
             f"/staff/events/{event_id}/attendance/{signup_id}",
             f"/staff/events/{event_id}/edit", "/staff/steinkjer/events/new"]
    for person in (scene["other_librarian"], scene["ola"]):
        login(person)
        for path in gets:
            assert client.get(path).status_code == 404, (person.email, path)
        for path in posts:
            assert client.post(path, data={"reason": "x"}).status_code == 404, (person.email,
                                                                                  path)
    assert client.get(f"/staff/people/{scene['kari'].id}/certifications").status_code == 404
    login(scene["other_librarian"])
    assert client.get(f"/staff/people/{scene['kari'].id}/certifications").status_code == 404
    login(scene["librarian"])
    assert client.get(f"/staff/people/{scene['kari'].id}/certifications").status_code == 200
    assert client.get("/staff/people/9999/certifications").status_code == 404
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.status == EventStatus.SCHEDULED
        assert db.session.get(Signup, signup_id).attended_at is None


def test_posts_without_a_csrf_token_are_refused(scene, client, app, login, make_event):
    event_id = make_event(scene["branch"])
    app.config["WTF_CSRF_ENABLED"] = True
    login(scene["kari"])
    assert client.post(f"/events/{event_id}/signup").status_code == 400
    assert signup_of(app, event_id, scene["kari"]) is None
    html = page(client.get(f"/events/{event_id}"))
    assert 'name="csrf_token"' in html[html.index('id="my-signup"'):]


def test_a_signup_has_its_qr_code_and_calendar_file_on_the_course_page_and_in_my_courses(
        scene, client, app, login, make_event, frozen_clock):
    import io

    import zxingcpp
    from PIL import Image

    event_id = make_event(scene["branch"], title="Symaskin for nybegynnere",
                          signups=[scene["kari"]])
    signup = signup_of(app, event_id, scene["kari"])
    login(scene["kari"])
    course = page(client.get(f"/events/{event_id}", headers=EN))
    qr = course[course.index('id="signup-qr"'):]
    assert f'src="/signups/{signup.id}/qr.svg"' in qr and "Your check-in code" in qr
    assert f'href="/signups/{signup.id}/qr.png"' in qr
    assert f'href="/signups/{signup.id}.ics" id="signup-ics"' in course
    assert client.get(f"/signups/{signup.id}.ics").mimetype == "text/calendar"

    mine = item(page(client.get("/me/events", headers=EN)), f"signup-{signup.id}")
    assert f'href="/events/{event_id}#signup-qr"' in mine
    assert f'href="/signups/{signup.id}/qr.png"' in mine
    assert f'href="/signups/{signup.id}.ics"' in mine

    png = client.get(f"/signups/{signup.id}/qr.png").data
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found.text.endswith(f"/C/{signup.checkin_token}")
    frozen_clock.set(START - timedelta(minutes=5))
    login(scene["librarian"])
    answer = client.post("/staff/steinkjer/scan", headers=EN, data={"code": found.text})
    assert answer.status_code == 200 and "Checked in" in page(answer)
    with app.app_context():
        assert db.session.get(Signup, signup.id).attended_at is not None

    login(scene["kari"])  # attended: no code to show any more; a waitlist place has none
    assert 'id="signup-qr"' not in page(client.get(f"/events/{event_id}"))
    full = make_event(scene["branch"], capacity=0, signups=[scene["ola"]])
    login(scene["ola"])
    waiting = page(client.get(f"/events/{full}"))
    assert 'id="signup-qr"' not in waiting and 'id="signup-ics"' in waiting


# -- the course list: series once, filters, languages --------------------------------------

def _series(app, branch, **fields) -> list[int]:  # type: ignore[no-untyped-def]
    from datetime import time

    from makerspace.events.services import create_weekly_series

    with app.app_context():
        made = create_weekly_series(
            branch=db.session.get(Branch, branch.id), title=fields.pop("title", "Åpent verksted"),
            first_day=date(2026, 12, 1), starts=time(16), ends=time(19),
            until=date(2026, 12, 29), capacity=fields.pop("capacity", 10), **fields)
        db.session.commit()
        return [e.id for e in made]


def test_a_weekly_series_shows_once_with_its_next_dates(scene, client, app, login, make_event):
    ids = _series(app, scene["branch"], category="open-workshop")
    single = make_event(scene["branch"], title="Symaskin for nybegynnere")
    html = page(client.get("/events", headers=EN))
    assert html.count(">Åpent verksted</a></h3>") == 1
    card = item(html, f"event-{ids[0]}")
    assert "Every week:" in card and "Open workshop" in card
    later = card[card.index(f'id="later-{ids[0]}"'):]
    for other in ids[1:]:
        assert f'href="/events/{other}"' in later
    assert "8 Dec 2026" in later and "29 Dec 2026" in later
    for other in ids[1:]:
        assert f'id="event-{other}"' not in html
    assert f'id="event-{single}"' in html and "Every week:" not in item(html, f"event-{single}")

    # Once the first date is past, the series shows from its next one.
    from_next = page(client.get("/events?from=2026-12-05", headers=EN))
    assert f'id="event-{ids[1]}"' in from_next and f'id="event-{ids[0]}"' not in from_next
    login(scene["librarian"])  # the staff list keeps every session
    staff = page(client.get("/staff/steinkjer/events"))
    assert all(f'href="/events/{other}"' in staff for other in ids)


def test_course_filters_branch_category_age_and_free_seats(scene, client, app, make_event):
    printing = make_event(scene["branch"], title="3D-print for alle", category="3d-printing")
    youth = make_event(scene["branch"], title="Ungdomskveld", min_age=13, category="vr")
    adults = make_event(scene["branch"], title="Voksenkurs", min_age=18, category="vr")
    full = make_event(scene["branch"], title="Fullt kurs", capacity=1, signups=[scene["kari"]],
                      category="sewing")
    elsewhere = make_event(scene["other"], title="Levanger-kurs", category="3d-printing")

    def shown(query: str) -> set[int]:
        html = page(client.get(f"/events{query}", headers=EN))
        return {int(i) for i in re.findall(r'id="event-(\d+)"', html)}

    everything = {printing, youth, adults, full, elsewhere}
    assert shown("") == everything
    assert shown("?category=3d-printing") == {printing, elsewhere}
    assert shown("?category=3d-printing&branch=levanger") == {elsewhere}
    assert shown("?age=children") == {printing, full, elsewhere}
    assert shown("?age=youth") == {printing, youth, full, elsewhere}
    assert shown("?age=adults") == everything
    assert shown("?free=y") == everything - {full}
    assert shown("?free=y&category=sewing") == set()
    for junk in ("?category=nonsense", "?age=old", "?free=maybe&category=%00"):
        assert client.get(f"/events{junk}").status_code == 200

    html = page(client.get("/events?category=vr&age=youth&free=y", headers=EN))
    assert '<option selected value="vr">VR</option>' in html
    assert '<option selected value="youth">' in html
    assert "checked" in re.search(r'<input[^>]*id="free"[^>]*>', html).group(0)
    assert 'id="clear-filters"' in html


def test_description_in_the_readers_language_with_a_fallback(scene, client, app, make_event):
    both = make_event(scene["branch"], description="Vi lærer å sy.",
                      description_nn="Vi lærer å sy, på nynorsk.",
                      description_en="We learn to sew.")
    only_nb = make_event(scene["branch"], title="Bare bokmål", description="Bare på bokmål.")
    only_nn = make_event(scene["branch"], title="Berre nynorsk",
                         description_nn="Berre på nynorsk.")

    def text(event_id: int, language: str) -> str:
        html = page(client.get(f"/events/{event_id}", headers={"Accept-Language": language}))
        found = re.search(r'<p class="lead event-description">(.*?)</p>', html)
        return found.group(1) if found else ""

    assert text(both, "nb") == "Vi lærer å sy."
    assert text(both, "nn") == "Vi lærer å sy, på nynorsk."
    assert text(both, "en") == "We learn to sew."
    assert text(only_nb, "nn") == "Bare på bokmål." and text(only_nb, "en") == "Bare på bokmål."
    assert text(only_nn, "nb") == "Berre på nynorsk." and text(only_nn, "en") == "Berre på nynorsk."


def test_staff_write_category_and_descriptions_in_three_languages(scene, client, app, login):
    login(scene["librarian"])
    response = client.post("/staff/steinkjer/events/new", data=event_data(
        category="sewing", description_nn="Vi syr ei pute.", description_en="We sew a cushion."))
    assert response.status_code == 302
    with app.app_context():
        made = db.session.scalar(select(Event).where(Event.title == "Symaskin for nybegynnere"))
        assert (made.category, made.description, made.description_nn, made.description_en) == (
            "sewing", "Vi syr en pute.", "Vi syr ei pute.", "We sew a cushion.")
        event_id = made.id
    form = page(client.get(f"/staff/events/{event_id}/edit"))
    assert '<option selected value="sewing">' in form and "Vi syr ei pute." in form
    bad = client.post("/staff/steinkjer/events/new", data=event_data(category="juggling"))
    assert bad.status_code == 422
