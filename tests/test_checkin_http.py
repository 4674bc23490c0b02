"""Check-in through HTTP: QR images decoded by an independent reader, the scan station, the
/c/ page and its privacy, the blocks page, and the API."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import jsonschema
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from makerspace.accounts.models import User
from makerspace.booking.models import Booking, BookingBlock, BookingStatus
from makerspace.checkin.codes import new_checkin_token, typed_code
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.events.models import Event, Signup
from makerspace.extensions import db
from tests.helpers import api_document, bearer, without_csrf
from tests.test_api import assert_problem
from tests.test_checkin import START, oslo, world_fixture  # noqa: F401  (fixture)

BASE = "HTTP://127.0.0.1:5000"


def decode(png: bytes) -> str:
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return found.text


def token_of(app, booking) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Booking, booking.id).checkin_token


def status_of(app, booking) -> BookingStatus:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Booking, booking.id).status


def text(response) -> str:  # type: ignore[no-untyped-def]
    """The page, with narrow no-break spaces made plain."""
    return response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")


def scan_page(client, code: str, slug: str = "hoved"):  # type: ignore[no-untyped-def]
    return client.post(f"/staff/{slug}/scan", data={"code": code})


@pytest.fixture
def course(app, world):  # type: ignore[no-untyped-def]
    from makerspace.branches.models import Branch
    from makerspace.events.services import create_event, sign_up

    with app.app_context():
        event = create_event(branch=db.session.get(Branch, world.branch.id), title="Laserkurs",
                             start=START, end=START + timedelta(hours=2), capacity=5)
        signup = sign_up(event=event, user=db.session.get(User, world.citizen.id))
        db.session.commit()
        return event.id, signup.id, signup.checkin_token


# -- QR codes -----------------------------------------------------------------------------

def test_the_png_decodes_to_the_check_in_url_and_checks_in_at_the_station(client, app, world,
                                                                         login):
    token = token_of(app, world.booking)
    login(world.citizen)
    response = client.get(f"/bookings/{world.booking.id}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"].startswith("private")
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (296, 296)  # version 3 (29 modules) + 4-module border, 8 px each
    decoded = decode(response.data)
    assert decoded == f"{BASE}/C/{token}"

    world.clock.set(oslo(9, 58))
    login(world.librarian)
    answer = scan_page(client, decoded)
    assert answer.status_code == 200
    body = text(answer)
    assert 'class="scan-result scan-ok"' in body and 'role="status"' in body
    assert "Kari Nordmann" in body and "Prusa MK4" in body and "09:58" in body
    assert "autofocus" in body and decoded not in body  # an empty input for the next scan
    assert status_of(app, world.booking) == BookingStatus.CHECKED_IN

    again = scan_page(client, decoded)
    assert 'class="scan-result scan-warn"' in text(again)
    assert "Already checked in at 09:58" in text(again)


def test_the_booking_page_shows_the_code_to_type_and_the_station_takes_it(client, app, world,
                                                                          login):
    """No camera, no scanner: the person reads the grouped code aloud, the librarian types it."""
    token = token_of(app, world.booking)
    login(world.citizen)
    page = client.get(f"/bookings/{world.booking.id}").get_data(as_text=True)
    grouped = typed_code(token)
    assert f'<code class="typed-code">{grouped}</code>' in page
    assert len(grouped.split(" ")) == 8 and page.count(token) == 0  # only in groups

    world.clock.set(oslo(9, 58))
    login(world.librarian)
    answer = scan_page(client, grouped.lower())
    assert 'class="scan-result scan-ok"' in text(answer)
    assert status_of(app, world.booking) == BookingStatus.CHECKED_IN


def test_the_upper_case_url_opens_the_check_in_page(client, app, world, login):
    token = token_of(app, world.booking)
    login(world.librarian)
    for path in (f"/C/{token}", f"/c/{token}", f"/c/{token.lower()}"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Kari Nordmann" in text(response)


def test_svg_and_who_may_see_a_code(client, app, world, login, make_user):
    path = f"/bookings/{world.booking.id}/qr.svg"
    assert client.get(path).status_code == 302  # log in first
    login(world.citizen)
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data and b"<script" not in response.data
    login(world.librarian)
    assert client.get(path).status_code == 200
    for person in (world.neighbour, world.outsider):
        login(person)
        assert client.get(path).status_code == 404
        assert client.get(f"/bookings/{world.booking.id}/qr.png").status_code == 404
    assert client.get("/bookings/99999/qr.png").status_code == 404


def test_signup_codes(client, app, world, login, course):
    _event_id, signup_id, token = course
    login(world.citizen)
    png = client.get(f"/signups/{signup_id}/qr.png")
    assert decode(png.data) == f"{BASE}/C/{token}"
    assert client.get(f"/signups/{signup_id}/qr.svg").mimetype == "image/svg+xml"
    login(world.neighbour)
    assert client.get(f"/signups/{signup_id}/qr.png").status_code == 404
    world.clock.set(oslo(9, 50))
    login(world.librarian)
    answer = scan_page(client, decode(png.data))
    assert "Checked in" in text(answer) and "Laserkurs" in text(answer)
    with app.app_context():
        assert db.session.get(Signup, signup_id).attended_at == oslo(9, 50)


# -- the scan station ---------------------------------------------------------------------

def test_the_station_is_for_the_branchs_staff_only(client, world, login):
    assert client.get("/staff/hoved/scan").status_code == 302
    for person in (world.citizen, world.outsider):
        login(person)
        assert client.get("/staff/hoved/scan").status_code == 404
    login(world.admin)
    assert client.get("/staff/hoved/scan").status_code == 200
    assert client.get("/staff/nowhere/scan").status_code == 404
    login(world.librarian)
    page = text(client.get("/staff/hoved/scan"))
    assert "Scan or type the code" in page
    assert re.search(r'<input[^>]*autofocus[^>]*name="code"|<input[^>]*name="code"[^>]*autofocus',
                     page)
    assert 'src="/static/scan.js"' in page and 'id="camera-start" hidden' in page
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


@pytest.mark.parametrize(("moment", "setup", "expected"), [
    (oslo(9, 30), None, "Too early: check-in opens at 09:45."),
    (oslo(10, 30), None, "Too late: check-in closed at 10:15."),
    (oslo(9, 50), "cancel", "This booking or sign-up has been cancelled."),
    (oslo(9, 50), "forged", "This is not a valid check-in code."),
    (oslo(9, 50), "other-branch", "This code is for Annet bibliotek."),
])
def test_the_station_says_why_not_in_red(client, app, world, login, make_booking, moment, setup,
                                        expected):
    token = token_of(app, world.booking)
    if setup == "cancel":
        with app.app_context():
            db.session.get(Booking, world.booking.id).status = BookingStatus.CANCELLED
            db.session.commit()
    elif setup == "forged":
        token = new_checkin_token()
    elif setup == "other-branch":
        token = make_booking(world.laser, world.citizen, START).checkin_token
    world.clock.set(moment)
    login(world.librarian)
    answer = scan_page(client, f"http://127.0.0.1:5000/c/{token}")
    body = text(answer)
    assert answer.status_code == 422
    assert 'class="scan-result scan-error"' in body and 'role="alert"' in body
    assert expected in body
    if setup is None:  # too early or too late here: who and what, and "check in anyway"
        assert "Kari Nordmann" in body and 'id="anyway-form"' in body
    else:  # any other refusal names nobody
        assert "Kari Nordmann" not in body and 'id="anyway-form"' not in body


def test_a_mangled_scan_still_checks_in(client, app, world, login):
    token = token_of(app, world.booking)
    world.clock.set(oslo(9, 50))
    login(world.librarian)
    answer = scan_page(client, f"HTTP>&&127.0.0.1>5000&C&{token}")
    assert 'class="scan-result scan-ok"' in text(answer)


def test_an_empty_scan_is_a_form_error(client, world, login):
    login(world.librarian)
    answer = scan_page(client, "")
    assert answer.status_code == 422
    assert "Scan a code or type it." in text(answer)


# -- /c/<token> ---------------------------------------------------------------------------

def test_the_code_page_shows_nothing_personal_to_others(client, app, world, login):
    token = token_of(app, world.booking)
    anonymous = client.get(f"/c/{token}")
    assert anonymous.status_code == 200
    assert anonymous.headers["Cache-Control"] == "private, no-store"
    unknown = client.get(f"/c/{new_checkin_token()}")
    assert unknown.status_code == 200
    strip = re.compile(r"/c/[A-Z2-7]{32}")
    assert strip.sub("", without_csrf(text(anonymous))) == strip.sub(
        "", without_csrf(text(unknown)))
    for page in (anonymous, unknown):
        assert "Kari" not in text(page) and "Prusa" not in text(page)
    login(world.neighbour)
    assert "Kari" not in text(client.get(f"/c/{token}"))
    login(world.outsider)  # staff, but of another branch
    assert "Kari" not in text(client.get(f"/c/{token}"))


def test_the_owner_sees_their_booking_and_its_code(client, app, world, login):
    token = token_of(app, world.booking)
    login(world.citizen)
    page = text(client.get(f"/c/{token}"))
    assert "Prusa MK4" in page and "Hovedbiblioteket" in page
    assert f'src="/bookings/{world.booking.id}/qr.svg"' in page
    assert "Check in</button>" not in page


def test_the_owner_sees_a_block_and_until_when(client, app, world, login):
    with app.app_context():
        db.session.add(BookingBlock(user_id=world.citizen.id, starts_at=oslo(8),
                                    ends_at=oslo(8) + timedelta(days=30), reason="Tre ikke-møtt"))
        db.session.commit()
    login(world.citizen)
    page = text(client.get(f"/c/{token_of(app, world.booking)}"))
    assert "You may not make new bookings until" in page and "Tre ikke-møtt" in page


def test_staff_check_in_from_the_phone_camera_page(client, app, world, login):
    token = token_of(app, world.booking)
    login(world.librarian)
    page = text(client.get(f"/c/{token}"))
    assert "Kari Nordmann" in page and "Check in</button>" in page
    assert f'action="/c/{token}"' in page
    world.clock.set(oslo(9, 30))
    early = client.post(f"/c/{token}", follow_redirects=True)
    assert "Too early: check-in opens at 09:45." in text(early)
    world.clock.set(oslo(9, 47))
    done = client.post(f"/c/{token}")
    assert done.status_code == 302 and done.headers["Location"] == f"/c/{token}"
    assert status_of(app, world.booking) == BookingStatus.CHECKED_IN
    page = text(client.get(f"/c/{token}"))
    assert "Checked in: Kari Nordmann, Prusa MK4." in page
    assert "Checked in at 09:47" in page and "Check in</button>" not in page
    again = client.post(f"/c/{token.lower()}", follow_redirects=True)
    assert "Already checked in at 09:47." in text(again)
    login(world.citizen)
    assert client.post(f"/c/{token}").status_code == 404


# -- blocks -------------------------------------------------------------------------------

def test_staff_see_and_lift_a_block(client, app, world, login):
    with app.app_context():
        block = BookingBlock(user_id=world.citizen.id, starts_at=oslo(8),
                             ends_at=oslo(8) + timedelta(days=30), reason="3 ikke-møtt")
        db.session.add(block)
        db.session.commit()
        block_id = block.id
    path = f"/staff/people/{world.citizen.id}/blocks"
    login(world.citizen)
    assert client.get(path).status_code == 404
    assert client.post(f"{path}/{block_id}/lift").status_code == 404
    login(world.librarian)
    page = text(client.get(path))
    assert "Kari Nordmann" in page and "3 ikke-møtt" in page and "Lift the block" in page
    assert client.get("/staff/people/99999/blocks").status_code == 404
    assert client.post(f"/staff/people/{world.neighbour.id}/blocks/{block_id}/lift"
                       ).status_code == 404
    lifted = client.post(f"{path}/{block_id}/lift", follow_redirects=True)
    assert "The block has been lifted." in text(lifted)
    assert "Lift the block" not in text(lifted)
    with app.app_context():
        assert db.session.get(BookingBlock, block_id).lifted_by_id == world.librarian.id
        [entry] = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == AuditAction.BLOCK_LIFTED)).all()
        assert entry.actor_id == world.librarian.id


# -- the API ------------------------------------------------------------------------------

def checkin_schema() -> dict:
    document = api_document()
    operation = document["paths"]["/checkins"]["post"]
    return {**operation["responses"]["200"]["content"]["application/json"]["schema"],
            "components": document["components"]}


def test_api_check_in_with_the_decoded_png(client, app, world, make_token):
    citizen, librarian = make_token(world.citizen), make_token(world.librarian)
    png = client.get(f"/api/v1/bookings/{world.booking.id}/qr.png", headers=bearer(citizen))
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.headers["Cache-Control"].startswith("private")
    svg = client.get(f"/api/v1/bookings/{world.booking.id}/qr.svg", headers=bearer(citizen))
    assert svg.mimetype == "image/svg+xml"
    decoded = decode(png.data)
    world.clock.set(oslo(9, 58))
    response = client.post("/api/v1/checkins", json={"code": decoded}, headers=bearer(librarian))
    assert response.status_code == 200
    body = response.get_json()
    jsonschema.validate(body, checkin_schema())
    assert body == {"result": "checked_in", "kind": "booking", "id": world.booking.id,
                    "name": "Kari Nordmann", "what": "Prusa MK4", "start": START.isoformat(),
                    "end": (START + timedelta(hours=2)).isoformat(),
                    "checked_in_at": oslo(9, 58).isoformat()}
    again = client.post("/api/v1/checkins", json={"code": token_of(app, world.booking)},
                        headers=bearer(librarian)).get_json()
    assert again["result"] == "already_checked_in"
    assert again["checked_in_at"] == oslo(9, 58).isoformat()


def test_api_qr_codes_for_owner_and_staff_only(client, world, make_token, course):
    _event_id, signup_id, token = course
    path = f"/api/v1/bookings/{world.booking.id}/qr.png"
    assert_problem(client.get(path), 401, "unauthorized")
    assert_problem(client.get(path, headers=bearer(make_token(world.neighbour))), 404,
                   "not_found")
    assert client.get(path, headers=bearer(make_token(world.librarian))).status_code == 200
    signup_png = client.get(f"/api/v1/signups/{signup_id}/qr.png",
                            headers=bearer(make_token(world.citizen)))
    assert decode(signup_png.data) == f"{BASE}/C/{token}"
    assert client.get(f"/api/v1/signups/{signup_id}/qr.svg",
                      headers=bearer(make_token(world.citizen))).status_code == 200


def test_api_refusals(client, app, world, make_token, make_booking, course):
    librarian = make_token(world.librarian)
    token = token_of(app, world.booking)

    def post(code, who=librarian):  # type: ignore[no-untyped-def]
        return client.post("/api/v1/checkins", json={"code": code}, headers=bearer(who))

    assert_problem(client.post("/api/v1/checkins", json={"code": token}), 401, "unauthorized")
    assert_problem(post(token, make_token(world.citizen)), 403, "forbidden")
    assert_problem(post(new_checkin_token()), 400, "invalid_code")
    assert_problem(post("not a code"), 400, "invalid_code")
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_problem(post(altered), 400, "invalid_code")
    assert_problem(client.post("/api/v1/checkins", json={}, headers=bearer(librarian)), 422,
                   "invalid_input")
    world.clock.set(oslo(9, 0))
    body = assert_problem(post(token), 409, "too_early")
    assert body["opens_at"] == oslo(9, 45).isoformat()
    world.clock.set(oslo(10, 30))
    body = assert_problem(post(token), 409, "too_late")
    assert body["closed_at"] == oslo(10, 15).isoformat()
    elsewhere = make_booking(world.laser, world.citizen, START + timedelta(hours=3))
    body = assert_problem(post(elsewhere.checkin_token), 403, "wrong_branch")
    assert body["branch"] == "annen" and "Kari" not in str(body)
    assert_problem(post(elsewhere.checkin_token, make_token(world.outsider)), 409, "too_early")
    with app.app_context():
        db.session.get(Booking, world.booking.id).status = BookingStatus.CANCELLED
        db.session.get(Event, course[0]).status = "cancelled"
        db.session.commit()
    assert_problem(post(token), 409, "cancelled")
    assert_problem(post(course[2]), 409, "cancelled")
    assert status_of(app, elsewhere) == BookingStatus.CONFIRMED


def test_booking_and_signup_json_carry_the_check_in_url(client, app, world, make_token,
                                                        course):
    citizen = make_token(world.citizen)
    body = client.get(f"/api/v1/bookings/{world.booking.id}", headers=bearer(citizen)).get_json()
    assert body["checkin_url"] == f"http://127.0.0.1:5000/c/{token_of(app, world.booking)}"
    signups = client.get("/api/v1/me/signups", headers=bearer(citizen)).get_json()
    assert signups[0]["checkin_url"] == f"http://127.0.0.1:5000/c/{course[2]}"
