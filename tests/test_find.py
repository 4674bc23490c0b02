"""Finding free time across machines (issue 15, "Find"): the search service, the API
`GET /api/v1/availability`, the search page, "free today", the home library, the branch page
and its admin form, staffed hours, the embeddable view and CORS."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from makerspace.booking.models import BookingStatus
from tests.helpers import matches
from tests.test_api import assert_problem

OSLO = ZoneInfo("Europe/Oslo")


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


@pytest.fixture
def scene(frozen_clock, open_branch, make_equipment, make_user, make_booking):
    """Monday 7 December 2026, 11:10 in Oslo. Two branches open 08–20: Hoved has two 3D
    printers (one booked 16–17) and a laser cutter; Steinkjer one 3D printer that allows
    2-hour bookings at least."""
    frozen_clock.set(oslo(2026, 12, 7, 11, 10))
    hoved = open_branch("hoved", name="Hovedbiblioteket")
    steinkjer = open_branch("steinkjer", name="Steinkjer bibliotek")
    prusa = make_equipment(hoved, name="Prusa MK4")
    bambu = make_equipment(hoved, name="Bambu X1")
    laser = make_equipment(hoved, name="Laser", kind="laser-cutter")
    long_only = make_equipment(steinkjer, name="Ultimaker", min_minutes=120, max_minutes=240)
    kari = make_user("kari@example.no")
    make_booking(prusa, kari, oslo(2026, 12, 7, 16, 0), minutes=60)
    make_booking(bambu, kari, oslo(2026, 12, 7, 17, 0), minutes=60,
                 status=BookingStatus.CANCELLED)
    return {"hoved": hoved, "steinkjer": steinkjer, "prusa": prusa, "bambu": bambu,
            "laser": laser, "long": long_only, "kari": kari}


EVENING = "/api/v1/availability?kind=3d-printer&date=2026-12-07&from=16:00&to=20:00&duration=60"


def test_api_lists_free_starts_across_machines_soonest_first(client, scene):
    answer = client.get(EVENING + "&branch=hoved")
    assert answer.status_code == 200
    matches(answer.get_json(), "FreeTimeResults")
    results = answer.get_json()["results"]
    prusa, bambu = scene["prusa"].id, scene["bambu"].id
    # Prusa is booked 16–17: its starts are 17:00 … 19:00; Bambu (cancelled booking) 16–19.
    assert [(r["start"][11:16], r["equipment_id"]) for r in results[:4]] == [
        ("16:00", bambu), ("16:30", bambu), ("17:00", bambu), ("17:00", prusa)]
    assert all(r["branch"] == "hoved" for r in results)
    assert results[0] == {"equipment_id": bambu, "branch": "hoved",
                          "start": "2026-12-07T16:00:00+01:00",
                          "end": "2026-12-07T17:00:00+01:00"}
    assert results[-1]["end"] == "2026-12-07T20:00:00+01:00"
    assert len([r for r in results if r["equipment_id"] == prusa]) == 5  # 17:00 … 19:00
    starts = [r["start"] for r in results]
    assert starts == sorted(starts)


def test_api_branch_is_repeatable_or_left_out(client, scene):
    both = client.get(EVENING.replace("duration=60", "duration=120")
                      + "&branch=hoved&branch=steinkjer").get_json()["results"]
    assert {r["branch"] for r in both} == {"hoved", "steinkjer"}
    everywhere = client.get(EVENING.replace("duration=60", "duration=120")).get_json()
    assert everywhere["results"] == both
    # 60 minutes is shorter than the Ultimaker allows: it is left out.
    hour = client.get(EVENING).get_json()["results"]
    assert scene["long"].id not in {r["equipment_id"] for r in hour}
    # Without a duration each machine's shortest booking; without a kind every kind.
    anything = client.get("/api/v1/availability?branch=steinkjer").get_json()["results"]
    assert anything[0]["start"] == "2026-12-07T11:30:00+01:00"  # today, after now
    assert anything[0]["end"] == "2026-12-07T13:30:00+01:00"
    lasers = client.get("/api/v1/availability?kind=laser-cutter").get_json()["results"]
    assert {r["equipment_id"] for r in lasers} == {scene["laser"].id}


def test_api_refuses_bad_input(client, scene):
    assert_problem(client.get("/api/v1/availability?branch=nowhere"), 404, "unknown_branch")
    for bad in ("kind=toaster", "date=2026-13-01", "from=25:00", "from=20:00&to=16:00",
                "duration=0", "duration=x", "date=1999-12-31"):
        assert_problem(client.get(f"/api/v1/availability?{bad}"), 422, "invalid_input")


def test_api_past_and_far_days_are_empty(client, scene):
    for day in ("2026-12-06", "2027-03-01"):
        assert client.get(f"/api/v1/availability?date={day}").get_json() == {"results": []}


def test_endpoint_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/availability"]["get"]
    assert operation["operationId"] == "searchAvailability"
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"kind", "branch", "date", "from", "to", "duration"}


# -- the search page ----------------------------------------------------------------------

def test_page_finds_this_evenings_3d_printers_and_links_to_the_form(client, scene):
    answer = client.get("/find?kind=3d-printer&branch=hoved&date=2026-12-07&from=16:00"
                        "&to=20:00&duration=60", headers={"Accept-Language": "en"})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    results = html[html.index('id="results"'):]
    links = re.findall(r'<a href="(/equipment/\d+/book\?[^"]+)"', results)
    assert len(links) == 12  # Bambu 16:00 … 19:00 (7), Prusa 17:00 … 19:00 (5)
    bambu = scene["bambu"].id
    assert links[0] == (f"/equipment/{bambu}/book?start=2026-12-07T15:00:00%2B00:00"
                        "&amp;minutes=60")
    assert "Bambu X1" in results and "Hovedbiblioteket" in results
    # The link fills in the booking form.
    form = client.get(links[0].replace("&amp;", "&"), follow_redirects=True)
    assert form.status_code == 200


def test_page_filters_and_refusals(client, scene):
    none = client.get("/find?kind=laser-cutter&branch=steinkjer")
    assert 'id="no-results"' in none.get_data(as_text=True)
    bad = client.get("/find?from=20:00&to=16:00", headers={"Accept-Language": "en"})
    assert bad.status_code == 422
    assert "The end must be later than the start." in bad.get_data(as_text=True)
    assert client.get("/find?branch=nowhere").status_code == 422
    assert client.get("/find?date=20261301").status_code == 422


def test_page_starts_at_the_home_library(client, app, scene, login):
    from makerspace.accounts.models import User
    from makerspace.extensions import db

    with app.app_context():
        db.session.get(User, scene["kari"].id).home_branch_id = scene["steinkjer"].id
        db.session.commit()
    login(scene["kari"])
    html = client.get("/find").get_data(as_text=True)
    assert re.search(r'<input checked id="branch-\d" name="branch" type="checkbox" '
                     r'value="steinkjer">', html)
    assert "Ultimaker" in html and "Prusa" not in html
    assert 'value="2026-12-07"' in html


# -- free today -----------------------------------------------------------------------------

def test_free_today_per_kind_at_a_branch(app_ctx, scene):
    from makerspace import clock
    from makerspace.booking.models import EquipmentKind
    from makerspace.booking.services import free_today
    from makerspace.branches.models import Branch
    from makerspace.extensions import db

    hoved = db.session.get(Branch, scene["hoved"].id)
    found = dict(free_today([hoved], clock.now()))
    assert set(found) == {EquipmentKind.PRINTER_3D, EquipmentKind.LASER_CUTTER}
    assert found[EquipmentKind.PRINTER_3D].start == oslo(2026, 12, 7, 11, 30)
    everywhere = dict(free_today(None, clock.now()))
    assert everywhere[EquipmentKind.PRINTER_3D].start == oslo(2026, 12, 7, 11, 30)


def test_nothing_free_later_today_after_closing(app_ctx, scene, frozen_clock):
    from makerspace.booking.services import free_today

    frozen_clock.set(oslo(2026, 12, 7, 19, 40))
    assert all(found is None for _kind, found in free_today(None, frozen_clock.now()))


def test_front_page_and_branch_page_show_free_today(client, scene):
    front = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    free = front[front.index('id="free-today"'):]
    assert "3D printer</strong>: free from 11:30" in free
    assert "Hovedbiblioteket" in free  # without a home library: where it is
    branch = client.get("/branches/steinkjer", headers={"Accept-Language": "en"})
    html = branch.get_data(as_text=True)
    section = html[html.index('id="free-today"'):html.index('id="machines"')]
    assert f"/equipment/{scene['long'].id}/book?start=2026-12-07T10:30:00%2B00:00" in section
    assert "Laser" not in section


# -- home library ---------------------------------------------------------------------------

def test_citizen_picks_a_home_library_on_the_profile(client, app, scene, login):
    from makerspace.accounts.models import User
    from makerspace.extensions import db

    login(scene["kari"])
    profile = client.get("/profile").get_data(as_text=True)
    assert 'id="home_branch"' in profile
    saved = client.post("/profile/home-library", data={"home_branch": "steinkjer"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/profile"
    with app.app_context():
        assert db.session.get(User, scene["kari"].id).home_branch_id == scene["steinkjer"].id
    # Lists and the front page start there.
    listed = client.get("/branches/").get_data(as_text=True)
    assert listed.index("Steinkjer bibliotek") < listed.index("Hovedbiblioteket")
    front = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Free today at Steinkjer bibliotek" in front
    assert client.post("/profile/home-library", data={"home_branch": "nowhere"}
                       ).status_code == 302
    client.post("/profile/home-library", data={"home_branch": ""})
    with app.app_context():
        assert db.session.get(User, scene["kari"].id).home_branch_id is None


def test_home_library_is_offered_on_the_booking_page(client, app, scene, login,
                                                     make_booking):
    booking = make_booking(scene["prusa"], scene["kari"], oslo(2026, 12, 8, 10, 0))
    login(scene["kari"])
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert 'id="home-offer"' in html and 'value="hoved"' in html
    answer = client.post("/profile/home-library", data={
        "home_branch": "hoved", "next": f"/bookings/{booking.id}"})
    assert answer.headers["Location"] == f"/bookings/{booking.id}"
    assert 'id="home-offer"' not in client.get(f"/bookings/{booking.id}").get_data(
        as_text=True)
    assert client.post("/profile/home-library", data={
        "home_branch": "hoved", "next": "//evil.example"}).headers["Location"] == "/profile"


def test_home_library_needs_a_login_and_csrf(client, app):
    assert client.post("/profile/home-library", data={"home_branch": ""}).status_code == 302
    assert "/login" in client.post("/profile/home-library").headers["Location"]


def test_deleting_the_branch_leaves_no_home_library(app_ctx, scene):
    from makerspace.accounts.models import User
    from makerspace.branches.models import Branch
    from makerspace.extensions import db

    kari = db.session.get(User, scene["kari"].id)
    kari.home_branch_id = scene["steinkjer"].id
    db.session.commit()
    db.session.delete(db.session.get(Branch, scene["steinkjer"].id))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, scene["kari"].id).home_branch_id is None


# -- the branch page and its admin form; staffed hours -------------------------------------

def edit_data(**changes):  # type: ignore[no-untyped-def]
    data = {"name": "Hovedbiblioteket", "slug": "hoved", "municipality": "Trondheim",
            "timezone": "Europe/Oslo", "address": "Peter Egges plass 1, 7011 Trondheim",
            "map_url": "https://www.openstreetmap.org/?mlat=63.43&mlon=10.39",
            "contact_email": "Makerspace@Example.no", "contact_phone": "+47 72 54 75 00",
            "staffed_when_open": "", "mon-opens1": "16:00", "mon-closes1": "19:00",
            "wed-opens1": "16:00", "wed-closes1": "19:00"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    from makerspace.accounts.models import Role

    return make_user("admin@example.no", role=Role.ADMIN)


def test_admin_edits_a_branch_and_the_page_shows_it(client, app, scene, admin, login):
    login(admin)
    form = client.get("/staff/admin/branches/hoved/edit")
    assert form.status_code == 200
    assert 'value="Hovedbiblioteket"' in form.get_data(as_text=True)
    saved = client.post("/staff/admin/branches/hoved/edit", data=edit_data())
    assert saved.status_code == 302 and saved.headers["Location"] == "/branches/hoved"
    html = client.get("/branches/hoved", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    contact = html[html.index('id="branch-contact"'):html.index("</dl>")]
    assert "Peter Egges plass 1, 7011 Trondheim" in contact
    assert 'href="https://www.openstreetmap.org/?mlat=63.43&amp;mlon=10.39"' in contact
    assert "<iframe" not in html
    assert 'href="mailto:makerspace@example.no"' in contact
    assert 'href="tel:+4772547500"' in contact
    # Monday 7 December: open 08–20, staff 16–19; the usual week shows both columns.
    assert "08:00–20:00" in contact and "staff there: 16:00–19:00" in contact
    hours = html[html.index('id="opening-hours"'):]
    assert '<tr class="today" aria-current="date">' in hours and "Staff there" in hours
    assert hours.count("No staff") == 5  # tue, thu, fri, sat, sun
    # Machines grouped by kind.
    machines = html[html.index('id="machines"'):html.index('id="this-week"')]
    assert machines.index('id="kind-3d-printer"') < machines.index("Bambu X1") < \
        machines.index("Prusa MK4") < machines.index('id="kind-laser-cutter"')


def test_staffed_hours_lie_inside_the_opening_hours(app_ctx, scene):
    from makerspace.branches.hours import (
        set_date_exception,
        set_staffed_hours,
        staffed_for_days,
        staffed_weekly,
        starts_in_staffed_hours,
    )
    from makerspace.branches.models import Branch
    from makerspace.extensions import db

    hoved = db.session.get(Branch, scene["hoved"].id)
    assert starts_in_staffed_hours(hoved, oslo(2026, 12, 7, 9, 0))  # staffed when open
    assert not starts_in_staffed_hours(hoved, oslo(2026, 12, 7, 7, 0))
    assert staffed_weekly(hoved) is None
    set_staffed_hours(hoved, {"mon": [["07:00", "09:00"], ["16:00", "19:00"]]})
    assert staffed_weekly(hoved)["mon"] == [("07:00", "09:00"), ("16:00", "19:00")]
    assert [d.minutes for d in staffed_for_days(hoved, oslo(2026, 12, 7).date(), 2)] == [
        ((8 * 60, 9 * 60), (16 * 60, 19 * 60)), ()]  # cut to 08:00 opening; Tuesday none
    assert starts_in_staffed_hours(hoved, oslo(2026, 12, 7, 16, 0))
    assert not starts_in_staffed_hours(hoved, oslo(2026, 12, 7, 19, 0))
    assert not starts_in_staffed_hours(hoved, oslo(2026, 12, 7, 12, 0))
    set_date_exception(hoved, oslo(2026, 12, 14).date(), None, "Staff training")
    assert not starts_in_staffed_hours(hoved, oslo(2026, 12, 14, 16, 30))
    set_staffed_hours(hoved, None)
    assert hoved.staffed_when_open and staffed_weekly(hoved) is None


def test_branch_edit_refusals(client, app, scene, admin, login):
    login(admin)
    path = "/staff/admin/branches/hoved/edit"
    for change, words in (({"map_url": "javascript:alert(1)"}, "https://"),
                          ({"map_url": "http://maps.example/x"}, "https://"),
                          ({"slug": "steinkjer"}, "short name exists"),
                          ({"slug": "Bad slug"}, "a–z"),
                          ({"timezone": "Mars/Olympus"}, "time zone"),
                          ({"contact_phone": "call me"}, "phone"),
                          ({"mon-opens1": "25:00"}, "HH:MM"),
                          ({"mon-closes1": ""}, "both")):
        answer = client.post(path, data=edit_data(**change), headers={"Accept-Language": "en"})
        assert answer.status_code == 422, change
        assert words in answer.get_data(as_text=True), change
    from makerspace.branches.models import Branch
    from makerspace.extensions import db

    with app.app_context():
        branch = db.session.get(Branch, scene["hoved"].id)
        assert branch.slug == "hoved" and branch.map_url == "" and branch.staffed_when_open


def test_a_new_short_name_moves_the_branch(client, app, scene, admin, login):
    login(admin)
    moved = client.post("/staff/admin/branches/hoved/edit",
                        data=edit_data(slug="trondheim-hoved", staffed_when_open="y"))
    assert moved.headers["Location"] == "/branches/trondheim-hoved"
    assert client.get("/branches/hoved").status_code == 404
    html = client.get("/branches/trondheim-hoved").get_data(as_text=True)
    assert "Staff there" not in html and "staff there" not in html


def test_only_admins_edit_branches(client, scene, make_user, login):
    from makerspace.accounts.models import Role

    assert client.get("/staff/admin/branches/hoved/edit").status_code == 302  # log in
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN,
                          branches=[scene["hoved"]])
    login(librarian)
    assert client.get("/staff/admin/branches/hoved/edit").status_code == 404
    assert client.post("/staff/admin/branches/hoved/edit",
                       data=edit_data(name="Mine")).status_code == 404


class TestBranchEditCsrf:
    @pytest.fixture
    def app_config(self):  # type: ignore[no-untyped-def]
        return {"WTF_CSRF_ENABLED": True}

    def test_edit_without_a_token_is_refused(self, client, scene, admin, login):
        login(admin)
        html = client.get("/staff/admin/branches/hoved/edit").get_data(as_text=True)
        assert 'name="csrf_token"' in html
        answer = client.post("/staff/admin/branches/hoved/edit", data=edit_data(name="X"))
        assert answer.status_code in (400, 422)
        assert client.post("/profile/home-library", data={"home_branch": "hoved"}
                           ).status_code in (302, 400)
        from makerspace.accounts.models import User
        from makerspace.extensions import db

        with client.application.app_context():
            assert db.session.get(User, admin.id).home_branch_id is None


# -- the embedded view and CORS ------------------------------------------------------------

@pytest.fixture
def course(app, scene):  # type: ignore[no-untyped-def]
    from makerspace.branches.models import Branch
    from makerspace.events.services import create_event
    from makerspace.extensions import db

    with app.app_context():
        event = create_event(branch=db.session.get(Branch, scene["hoved"].id),
                             title="3D-printing for nybegynnere",
                             start=oslo(2026, 12, 9, 17, 0), end=oslo(2026, 12, 9, 19, 0),
                             capacity=8)
        db.session.commit()
        return event.id


class TestEmbed:
    @pytest.fixture
    def app_config(self):  # type: ignore[no-untyped-def]
        return {"EMBED_FRAME_ANCESTORS": "https://bibliotek.example.no"}

    def test_embed_shows_free_today_and_courses_in_the_asked_language(self, client, scene,
                                                                     course):
        answer = client.get("/embed/hoved?lang=en")
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        assert '<html lang="en">' in html
        assert "3D printer</strong>: free from 11:30" in html
        assert "3D-printing for nybegynnere" in html and "8 seats left" in html
        assert 'target="_top"' in html and "<form" not in html
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors https://bibliotek.example.no;" in policy
        assert "X-Frame-Options" not in answer.headers
        assert "Set-Cookie" not in answer.headers
        assert answer.headers["Cache-Control"] == "public, max-age=60"
        nynorsk = client.get("/embed/hoved?lang=nn").get_data(as_text=True)
        assert '<html lang="nn">' in nynorsk
        assert '<html lang="nb">' in client.get("/embed/hoved?lang=xx").get_data(as_text=True)
        assert client.get("/embed/nowhere").status_code == 404

    def test_embed_sets_no_cookie_even_for_someone_logged_in(self, client, scene, login):
        login(scene["kari"])
        answer = client.get("/embed/hoved")
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
        # Every other page still refuses to be framed.
        other = client.get("/branches/hoved")
        assert other.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]


def test_embed_is_framed_only_by_this_site_by_default(client, scene):
    policy = client.get("/embed/hoved").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self';" in policy


class TestCors:
    @pytest.fixture
    def app_config(self):  # type: ignore[no-untyped-def]
        return {"CORS_ORIGINS": "https://bibliotek.example.no, https://kommune.example.no"}

    def test_allowed_origins_read_the_public_api(self, client, scene):
        origin = {"Origin": "https://kommune.example.no"}
        answer = client.get(EVENING, headers=origin)
        assert answer.headers["Access-Control-Allow-Origin"] == "https://kommune.example.no"
        assert "Origin" in answer.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in answer.headers
        other = client.get(EVENING, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers
        assert "Access-Control-Allow-Origin" not in client.get(
            "/branches/hoved", headers=origin).headers  # pages: never
        from flask.testing import FlaskClient

        plain = FlaskClient(client.application)  # OPTIONS is in no API document
        preflight = plain.options("/api/v1/bookings", headers={
            **origin, "Access-Control-Request-Method": "POST"})
        assert "Access-Control-Allow-Origin" not in preflight.headers  # GET only


class TestCorsForAnySite:
    @pytest.fixture
    def app_config(self):  # type: ignore[no-untyped-def]
        return {"CORS_ORIGINS": "*"}

    def test_any_site_reads_the_public_api(self, client, scene):
        answer = client.get("/api/v1/branches", headers={"Origin": "https://a.example"})
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in answer.headers["Access-Control-Expose-Headers"]


def test_no_cors_headers_unless_configured(client, scene):
    answer = client.get(EVENING, headers={"Origin": "https://kommune.example.no"})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_the_api_tells_a_branchs_contact(client, app, scene):
    from makerspace.branches.models import Branch
    from makerspace.branches.services import update_branch
    from makerspace.extensions import db

    with app.app_context():
        update_branch(db.session.get(Branch, scene["hoved"].id), slug="hoved",
                      name="Hovedbiblioteket", municipality="Trondheim",
                      timezone="Europe/Oslo", address="Peter Egges plass 1",
                      map_url="https://www.openstreetmap.org/", contact_phone="72 54 75 00")
        db.session.commit()
    branch = client.get("/api/v1/branches/hoved").get_json()
    matches(branch, "Branch")
    assert branch["address"] == "Peter Egges plass 1"
    assert branch["map_url"] == "https://www.openstreetmap.org/"
    assert branch["contact_email"] == "" and branch["staffed_when_open"] is True


def test_the_home_library_is_in_the_personal_data_export(app_ctx, scene):
    from makerspace.accounts.models import User
    from makerspace.extensions import db
    from makerspace.privacy.services import export_personal_data

    kari = db.session.get(User, scene["kari"].id)
    assert export_personal_data(kari)["account"]["home_library"] is None
    kari.home_branch_id = scene["hoved"].id
    db.session.flush()
    db.session.expire(kari)
    assert export_personal_data(kari)["account"]["home_library"] == "hoved"
