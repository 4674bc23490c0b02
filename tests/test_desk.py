"""The librarian's desk (issue 16): the day grid and its API, landing after log-in, guest
bookings and their slip, overrides with a reason (each audited), attendance tools, the
out-of-service question and e-mail, retiring a machine, a temporary closure, invitations and
roles, and readable outbox kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from makerspace.accounts.invitations import (
    Invitation,
    LastAdmin,
    accept_invitation,
    invitation_token,
    set_role,
)
from makerspace.accounts.models import Role, User
from makerspace.booking import errors as booking_errors
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.booking.services import (
    create_booking,
    create_guest_booking,
    retire_equipment,
    take_out_of_service,
)
from makerspace.branches.models import Branch
from makerspace.checkin import services as checkin
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.events.models import Signup, SignupStatus
from makerspace.events.services import create_event, give_seat_out_of_turn, sign_up
from makerspace.extensions import db
from makerspace.mail.links import make_link
from makerspace.mail.models import OutboxMessage
from makerspace.privacy.services import sweep_retention
from tests.helpers import bearer, matches
from tests.test_api import assert_problem

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo
DAY = "2026-11-30"


def oslo(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour - 1, minute, tzinfo=UTC) + timedelta(days=days)


@pytest.fixture
def desk(frozen_clock, open_branch, make_equipment, make_user, make_token, make_booking):
    frozen_clock.set(NOW)
    branch = open_branch("hoved", name="Hovedbiblioteket")
    other = open_branch("annen", name="Annet bibliotek")
    printer = make_equipment(branch, name="Prusa MK4")
    second = make_equipment(branch, name="Bambu X1")
    citizen = make_user("kari@example.no", name="Kari Nordmann")
    librarian = make_user("lib@example.no", name="Liv Bibliotekar", role=Role.LIBRARIAN,
                          branches=[branch])
    outsider = make_user("other@example.no", role=Role.LIBRARIAN, branches=[other])
    admin = make_user("admin@example.no", name="Ada Admin", role=Role.ADMIN)
    booking = make_booking(printer, citizen, oslo(10))
    return {"branch": branch, "other": other, "printer": printer, "second": second,
            "citizen": citizen, "librarian": librarian, "outsider": outsider, "admin": admin,
            "booking": booking, "tokens": {name: make_token(u) for name, u in (
                ("citizen", citizen), ("librarian", librarian), ("outsider", outsider),
                ("admin", admin))}}


def _get(model, id_):
    return db.session.get(model, id_)


# -- GET /api/v1/branches/<slug>/day -------------------------------------------------------

def test_day_api_shows_names_to_the_branchs_staff_only(client, desk):
    path = f"/api/v1/branches/hoved/day?date={DAY}"
    answer = client.get(path, headers=bearer(desk["tokens"]["librarian"]))
    assert answer.status_code == 200
    body = answer.get_json()
    matches(body, "Day")
    assert body["date"] == DAY
    printer = next(e for e in body["equipment"] if e["name"] == "Prusa MK4")
    assert printer["bookings"] == [{"id": desk["booking"].id, "start": "2026-11-30T09:00:00+00:00",
                                    "end": "2026-11-30T10:00:00+00:00", "status": "confirmed",
                                    "name": "Kari Nordmann"}]
    assert body["events"] == []
    assert client.get(path, headers=bearer(desk["tokens"]["admin"])).status_code == 200
    for who in ("citizen", "outsider"):
        assert_problem(client.get(path, headers=bearer(desk["tokens"][who])), 404, "not_found")
    assert_problem(client.get(path), 401, "unauthorized")
    assert_problem(client.get("/api/v1/branches/nowhere/day",
                              headers=bearer(desk["tokens"]["admin"])), 404, "unknown_branch")
    assert_problem(client.get("/api/v1/branches/hoved/day?date=30.11.2026",
                              headers=bearer(desk["tokens"]["admin"])), 422, "invalid_input")
    # the default is today, and another day has its own bookings
    assert client.get("/api/v1/branches/hoved/day", headers=bearer(
        desk["tokens"]["librarian"])).get_json()["date"] == DAY
    tomorrow = client.get("/api/v1/branches/hoved/day?date=2026-12-01",
                          headers=bearer(desk["tokens"]["librarian"])).get_json()
    assert all(e["bookings"] == [] for e in tomorrow["equipment"])


def test_day_api_lists_the_days_courses_with_seats_and_attendance(app, client, desk):
    with app.app_context():
        event = create_event(branch=_get(Branch, desk["branch"].id), title="Laserkurs",
                             start=oslo(12), end=oslo(14), capacity=4)
        sign_up(event=event, user=_get(User, desk["citizen"].id))
        db.session.commit()
    body = client.get(f"/api/v1/branches/hoved/day?date={DAY}",
                      headers=bearer(desk["tokens"]["librarian"])).get_json()
    [course] = body["events"]
    assert (course["title"], course["capacity"], course["confirmed"], course["seats_left"],
            course["attended"]) == ("Laserkurs", 4, 1, 3, 0)


# -- guest bookings ------------------------------------------------------------------------

def test_guest_booking_through_the_api(app, client, desk):
    path = "/api/v1/branches/hoved/guest-bookings"
    body = {"equipment_id": desk["printer"].id, "start": "2026-11-30T11:00",
            "end": "2026-11-30T12:00", "name": "Ola (9 år)", "phone": "+47 900 00 000"}
    created = client.post(path, json=body, headers=bearer(desk["tokens"]["librarian"]))
    assert created.status_code == 201
    answer = created.get_json()
    assert answer["checkin_url"].startswith("http") and "/c/" in answer["checkin_url"].lower()
    assert "Ola" not in created.get_data(as_text=True)
    with app.app_context():
        booking = _get(Booking, answer["id"])
        assert booking.user_id is None and booking.is_guest
        assert (booking.guest_name, booking.guest_phone) == ("Ola (9 år)", "+47 900 00 000")
        assert answer["checkin_url"].endswith(booking.checkin_token)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.booking_id == booking.id))
        assert entry.action == AuditAction.GUEST_BOOKED
        # a guest has no address: nothing in the outbox
        assert db.session.scalar(select(OutboxMessage)) is None
    # the same rule codes as any booking; the database refuses the overlap
    assert_problem(client.post(path, json=body, headers=bearer(desk["tokens"]["librarian"])),
                   409, "conflict")
    assert_problem(client.post(path, json={**body, "start": "2026-11-30T11:10"},
                               headers=bearer(desk["tokens"]["librarian"])), 422, "off_grid")
    assert_problem(client.post(path, json={**body, "start": "2026-11-30T07:00",
                                           "end": "2026-11-30T08:00"},
                               headers=bearer(desk["tokens"]["librarian"])), 422, "in_past")
    assert_problem(client.post(path, json={**body, "name": ""},
                               headers=bearer(desk["tokens"]["librarian"])), 422,
                   "invalid_input")
    for who in ("citizen", "outsider"):
        assert_problem(client.post(path, json=body, headers=bearer(desk["tokens"][who])), 403,
                       "forbidden")
    # a machine of another branch is not found here
    assert_problem(client.post("/api/v1/branches/annen/guest-bookings", json=body,
                               headers=bearer(desk["tokens"]["admin"])), 404, "not_found")
    # public answers say "busy", never who
    public = client.get(f"/api/v1/equipment/{desk['printer'].id}/availability?from={DAY}&days=1")
    assert "Ola" not in public.get_data(as_text=True)
    # the day shows the guest by name to staff
    day = client.get(f"/api/v1/branches/hoved/day?date={DAY}",
                     headers=bearer(desk["tokens"]["librarian"])).get_json()
    names = [b["name"] for e in day["equipment"] for b in e["bookings"]]
    assert "Ola (9 år)" in names


def test_a_guest_booking_and_a_citizens_cannot_overlap(app, desk):
    with app.app_context():
        printer = _get(Equipment, desk["printer"].id)
        create_guest_booking(equipment=printer, start=oslo(13), end=oslo(14), name="Gjest",
                             by=_get(User, desk["librarian"].id))
        with pytest.raises(booking_errors.BookingConflict):
            create_booking(user=_get(User, desk["citizen"].id), equipment=printer,
                           start=oslo(13, 30), end=oslo(14, 30))
        db.session.rollback()


def test_guests_cannot_book_machines_that_need_a_certification(app, desk, make_equipment):
    from makerspace.certifications.services import create_certification
    with app.app_context():
        cert = create_certification(slug="laser", name="Laserkurs")
        db.session.commit()
        cert_id = cert.id
    laser = make_equipment(desk["branch"], name="Epilog", kind="laser-cutter")
    with app.app_context():
        from makerspace.certifications.models import Certification
        machine = _get(Equipment, laser.id)
        machine.requires_certification = _get(Certification, cert_id)
        with pytest.raises(booking_errors.NotCertified):
            create_guest_booking(equipment=machine, start=oslo(13), end=oslo(14), name="G",
                                 by=_get(User, desk["librarian"].id))
        db.session.rollback()


def test_the_retention_sweep_anonymises_guest_bookings(app, desk):
    with app.app_context():
        booking = create_guest_booking(
            equipment=_get(Equipment, desk["printer"].id), start=oslo(13), end=oslo(14),
            name="Ola", phone="900", by=_get(User, desk["librarian"].id))
        db.session.commit()
        booking_id, token = booking.id, booking.checkin_token
        report = sweep_retention(NOW + timedelta(days=89))
        assert _get(Booking, booking_id).guest_name == "Ola"  # not yet
        report = sweep_retention(NOW + timedelta(days=91))
        assert report.bookings >= 1
        db.session.expire_all()
        gone = _get(Booking, booking_id)
        assert (gone.guest_name, gone.guest_phone, gone.user_id) == (None, None, None)
        assert gone.is_guest and gone.checkin_token.startswith("anon-")
        assert checkin.find_by_token(token) is None
        db.session.rollback()


def test_guest_booking_page_from_a_free_cell_and_its_slip(app, client, login, desk):
    login(desk["librarian"])
    day = client.get("/staff/hoved/").get_data(as_text=True)
    assert 'id="day-grid"' in day and "Kari Nordmann" in day
    cell = (f'/staff/hoved/guest?equipment={desk["second"].id}&amp;date={DAY}'
            f'&amp;time=11:00')
    assert cell in day
    form = client.get(cell.replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="11:00"' in form and f'<option selected value="{desk["second"].id}"' in form
    refused = client.post("/staff/hoved/guest", data={
        "equipment": desk["second"].id, "day": DAY, "start": "11:10", "minutes": "60",
        "name": "Ola"})
    assert refused.status_code == 422
    done = client.post("/staff/hoved/guest", data={
        "equipment": desk["second"].id, "day": DAY, "start": "11:00", "minutes": "60",
        "name": "Ola", "phone": "900 00 000"})
    assert done.status_code == 302 and "/slip" in done.headers["Location"]
    slip = client.get(done.headers["Location"])
    page = slip.get_data(as_text=True)
    assert slip.status_code == 200 and "Ola" in page and "qr.svg" in page
    assert slip.headers["Cache-Control"] == "private, no-store"
    assert "Ola" in client.get("/staff/hoved/").get_data(as_text=True)
    login(desk["outsider"])
    assert client.get(done.headers["Location"]).status_code == 404


def test_a_guest_is_checked_in_by_the_scan_station(app, client, login, desk):
    with app.app_context():
        booking = create_guest_booking(
            equipment=_get(Equipment, desk["second"].id), start=oslo(9), end=oslo(10),
            name="Ola", by=_get(User, desk["librarian"].id))
        db.session.commit()
        token = booking.checkin_token
    login(desk["librarian"])
    answer = client.post("/staff/hoved/scan", data={"code": token})
    assert answer.status_code == 200 and "Ola" in answer.get_data(as_text=True)


# -- the day page and landing --------------------------------------------------------------

def test_staff_land_where_they_work(client, desk):
    from tests.conftest import PASSWORD
    answer = client.post("/login", data={"email": "lib@example.no", "password": PASSWORD})
    assert answer.headers["Location"] == "/staff/start"
    assert client.get("/staff/start").headers["Location"] == "/staff/hoved/"
    client.post("/logout")
    answer = client.post("/login", data={"email": "admin@example.no", "password": PASSWORD})
    assert answer.headers["Location"] == "/staff/start"
    assert client.get("/staff/start").headers["Location"] == "/staff/"
    client.post("/logout")
    answer = client.post("/login", data={"email": "kari@example.no", "password": PASSWORD})
    assert answer.headers["Location"] == "/"


def test_day_page_moves_between_days_and_refuses_nonsense_kindly(client, login, desk):
    login(desk["librarian"])
    today = client.get("/staff/hoved/").get_data(as_text=True)
    assert 'id="next-day"' in today and "date=2026-12-01" in today
    assert 'data-url="/staff/hoved/?date=2026-11-30&amp;part=day"' in today
    tomorrow = client.get("/staff/hoved/?date=2026-12-01").get_data(as_text=True)
    assert "Kari Nordmann" not in tomorrow and 'id="today-link"' in tomorrow
    part = client.get(f"/staff/hoved/?date={DAY}&part=day").get_data(as_text=True)
    assert part.startswith("{#") is False and "<html" not in part and 'id="day-live"' in part
    bad = client.get("/staff/hoved/?date=tomorrow")
    assert bad.status_code == 422 and 'id="date-error"' in bad.get_data(as_text=True)
    login(desk["outsider"])
    assert client.get("/staff/hoved/").status_code == 404
    login(desk["citizen"])
    assert client.get("/staff/hoved/").status_code == 404


# -- overrides, each audited ---------------------------------------------------------------

def _entries(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_quota_override_needs_staff_and_a_reason_and_is_audited(app, desk, make_booking):
    for hour in (12, 14, 16):
        make_booking(desk["printer"], desk["citizen"], oslo(hour, days=1))
    with app.app_context():
        citizen, printer = _get(User, desk["citizen"].id), _get(Equipment, desk["printer"].id)
        librarian = _get(User, desk["librarian"].id)
        with pytest.raises(booking_errors.QuotaExceeded):
            create_booking(user=citizen, equipment=printer, start=oslo(12, days=2),
                           end=oslo(13, days=2), booked_by=librarian)
        db.session.rollback()
        with pytest.raises(booking_errors.NotStaff):
            create_booking(user=citizen, equipment=printer, start=oslo(12, days=2),
                           end=oslo(13, days=2), quota_override="I want more")
        db.session.rollback()
        booking = create_booking(user=_get(User, desk["citizen"].id),
                                 equipment=_get(Equipment, desk["printer"].id),
                                 start=oslo(12, days=2), end=oslo(13, days=2),
                                 booked_by=_get(User, desk["librarian"].id),
                                 quota_override="Skoleprosjekt")
        [entry] = _entries(AuditAction.QUOTA_OVERRIDDEN)
        assert (entry.booking_id, entry.actor_id, entry.subject_user_id, entry.detail) == (
            booking.id, desk["librarian"].id, desk["citizen"].id, "Skoleprosjekt")
        db.session.rollback()


def test_quota_override_on_the_walk_in_page_shows_on_the_day(client, login, desk, make_booking):
    for hour in (12, 14, 16):
        make_booking(desk["printer"], desk["citizen"], oslo(hour))
    login(desk["librarian"])
    data = {"equipment": desk["second"].id, "email": "kari@example.no", "day": DAY,
            "start": "18:00", "minutes": "60"}
    refused = client.post("/staff/hoved/book", data=data)
    assert refused.status_code == 422 and 'id="quota-override"' in refused.get_data(as_text=True)
    done = client.post("/staff/hoved/book", data={**data, "quota_override": "Skoleprosjekt"})
    assert done.status_code == 302
    day = client.get("/staff/hoved/").get_data(as_text=True)
    assert "day-override" in day and "Skoleprosjekt" in day


def test_too_early_answer_names_the_person_and_checks_in_anyway(app, client, login, desk):
    login(desk["librarian"])
    with app.app_context():
        token = _get(Booking, desk["booking"].id).checkin_token
    early = client.post("/staff/hoved/scan", data={"code": token})  # 09:00, opens 09:45
    page = early.get_data(as_text=True)
    assert early.status_code == 422 and 'data-result="too_early"' in page
    assert "Kari Nordmann" in page and "Prusa MK4" in page and 'id="anyway-form"' in page
    no_reason = client.post("/staff/hoved/scan/anyway", data={"code": token, "reason": ""})
    assert no_reason.status_code == 422
    done = client.post("/staff/hoved/scan/anyway", data={"code": token,
                                                         "reason": "Maskinen var ledig"})
    assert done.status_code == 200 and 'data-result="checked_in"' in done.get_data(as_text=True)
    with app.app_context():
        assert _get(Booking, desk["booking"].id).status == BookingStatus.CHECKED_IN
        [entry] = _entries(AuditAction.CHECKED_IN_EARLY)
        assert (entry.booking_id, entry.detail) == (desk["booking"].id, "Maskinen var ledig")
    day = client.get("/staff/hoved/").get_data(as_text=True)
    assert "Maskinen var ledig" in day
    # another library's code is refused the same as before, anyway or not
    login(desk["outsider"])
    assert client.post("/staff/annen/scan/anyway", data={
        "code": token, "reason": "x"}).status_code == 422


def test_late_check_in_of_a_no_show_takes_the_machine_back_and_is_audited(
        app, desk, frozen_clock):
    frozen_clock.set(oslo(10, 30))
    with app.app_context():
        checkin.sweep_bookings()
        db.session.commit()
        assert _get(Booking, desk["booking"].id).status == BookingStatus.NO_SHOW
        token = _get(Booking, desk["booking"].id).checkin_token
        librarian = _get(User, desk["librarian"].id)
        with pytest.raises(checkin.TooLate):
            checkin.check_in(token, by=librarian)
        db.session.rollback()
        with pytest.raises(checkin.ReasonRequired):
            checkin.check_in(token, by=_get(User, desk["librarian"].id), anyway="  ")
        db.session.rollback()
        result = checkin.check_in(token, by=_get(User, desk["librarian"].id),
                                  anyway="Bussen var sen")
        assert result.result == "checked_in"
        [entry] = _entries(AuditAction.CHECKED_IN_LATE)
        assert entry.detail == "Bussen var sen" and entry.booking_id == desk["booking"].id
        db.session.rollback()


def test_a_seat_out_of_turn_is_audited_and_told(app, desk, make_user):
    with app.app_context():
        event = create_event(branch=_get(Branch, desk["branch"].id), title="Sykurs",
                             start=oslo(12), end=oslo(14), capacity=1)
        sign_up(event=event, user=_get(User, desk["citizen"].id))
        first = sign_up(event=event, user=_get(User, make_user("a@example.no").id))
        second = sign_up(event=event, user=_get(User, make_user("b@example.no").id))
        assert second.status == SignupStatus.WAITLISTED and first.queue_number < \
            second.queue_number
        from makerspace.events import errors as event_errors
        with pytest.raises(event_errors.ReasonRequired):
            give_seat_out_of_turn(second, by=_get(User, desk["librarian"].id), reason="")
        seated = give_seat_out_of_turn(second, by=_get(User, desk["librarian"].id),
                                       reason="Trenger det til jobb")
        assert seated.status == SignupStatus.CONFIRMED
        [entry] = _entries(AuditAction.SEAT_OUT_OF_TURN)
        assert (entry.signup_id, entry.detail) == (second.id, "Trenger det til jobb")
        assert db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "signup_promoted",
            OutboxMessage.to_email == "b@example.no")) is not None
        db.session.rollback()


# -- attendance ----------------------------------------------------------------------------

def test_attendance_all_present_door_csv_and_message(app, client, login, desk, make_user,
                                                     frozen_clock, make_booking):
    walk_in = make_user("door@example.no", name="Dora Dør")
    make_booking(desk["printer"], walk_in, oslo(18))  # known at the branch
    with app.app_context():
        event = create_event(branch=_get(Branch, desk["branch"].id), title="Loddekurs",
                             start=oslo(9, 30), end=oslo(11), capacity=3)
        sign_up(event=event, user=_get(User, desk["citizen"].id))
        sign_up(event=event, user=_get(User, make_user("p@example.no", name="Per").id))
        db.session.commit()
        event_id = event.id
    frozen_clock.set(oslo(9, 20))
    login(desk["librarian"])
    page = client.get(f"/staff/events/{event_id}/attendees").get_data(as_text=True)
    assert 'id="all-present"' in page and 'id="attendees-csv"' in page
    assert client.post(f"/staff/events/{event_id}/all-present").status_code == 302
    with app.app_context():
        assert all(s.attended_at for s in db.session.scalars(select(Signup).where(
            Signup.event_id == event_id)))
        assert len(_entries(AuditAction.ATTENDED)) == 2
    door = client.post(f"/staff/events/{event_id}/door", data={"email": "door@example.no"})
    assert door.status_code == 302
    with app.app_context():
        [added] = _entries(AuditAction.ADDED_AT_DOOR)
        assert _get(Signup, added.signup_id).attended_at is not None
    stranger = client.post(f"/staff/events/{event_id}/door", data={"email": "x@example.no"})
    assert stranger.status_code == 302
    csv = client.get(f"/staff/events/{event_id}/attendees.csv")
    assert csv.mimetype == "text/csv" and "Kari Nordmann" in csv.get_data(as_text=True)
    assert "Dora Dør" in csv.get_data(as_text=True)
    sent = client.post(f"/staff/events/{event_id}/message",
                       data={"subject": "Ta med briller", "body": "Vi lodder i dag."})
    assert sent.status_code == 302
    with app.app_context():
        messages = list(db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "course_message")))
        assert len(messages) == 3
        assert all("Vi lodder i dag." in m.text_body for m in messages)
        assert messages[0].subject == "Loddekurs: Ta med briller"
    login(desk["outsider"])
    assert client.get(f"/staff/events/{event_id}/attendees.csv").status_code == 404
    assert client.post(f"/staff/events/{event_id}/all-present").status_code == 404


# -- before a machine goes out of service; retiring it ------------------------------------

def test_out_of_service_mail_offers_free_times_on_a_machine_of_the_same_kind(app, desk):
    with app.app_context():
        take_out_of_service(_get(Equipment, desk["printer"].id), start=oslo(9),
                            end=oslo(12), reason="Ødelagt dyse",
                            by=_get(User, desk["librarian"].id))
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "booking_out_of_service"))
        assert "Ødelagt dyse" in message.text_body
        assert "Bambu X1" in message.text_body  # the other 3D printer, free at 10:00
        db.session.rollback()


def test_retiring_a_machine_keeps_it_and_stops_bookings(app, client, login, desk):
    login(desk["librarian"])
    printer_id = desk["printer"].id
    assert client.post(f"/staff/equipment/{printer_id}/retire",
                       data={"reason": ""}).status_code == 302
    with app.app_context():
        assert _get(Equipment, printer_id).retired_at is None
    assert client.post(f"/staff/equipment/{printer_id}/retire",
                       data={"reason": "Erstattet av en ny"}).status_code == 302
    with app.app_context():
        assert _get(Equipment, printer_id).retired_at is not None
        assert _get(Booking, desk["booking"].id).status == BookingStatus.CANCELLED
        [entry] = _entries(AuditAction.EQUIPMENT_RETIRED)
        assert "Erstattet" in entry.detail
        with pytest.raises(booking_errors.OutOfService):
            create_guest_booking(equipment=_get(Equipment, printer_id), start=oslo(15),
                                 end=oslo(16), name="G", by=_get(User, desk["librarian"].id))
        db.session.rollback()
        with pytest.raises(booking_errors.NotStaff):
            retire_equipment(_get(Equipment, desk["second"].id), reason="x",
                             by=_get(User, desk["outsider"].id))
    listed = client.get("/api/v1/branches/hoved/equipment").get_json()
    assert [e["name"] for e in listed] == ["Bambu X1"]
    assert 'id="retired-machines"' in client.get("/staff/hoved/").get_data(as_text=True)


# -- a temporary closure -------------------------------------------------------------------

def test_a_temporary_closure_shows_a_notice_and_refuses_bookings(app, client, login, desk):
    login(desk["librarian"])
    answer = client.post("/staff/hoved/closure", data={
        "notice": "Stengt for oppussing", "from_date": "2026-12-01", "until_date": ""})
    assert answer.status_code == 302
    assert "Stengt for oppussing" in client.get("/staff/hoved/").get_data(as_text=True)
    assert "Stengt for oppussing" in client.get("/branches/hoved").get_data(as_text=True)
    with app.app_context():
        with pytest.raises(booking_errors.OutsideOpeningHours):
            create_booking(user=_get(User, desk["citizen"].id),
                           equipment=_get(Equipment, desk["printer"].id),
                           start=oslo(12, days=2), end=oslo(13, days=2))
        db.session.rollback()
        assert _entries(AuditAction.BRANCH_CLOSED)
    assert client.post("/staff/hoved/closure/end").status_code == 302
    assert "Stengt for oppussing" not in client.get("/branches/hoved").get_data(as_text=True)
    assert client.post("/staff/hoved/closure", data={
        "notice": "", "from_date": "2026-12-01"}).status_code == 422
    login(desk["outsider"])
    assert client.get("/staff/hoved/closure").status_code == 404


# -- invitations and roles -----------------------------------------------------------------

def test_invitation_api_and_the_link_that_makes_a_librarian(app, client, desk):
    path = "/api/v1/invitations"
    body = {"email": "Ny@Example.no", "role": "librarian", "branches": ["hoved"]}
    assert_problem(client.post(path, json=body, headers=bearer(desk["tokens"]["librarian"])),
                   403, "forbidden")
    assert_problem(client.post(path, json={**body, "branches": []},
                               headers=bearer(desk["tokens"]["admin"])), 422,
                   "invalid_invitation")
    assert_problem(client.post(path, json={**body, "role": "king"},
                               headers=bearer(desk["tokens"]["admin"])), 422, "invalid_input")
    assert_problem(client.post(path, json={**body, "branches": ["nowhere"]},
                               headers=bearer(desk["tokens"]["admin"])), 404, "unknown_branch")
    created = client.post(path, json=body, headers=bearer(desk["tokens"]["admin"]))
    assert created.status_code == 201
    answer = created.get_json()
    assert (answer["email"], answer["role"], answer["branches"]) == (
        "ny@example.no", "librarian", ["hoved"])
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "staff_invitation"))
        assert message.to_email == "ny@example.no" and "secret-link.invalid" in message.text_body
        link = make_link(message)
        assert "/invitations/" in link
        [entry] = _entries(AuditAction.STAFF_INVITED)
        assert entry.actor_id == desk["admin"].id
    token = link.rsplit("/", 1)[1]
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 200 and "Hovedbiblioteket" in page.get_data(as_text=True)
    from tests.conftest import PASSWORD
    accepted = client.post(f"/invitations/{token}", data={
        "name": "Nina Ny", "password": PASSWORD, "password_again": PASSWORD})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/staff/start"
    assert client.get("/staff/start").headers["Location"] == "/staff/hoved/"
    assert client.get("/staff/hoved/").status_code == 200
    assert client.get("/staff/annen/").status_code == 404  # only their branch
    with app.app_context():
        nina = db.session.scalar(select(User).where(User.email == "ny@example.no"))
        assert nina.role == Role.LIBRARIAN and [b.slug for b in nina.branches] == ["hoved"]
        assert nina.email_verified_at is not None
        assert _entries(AuditAction.INVITATION_ACCEPTED)
    # it works once
    assert client.get(f"/invitations/{token}").status_code == 400
    assert client.get("/invitations/forged-token").status_code == 400


def test_a_new_invitation_replaces_the_old_one(app, desk):
    from makerspace.accounts.invitations import invite_staff
    with app.app_context():
        admin = _get(User, desk["admin"].id)
        old = invite_staff(email="x@example.no", role="admin", branches=[], by=admin)
        old_token = invitation_token(old)
        invite_staff(email="x@example.no", role="admin", branches=[], by=admin)
        from makerspace.accounts.tokens import InvalidLink
        with pytest.raises(InvalidLink):
            accept_invitation(old_token, name="X", password="correct horse battery staple 9")
        db.session.rollback()
        assert db.session.scalar(select(Invitation)) is None


def test_roles_and_branches_by_admins_and_the_last_admin_stays(app, client, login, desk):
    with app.app_context():
        with pytest.raises(LastAdmin):
            set_role(_get(User, desk["admin"].id), Role.CITIZEN, by=_get(User, desk["admin"].id))
        db.session.rollback()
    login(desk["admin"])
    team = client.get("/staff/team").get_data(as_text=True)
    assert "Liv Bibliotekar" in team and 'id="invite-form"' in team
    refused = client.post(f"/staff/team/{desk['admin'].id}/role", data={"role": "librarian"})
    assert refused.status_code == 302
    with app.app_context():
        assert _get(User, desk["admin"].id).role == Role.ADMIN
    lib = desk["librarian"].id
    client.post(f"/staff/team/{lib}/branches", data={"branch": "annen"})
    with app.app_context():
        assert {b.slug for b in _get(User, lib).branches} == {"hoved", "annen"}
    client.post(f"/staff/team/{lib}/branches/hoved/remove")
    client.post(f"/staff/team/{lib}/role", data={"role": "admin"})
    with app.app_context():
        person = _get(User, lib)
        assert [b.slug for b in person.branches] == ["annen"] and person.role == Role.ADMIN
        actions = [e.action for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.subject_user_id == lib).order_by(AuditEntry.id))]
        assert actions == [AuditAction.BRANCH_ASSIGNED, AuditAction.BRANCH_UNASSIGNED,
                           AuditAction.ROLE_CHANGED]
    log = client.get("/staff/team").get_data(as_text=True)
    assert "Role changed (Liv Bibliotekar)" in log or "Rolle endret (Liv Bibliotekar)" in log
    # now there are two admins: one may step down, and leaves the admin pages
    stepped = client.post(f"/staff/team/{desk['admin'].id}/role", data={"role": "librarian"})
    assert stepped.headers["Location"] == "/staff/"
    with app.app_context():
        assert _get(User, desk["admin"].id).role == Role.LIBRARIAN
    login(desk["outsider"])
    assert client.get("/staff/team").status_code == 404
    assert client.get("/staff/annen/team").status_code == 200


def test_outbox_kinds_are_readable(app, client, login, desk):
    with app.app_context():
        take_out_of_service(_get(Equipment, desk["printer"].id), start=oslo(9), end=oslo(12),
                            reason="x", by=_get(User, desk["librarian"].id))
        db.session.commit()
    login(desk["admin"])
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Booking avlyst: maskinen er ute av drift" in page or \
        "Booking cancelled: machine out of service" in page
