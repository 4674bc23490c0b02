"""Waiting for a taken slot through the pages and the API, on both databases: from the
machine's week and the booking refusal, "my bookings", the e-mail's link (one click, a
confirmation page, booked), the API's codes, CSRF, and the staff day grid."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.booking.models import Booking, BookingStatus
from makerspace.booking.services import cancel_booking
from makerspace.extensions import db
from makerspace.mail.links import make_link
from makerspace.mail.models import OutboxMessage
from makerspace.waits.models import SlotWait
from makerspace.waits.services import sweep_waits
from tests.helpers import bearer

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo
START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tuesday 16:00 in Oslo
END = START + timedelta(hours=2)
EN = {"Accept-Language": "en"}
FORM = {"date": "2026-12-01", "start": "16:00", "duration": "120"}


@pytest.fixture
def world(app, frozen_clock, open_branch, make_equipment, make_user, make_booking):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    laser = make_equipment(branch, name="Laserkutter", kind="laser-cutter", min_minutes=60,
                           max_minutes=240, buffer_minutes=0)
    owner = make_user("eier@example.no", name="Eva Eier")
    kari = make_user("kari@example.no", name="Kari Venter")
    ola = make_user("ola@example.no", name="Ola Nestemann")
    staff = make_user("stab@example.no", name="Sten Stab", role=Role.LIBRARIAN,
                      branches=[branch])
    booking = make_booking(laser, owner, START, minutes=120)
    return {"laser": laser, "owner": owner, "kari": kari, "ola": ola, "staff": staff,
            "booking": booking}


def _cancel(app, world) -> None:
    with app.app_context():
        cancel_booking(db.session.get(Booking, world["booking"].id),
                       by=db.session.get(User, world["owner"].id))
        db.session.commit()


def _wait_ids(app, user) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(SlotWait.id).where(SlotWait.user_id == user.id)))


def _hold_link(app, user) -> str:
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.user_id == user.id, OutboxMessage.kind == "slot_held"))
        return make_link(message).removeprefix(app.config["BASE_URL"])


def test_a_booked_slot_on_the_machine_page_leads_to_the_wait_form(client, app, world, login):
    login(world["kari"])
    html = client.get(f"/equipment/{world['laser'].id}", headers=EN).get_data(as_text=True)
    link = re.search(r'<a href="(/equipment/\d+/wait\?start=[^"]+)" class="slot-wait"', html)
    assert link, "a booked slot ahead offers to wait for it"
    form = client.get(link.group(1).replace("&amp;", "&"), headers=EN)
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert 'value="2026-12-01"' in body and '<option selected value="16:00">' in body


def test_the_booking_refusal_offers_to_wait_and_one_click_waits(client, app, world, login):
    login(world["kari"])
    refused = client.post(f"/equipment/{world['laser'].id}/book", data=FORM, headers=EN)
    assert refused.status_code == 409 or refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'data-code="conflict"' in html and 'id="wait-for-it"' in html
    assert f'action="/equipment/{world["laser"].id}/wait"' in html
    done = client.post(f"/equipment/{world['laser'].id}/wait", data=FORM, headers=EN)
    assert done.status_code == 302 and done.headers["Location"].endswith("/me/bookings#waits")
    mine = client.get("/me/bookings", headers=EN).get_data(as_text=True)
    [wait_id] = _wait_ids(app, world["kari"])
    assert f'id="wait-{wait_id}"' in mine and "Laserkutter" in mine


def test_a_free_slot_is_refused_with_a_link_to_book_it(client, world, login):
    login(world["kari"])
    free = {**FORM, "date": "2026-12-02"}
    response = client.post(f"/equipment/{world['laser'].id}/wait", data=free, headers=EN)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-code="slot_free"' in html and 'id="book-instead"' in html
    # The head it shares with the booking form (macros/machine_form.html).
    assert "<title>Error: Wait for a time on Laserkutter" in html
    assert '<h2>You are not waiting yet</h2>' in html and 'role="alert"' in html
    assert f'href="/equipment/{world["laser"].id}">Laserkutter</a>' in html


def test_the_e_mail_link_shows_the_hold_and_one_click_books_it(client, app, world, login):
    login(world["kari"])
    client.post(f"/equipment/{world['laser'].id}/wait", data=FORM)
    _cancel(app, world)
    link = _hold_link(app, world["kari"])
    assert link.startswith("/holds/")
    anonymous = app.test_client()  # the link works without logging in
    page = anonymous.get(link, headers=EN)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="take-hold"' in html and 'id="hold-until"' in html
    assert "Laserkutter" in html
    booked = anonymous.post(link, headers=EN)
    assert booked.status_code == 302 and booked.headers["Location"].endswith(link)
    after = anonymous.get(link, headers=EN).get_data(as_text=True)
    assert 'id="hold-taken"' in after and 'id="take-hold"' not in after
    with app.app_context():
        [mine] = db.session.scalars(select(Booking).where(
            Booking.user_id == world["kari"].id)).all()
        assert mine.status == BookingStatus.CONFIRMED and (mine.start_at, mine.end_at) == (
            START, END)
        assert db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.user_id == world["kari"].id,
            OutboxMessage.kind == "booking_confirmed")) is not None
    # a second click changes nothing
    assert anonymous.post(link, headers=EN).status_code == 409


def test_a_link_whose_hold_passed_on_says_so(client, app, world, login):
    for person in ("kari", "ola"):
        login(world[person])
        client.post(f"/equipment/{world['laser'].id}/wait", data=FORM)
        clock.freeze(NOW + timedelta(seconds=5))
    _cancel(app, world)
    link = _hold_link(app, world["kari"])
    clock.freeze(NOW + timedelta(minutes=40))
    with app.app_context():
        sweep_waits()
        db.session.commit()
    page = app.test_client().get(link, headers=EN)
    assert page.status_code == 409
    assert 'data-code="hold_expired"' in page.get_data(as_text=True)
    assert app.test_client().get("/holds/not-a-token", headers=EN).status_code == 400
    assert _hold_link(app, world["ola"]).startswith("/holds/")


def test_my_bookings_takes_and_stops_waits(client, app, world, login):
    login(world["kari"])
    client.post(f"/equipment/{world['laser'].id}/wait", data=FORM)
    [wait_id] = _wait_ids(app, world["kari"])
    # not held yet: taking is refused, and someone else cannot touch the wait
    refused = client.post(f"/me/waits/{wait_id}/take")
    assert refused.status_code == 302
    _cancel(app, world)
    mine = client.get("/me/bookings", headers=EN).get_data(as_text=True)
    assert f'id="take-{wait_id}"' in mine
    login(world["ola"])
    assert client.post(f"/me/waits/{wait_id}/take").status_code == 404
    assert client.post(f"/me/waits/{wait_id}/cancel").status_code == 404
    login(world["kari"])
    taken = client.post(f"/me/waits/{wait_id}/take")
    assert taken.status_code == 302 and "/bookings/" in taken.headers["Location"]
    assert _wait_ids(app, world["kari"]) == []


def test_staff_see_the_hold_on_the_day_grid(client, app, world, login):
    login(world["kari"])
    client.post(f"/equipment/{world['laser'].id}/wait", data=FORM)
    _cancel(app, world)
    login(world["staff"])
    html = client.get("/staff/hoved/?date=2026-12-01", headers=EN).get_data(as_text=True)
    cell = re.search(r'<td[^>]*class="[^"]*status-held[^"]*"[^>]*>(.*?)</td>', html, re.S)
    assert cell and "Kari Venter" in cell.group(1) and "Held for someone waiting" in cell.group(1)


def test_the_api_waits_lists_takes_and_deletes(client, app, world, make_token):
    token = make_token(world["kari"])
    body = {"equipment_id": world["laser"].id, "start": START.isoformat(),
            "end": END.isoformat()}
    made = client.post("/api/v1/slot-waits", json=body, headers=bearer(token))
    assert made.status_code == 201
    wait = made.get_json()
    assert (wait["status"], wait["position"], wait["hold_expires_at"]) == ("waiting", 1, None)
    again = client.post("/api/v1/slot-waits", json=body, headers=bearer(token))
    assert (again.status_code, again.get_json()["code"]) == (409, "already_waiting")
    free = {**body, "start": (START + timedelta(days=1)).isoformat(),
            "end": (END + timedelta(days=1)).isoformat()}
    answer = client.post("/api/v1/slot-waits", json=free, headers=bearer(token))
    assert (answer.status_code, answer.get_json()["code"]) == (409, "slot_free")
    off = {**body, "start": (START + timedelta(minutes=5)).isoformat()}
    answer = client.post("/api/v1/slot-waits", json=off, headers=bearer(token))
    assert (answer.status_code, answer.get_json()["code"]) == (422, "off_grid")
    taking = client.post(f"/api/v1/slot-waits/{wait['id']}/take", headers=bearer(token))
    assert (taking.status_code, taking.get_json()["code"]) == (409, "not_held")
    _cancel(app, world)
    [listed] = client.get("/api/v1/slot-waits", headers=bearer(token)).get_json()
    assert listed["status"] == "held" and listed["hold_expires_at"]
    other = make_token(world["ola"])
    assert client.get(f"/api/v1/slot-waits/{wait['id']}", headers=bearer(other)).status_code \
        == 404
    assert client.delete(f"/api/v1/slot-waits/{wait['id']}",
                         headers=bearer(other)).status_code == 404
    taken = client.post(f"/api/v1/slot-waits/{wait['id']}/take", headers=bearer(token))
    assert taken.status_code == 201
    assert taken.get_json()["status"] == "confirmed"
    assert client.get("/api/v1/slot-waits", headers=bearer(token)).get_json() == []


def test_the_api_refuses_too_many_waits(client, app, world, make_token, make_booking):
    app.config["MAX_SLOT_WAITS"] = 1
    make_booking(world["laser"], world["owner"], START + timedelta(days=1), minutes=120)
    token = make_token(world["kari"])
    for day in (0, 1):
        answer = client.post("/api/v1/slot-waits", headers=bearer(token), json={
            "equipment_id": world["laser"].id,
            "start": (START + timedelta(days=day)).isoformat(),
            "end": (END + timedelta(days=day)).isoformat()})
    assert answer.status_code == 409
    assert answer.get_json()["code"] == "too_many_waits"


def test_deleting_a_held_wait_in_the_api_passes_it_on(client, app, world, make_token):
    tokens = {p: make_token(world[p]) for p in ("kari", "ola")}
    ids = {}
    for person in ("kari", "ola"):
        ids[person] = client.post("/api/v1/slot-waits", headers=bearer(tokens[person]), json={
            "equipment_id": world["laser"].id, "start": START.isoformat(),
            "end": END.isoformat()}).get_json()["id"]
        clock.freeze(NOW + timedelta(seconds=5))
    assert client.get(f"/api/v1/slot-waits/{ids['ola']}",
                      headers=bearer(tokens["ola"])).get_json()["position"] == 2
    _cancel(app, world)
    gone = client.delete(f"/api/v1/slot-waits/{ids['kari']}", headers=bearer(tokens["kari"]))
    assert gone.status_code == 204
    assert client.get(f"/api/v1/slot-waits/{ids['ola']}",
                      headers=bearer(tokens["ola"])).get_json()["status"] == "held"


def test_the_waits_answer_in_norwegian(client, world, login):
    login(world["kari"])
    html = client.post(f"/equipment/{world['laser'].id}/wait", data={**FORM, "date": "2026-12-02"},
                       headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Vent på denne tiden" in html
    nn = client.get(f"/equipment/{world['laser'].id}/wait",
                    headers={"Accept-Language": "nn"}).get_data(as_text=True)
    assert "Vent på denne tida" in nn


class TestCsrf:
    @pytest.fixture
    def app_config(self) -> dict:
        return {"WTF_CSRF_ENABLED": True}

    def test_posts_without_a_csrf_token_change_nothing(self, client, app, world, login):
        login(world["kari"])
        assert client.post(f"/equipment/{world['laser'].id}/wait", data=FORM).status_code \
            in (400, 422)
        assert _wait_ids(app, world["kari"]) == []
        with app.app_context():
            wait = SlotWait(user_id=world["kari"].id, equipment_id=world["laser"].id,
                            start_at=START, end_at=END, created_at=NOW)
            db.session.add(wait)
            db.session.commit()
            wait_id = wait.id
        client.post(f"/me/waits/{wait_id}/cancel")
        assert _wait_ids(app, world["kari"]) == [wait_id]
        _cancel(app, world)
        link = _hold_link(app, world["kari"])
        assert app.test_client().post(link).status_code == 400
        with app.app_context():
            assert db.session.get(SlotWait, wait_id).booking.status == BookingStatus.HELD
