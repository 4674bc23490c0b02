"""Staff and admin pages: who may see them, and what each form changes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from makerspace.accounts.models import Role
from makerspace.booking.models import Booking, BookingStatus, Equipment, EquipmentOutage
from makerspace.branches.hours import hours_for_days
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification, UserCertification
from makerspace.certifications.services import create_certification
from makerspace.extensions import db

# Wednesday 12 March 2025, 10:00 in Oslo (CET, UTC+1).
NOW = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
TODAY = "2025-03-12"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    """A March 2025 moment given in Oslo winter time."""
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


@pytest.fixture
def scene(frozen_clock, open_branch, make_user, make_equipment):
    """Steinkjer with a printer and a librarian; Levanger with its own librarian; a citizen."""
    frozen_clock.set(NOW)
    steinkjer = open_branch("steinkjer", name="Steinkjer bibliotek")
    levanger = open_branch("levanger", name="Levanger bibliotek")
    return {
        "branch": steinkjer,
        "other": levanger,
        "printer": make_equipment(steinkjer, name="Prusa MK4"),
        "librarian": make_user("lib@example.no", role=Role.LIBRARIAN, branches=[steinkjer]),
        "other_librarian": make_user("lev@example.no", role=Role.LIBRARIAN, branches=[levanger]),
        "admin": make_user("admin@example.no", role=Role.ADMIN),
        "citizen": make_user("kari@example.no", name="Kari Nordmann", birth_year=1990),
    }


def equipment_data(**overrides):
    data = {"name": "Glowforge Pro", "kind": "laser-cutter", "description": "40 W",
            "slot_minutes": "30", "min_minutes": "60", "max_minutes": "180",
            "buffer_minutes": "15", "max_advance_days": "21", "min_age": "15", "unattended_max_minutes": "0",
            "requires_certification": ""}
    data.update(overrides)
    return data


def hours_data(**days):
    data = {"max_upcoming_bookings": "3", "closed_on_public_holidays": "y"}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        pairs = days.get(day, []) + [("", "")] * 2
        data.update({f"{day}-opens1": pairs[0][0], f"{day}-closes1": pairs[0][1],
                     f"{day}-opens2": pairs[1][0], f"{day}-closes2": pairs[1][1]})
    return data


# -- who may see what ---------------------------------------------------------------------


def test_librarian_sees_todays_bookings_with_names_only_at_own_branch(
        scene, client, login, make_user, make_booking):
    ola = make_user(name="Ola Imorgen")
    make_booking(scene["printer"], scene["citizen"], utc(12, 12))
    make_booking(scene["printer"], ola, utc(13, 12))  # tomorrow: not on today's list
    login(scene["librarian"])

    page = client.get("/staff/steinkjer/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Kari Nordmann" in html and "Ola Imorgen" not in html
    assert "12:00" in html  # shown in Oslo time, not UTC (11:00)
    assert f'id="machine-{scene["printer"].id}"' in html
    assert "in-service" in html

    index = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/steinkjer/"' in index and "/staff/levanger/" not in index
    assert 'id="new-branch-link"' not in index
    assert client.get("/staff/levanger/").status_code == 404
    assert client.get("/staff/atlantis/").status_code == 404


def test_citizens_get_404_and_visitors_must_log_in(scene, client, login):
    assert client.get("/staff/").status_code == 302
    login(scene["citizen"])
    for path in ["/staff/", "/staff/steinkjer/", "/staff/people",
                 f"/staff/equipment/{scene['printer'].id}/edit", "/staff/admin/certifications"]:
        assert client.get(path).status_code == 404, path


def test_admin_sees_every_branch_and_admin_links(scene, client, login):
    login(scene["admin"])
    html = client.get("/staff/").get_data(as_text=True)
    assert "/staff/steinkjer/" in html and "/staff/levanger/" in html
    assert 'id="new-branch-link"' in html and 'id="certifications-link"' in html
    assert client.get("/staff/levanger/").status_code == 200


# -- equipment ----------------------------------------------------------------------------


def test_create_and_edit_equipment(scene, client, login, app):
    with app.app_context():
        create_certification(slug="laser-basic", name="Laserkutter – grunnkurs")
        db.session.commit()
    login(scene["librarian"])
    assert client.get("/staff/steinkjer/equipment/new").status_code == 200

    response = client.post("/staff/steinkjer/equipment/new",
                           data=equipment_data(requires_certification="laser-basic"))
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/steinkjer/"
    with app.app_context():
        laser = db.session.scalar(select(Equipment).where(Equipment.name == "Glowforge Pro"))
        assert laser.branch.slug == "steinkjer" and laser.kind == "laser-cutter"
        assert (laser.buffer_minutes, laser.max_advance_days, laser.min_age) == (15, 21, 15)
        assert laser.requires_certification.slug == "laser-basic"
        laser_id = laser.id

    edit = client.get(f"/staff/equipment/{laser_id}/edit")
    assert edit.status_code == 200
    assert '<option selected value="laser-basic">' in edit.get_data(as_text=True)
    response = client.post(f"/staff/equipment/{laser_id}/edit", data=equipment_data(
        name="Glowforge Pro II", min_minutes="30", min_age=""))
    assert response.status_code == 302
    with app.app_context():
        laser = db.session.get(Equipment, laser_id)
        assert laser.name == "Glowforge Pro II" and laser.min_minutes == 30
        assert laser.min_age is None and laser.requires_certification is None

    login(scene["other_librarian"])
    assert client.get(f"/staff/equipment/{laser_id}/edit").status_code == 404
    assert client.post(f"/staff/equipment/{laser_id}/edit",
                       data=equipment_data(name="Hijack")).status_code == 404
    assert client.get("/staff/steinkjer/equipment/new").status_code == 404


def test_invalid_equipment_rules_are_422_with_the_reason(scene, client, login, app):
    login(scene["librarian"])
    response = client.post("/staff/steinkjer/equipment/new",
                           data=equipment_data(min_minutes="45"), headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert 'class="problem"' in response.get_data(as_text=True)

    printer_id = scene["printer"].id
    response = client.post(f"/staff/equipment/{printer_id}/edit",
                           data=equipment_data(name="Prusa", max_minutes="30"))
    assert response.status_code == 422
    assert 'class="error-summary"' in response.get_data(as_text=True)
    response = client.post(f"/staff/equipment/{printer_id}/edit",
                           data=equipment_data(slot_minutes="", kind="toaster"))
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Equipment).where(Equipment.name == "Glowforge Pro")) \
            is None
        assert db.session.get(Equipment, printer_id).name == "Prusa MK4"


def test_outage_cancels_bookings_in_the_period_and_return_ends_it(
        scene, client, login, app, make_booking):
    hit = make_booking(scene["printer"], scene["citizen"], utc(12, 12))
    spared = make_booking(scene["printer"], scene["citizen"], utc(12, 17))
    login(scene["librarian"])
    printer_id = scene["printer"].id
    assert client.get(f"/staff/equipment/{printer_id}/edit").status_code == 200

    period = {"from_date": TODAY, "from_time": "09:30", "until_date": TODAY,
              "until_time": "15:00", "reason": "Broken nozzle"}
    # first who is affected, and a question; nothing changes yet
    asked = client.post(f"/staff/equipment/{printer_id}/outage", data=period)
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert 'id="impact-summary"' in page and "Kari Nordmann" in page
    assert 'name="confirmed" value="yes"' in page
    with app.app_context():
        assert db.session.get(Booking, hit.id).status == BookingStatus.CONFIRMED
        assert db.session.scalar(select(EquipmentOutage)) is None
    response = client.post(f"/staff/equipment/{printer_id}/outage",
                           data={**period, "confirmed": "yes"})
    assert response.status_code == 302
    with app.app_context():
        cancelled = db.session.get(Booking, hit.id)
        assert cancelled.status == BookingStatus.CANCELLED
        assert cancelled.cancel_reason == "Broken nozzle"
        assert db.session.get(Booking, spared.id).status == BookingStatus.CONFIRMED
        outage = db.session.scalar(select(EquipmentOutage))
        assert (outage.start_at, outage.end_at) == (utc(12, 9, 30), utc(12, 15))
    assert "out-of-service" in client.get("/staff/steinkjer/").get_data(as_text=True)

    response = client.post(f"/staff/equipment/{printer_id}/return")
    assert response.status_code == 302
    with app.app_context():
        outage = db.session.scalar(select(EquipmentOutage))
        assert outage.end_at == NOW  # it had begun: it ends now
    assert "in-service" in client.get("/staff/steinkjer/").get_data(as_text=True)


def test_outage_form_errors_are_422(scene, client, login):
    login(scene["librarian"])
    path = f"/staff/equipment/{scene['printer'].id}/outage"
    no_reason = client.post(path, data={"from_date": TODAY, "from_time": "10:00", "reason": ""})
    assert no_reason.status_code == 422
    backwards = client.post(path, data={"from_date": TODAY, "from_time": "10:00",
                                        "until_date": TODAY, "until_time": "09:00",
                                        "reason": "Service"})
    assert backwards.status_code == 422
    assert 'class="problem"' in backwards.get_data(as_text=True)
    bad_time = client.post(path, data={"from_date": TODAY, "from_time": "25:99",
                                       "reason": "Service"})
    assert bad_time.status_code == 422
    login(scene["other_librarian"])
    assert client.post(path, data={"from_date": TODAY, "from_time": "10:00",
                                   "reason": "x"}).status_code == 404


# -- opening hours and closures -----------------------------------------------------------


def test_weekly_hours_and_settings(scene, client, login, app):
    login(scene["librarian"])
    page = client.get("/staff/steinkjer/hours")
    assert page.status_code == 200 and 'value="08:00"' in page.get_data(as_text=True)

    response = client.post("/staff/steinkjer/hours", data={
        **hours_data(mon=[("09:00", "12:00"), ("13:00", "16:00")], sat=[("10:00", "24:00")]),
        "max_upcoming_bookings": "5"})
    assert response.status_code == 302
    with app.app_context():
        branch = db.session.scalar(select(Branch).where(Branch.slug == "steinkjer"))
        monday, tuesday, *_rest, saturday, _sunday = hours_for_days(branch, date(2025, 3, 17), 7)
        assert monday.minutes == ((540, 720), (780, 960))
        assert tuesday.closed and saturday.minutes == ((600, 1440),)
        assert branch.max_upcoming_bookings == 5 and branch.closed_on_public_holidays


@pytest.mark.parametrize("day", [
    [("25:00", "26:00")],                   # not a time of day: field error
    [("16:00", "08:00")],                   # the service refuses it
    [("08:00", "12:00"), ("11:00", "14:00")],  # overlapping intervals
    [("08:00", "")],                        # half an interval
])
def test_invalid_weekly_hours_are_422_and_change_nothing(scene, client, login, app, day):
    login(scene["librarian"])
    response = client.post("/staff/steinkjer/hours", data=hours_data(mon=day))
    assert response.status_code == 422
    assert 'class="error-summary"' in response.get_data(as_text=True)
    with app.app_context():
        branch = db.session.scalar(select(Branch).where(Branch.slug == "steinkjer"))
        assert hours_for_days(branch, date(2025, 3, 17), 1)[0].minutes == ((480, 1200),)


def test_closures_and_special_hours(scene, client, login, app):
    login(scene["librarian"])
    closed = client.post("/staff/steinkjer/closures", data={
        "day": "2025-03-17", "closed": "y", "reason": "Staff training"})
    assert closed.status_code == 302
    special = client.post("/staff/steinkjer/closures", data={
        "day": "2025-03-18", "opens": "10:00", "closes": "14:00", "reason": ""})
    assert special.status_code == 302
    with app.app_context():
        branch = db.session.scalar(select(Branch).where(Branch.slug == "steinkjer"))
        monday, tuesday = hours_for_days(branch, date(2025, 3, 17), 2)
        assert monday.closed and monday.exception == "Staff training"
        assert tuesday.minutes == ((600, 840),)

    html = client.get("/staff/steinkjer/closures").get_data(as_text=True)
    assert 'id="day-2025-03-17"' in html and "Staff training" in html
    assert 'id="day-2025-03-18"' in html

    assert client.post("/staff/steinkjer/closures/remove",
                       data={"day": "2025-03-17"}).status_code == 302
    with app.app_context():
        branch = db.session.scalar(select(Branch).where(Branch.slug == "steinkjer"))
        assert hours_for_days(branch, date(2025, 3, 17), 1)[0].minutes == ((480, 1200),)

    refused = client.post("/staff/steinkjer/closures", data={
        "day": "2025-03-19", "opens": "14:00", "closes": "10:00"})
    assert refused.status_code == 422
    neither = client.post("/staff/steinkjer/closures", data={"day": "2025-03-19"})
    assert neither.status_code == 422
    login(scene["other_librarian"])
    assert client.get("/staff/steinkjer/closures").status_code == 404
    assert client.post("/staff/steinkjer/closures/remove",
                       data={"day": "2025-03-18"}).status_code == 404


def test_closures_page_lists_public_holidays(scene, client, login, app, frozen_clock):
    with app.app_context():
        db.session.scalar(select(Branch).where(Branch.slug == "steinkjer")) \
            .closed_on_public_holidays = True
        db.session.commit()
    login(scene["librarian"])
    html = client.get("/staff/steinkjer/closures").get_data(as_text=True)
    # Easter 2025: Maundy Thursday 17 April is within the 90 days shown.
    assert 'id="day-2025-04-17" class="holiday"' in html


# -- bookings -----------------------------------------------------------------------------


def _known_at_steinkjer(scene, make_booking):  # type: ignore[no-untyped-def]
    """Kari booked at Steinkjer once (cancelled): the library knows her."""
    return make_booking(scene["printer"], scene["citizen"], utc(12, 9),
                        status=BookingStatus.CANCELLED)


def test_walk_in_booking_for_a_citizen_by_email(scene, client, login, app, make_booking):
    login(scene["librarian"])
    assert client.get("/staff/steinkjer/book").status_code == 200
    data = {"equipment": str(scene["printer"].id), "email": "KARI@example.no",
            "day": TODAY, "start": "14:00", "minutes": "60"}
    stranger = client.post("/staff/steinkjer/book", data=data)
    assert stranger.status_code == 422  # not known here yet: the same as no account
    _known_at_steinkjer(scene, make_booking)
    response = client.post("/staff/steinkjer/book", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/steinkjer/?date={TODAY}"
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(
            Booking.status == BookingStatus.CONFIRMED))
        assert booking.user_id == scene["citizen"].id
        assert booking.created_by_id == scene["librarian"].id
        assert (booking.start_at, booking.end_at) == (utc(12, 14), utc(12, 15))

    conflict = client.post("/staff/steinkjer/book", data=data)
    assert conflict.status_code == 422
    html = conflict.get_data(as_text=True)
    assert 'class="problem"' in html and 'id="suggestions-heading"' in html
    unknown = client.post("/staff/steinkjer/book", data={**data, "email": "nobody@example.no"})
    assert unknown.status_code == 422
    off_grid = client.post("/staff/steinkjer/book", data={**data, "start": "16:10"})
    assert off_grid.status_code == 422
    with app.app_context():
        assert len(db.session.scalars(select(Booking)).all()) == 2


def test_walk_in_offers_only_this_branchs_machines(scene, client, login, make_equipment):
    elsewhere = make_equipment(scene["other"], name="Levanger printer")
    login(scene["librarian"])
    response = client.post("/staff/steinkjer/book", data={
        "equipment": str(elsewhere.id), "email": "kari@example.no", "day": TODAY,
        "start": "14:00", "minutes": "60"})
    assert response.status_code == 422
    assert "Levanger printer" not in response.get_data(as_text=True)


def test_staff_cancel_needs_a_reason(scene, client, login, app, make_booking):
    booking = make_booking(scene["printer"], scene["citizen"], utc(12, 12))
    path = f"/staff/bookings/{booking.id}/cancel"
    login(scene["other_librarian"])
    assert client.post(path, data={"reason": "Not mine"}).status_code == 404

    login(scene["librarian"])
    assert client.post(path, data={"reason": "  "}).status_code == 302
    with app.app_context():
        assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    response = client.post(path, data={"reason": "The printer is booked for a course"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/steinkjer/"
    with app.app_context():
        cancelled = db.session.get(Booking, booking.id)
        assert cancelled.status == BookingStatus.CANCELLED
        assert cancelled.cancel_reason == "The printer is booked for a course"
        assert cancelled.cancelled_by_id == scene["librarian"].id
    again = client.post(path, data={"reason": "Twice"})  # NotCancellable: flashed, no 500
    assert again.status_code == 302


# -- certifications -----------------------------------------------------------------------


def test_grant_certification_and_look_it_up(scene, client, login, app, make_booking):
    _known_at_steinkjer(scene, make_booking)
    with app.app_context():
        create_certification(slug="laser-basic", name="Laserkutter – grunnkurs",
                             valid_months=24)
        db.session.commit()
    login(scene["librarian"])
    assert client.get("/staff/steinkjer/certifications/grant").status_code == 200
    response = client.post("/staff/steinkjer/certifications/grant", data={
        "email": "kari@example.no", "certification": "laser-basic", "note": "Course 11 March"})
    assert response.status_code == 302
    with app.app_context():
        held = db.session.scalar(select(UserCertification))
        assert held.user_id == scene["citizen"].id
        assert held.granted_by_id == scene["librarian"].id and held.note == "Course 11 March"

    page = client.get("/staff/people?email=Kari@example.no")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="valid" id="held-laser-basic"' in html and "Kari Nordmann" in html
    missing = client.get("/staff/people?email=nobody@example.no").get_data(as_text=True)
    assert 'class="no-account"' in missing

    unknown = client.post("/staff/steinkjer/certifications/grant", data={
        "email": "nobody@example.no", "certification": "laser-basic"})
    assert unknown.status_code == 422
    login(scene["other_librarian"])
    assert client.get("/staff/steinkjer/certifications/grant").status_code == 404


# -- admin --------------------------------------------------------------------------------


def test_admin_creates_a_branch_and_a_certification(scene, client, login, app):
    login(scene["admin"])
    assert client.get("/staff/admin/branches/new").status_code == 200
    response = client.post("/staff/admin/branches/new", data={
        "slug": "roros", "name": "Røros bibliotek", "municipality": "Røros",
        "timezone": "Europe/Oslo", "closed_on_public_holidays": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/roros/hours"
    taken = client.post("/staff/admin/branches/new", data={
        "slug": "roros", "name": "Røros", "municipality": "Røros", "timezone": "Europe/Oslo"})
    assert taken.status_code == 422
    bad_zone = client.post("/staff/admin/branches/new", data={
        "slug": "oppdal", "name": "Oppdal", "municipality": "Oppdal", "timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 422

    assert client.get("/staff/admin/certifications").status_code == 200
    response = client.post("/staff/admin/certifications", data={
        "slug": "vinyl-basic", "name": "Vinylkutter – grunnkurs", "valid_months": "12"})
    assert response.status_code == 302
    bad_slug = client.post("/staff/admin/certifications", data={
        "slug": "Vinyl Basic!", "name": "X"})
    assert bad_slug.status_code == 422
    assert 'id="certification-vinyl-basic"' in client.get(
        "/staff/admin/certifications").get_data(as_text=True)
    with app.app_context():
        branch = db.session.scalar(select(Branch).where(Branch.slug == "roros"))
        assert branch.name == "Røros bibliotek" and branch.closed_on_public_holidays
        certification = db.session.scalar(select(Certification))
        assert (certification.slug, certification.valid_months) == ("vinyl-basic", 12)


def test_librarians_cannot_use_admin_pages(scene, client, login, app):
    login(scene["librarian"])
    assert client.get("/staff/admin/branches/new").status_code == 404
    assert client.post("/staff/admin/branches/new", data={
        "slug": "roros", "name": "Røros", "municipality": "Røros",
        "timezone": "Europe/Oslo"}).status_code == 404
    assert client.post("/staff/admin/certifications", data={
        "slug": "x", "name": "X"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Branch).where(Branch.slug == "roros")) is None
        assert db.session.scalar(select(Certification)) is None


# -- forms carry CSRF tokens --------------------------------------------------------------


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_every_staff_form_carries_a_token_and_a_post_without_is_refused(
            self, scene, client, login, make_booking):
        make_booking(scene["printer"], scene["citizen"], utc(12, 12))
        login(scene["admin"])
        printer_id = scene["printer"].id
        for path in ["/staff/steinkjer/", "/staff/steinkjer/equipment/new",
                     f"/staff/equipment/{printer_id}/edit", "/staff/steinkjer/hours",
                     "/staff/steinkjer/closures", "/staff/steinkjer/book",
                     "/staff/steinkjer/certifications/grant", "/staff/admin/branches/new",
                     "/staff/admin/certifications"]:
            html = client.get(path).get_data(as_text=True)
            forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", html, re.S)
            assert forms, path
            for form in forms:
                assert 'name="csrf_token"' in form, path
        response = client.post(f"/staff/equipment/{printer_id}/outage", data={
            "from_date": TODAY, "from_time": "10:00", "reason": "No token"})
        assert response.status_code in (400, 422)
