"""The connection in the API: the branch's staff set, read and remove it; the key goes in and
never comes out; others get 404; the equipment API takes and shows it (to staff only). And a
PrusaLink machine (recorded answers) through the poller: start checks in, finish frees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import Role
from makerspace.booking.models import Booking, BookingStatus
from makerspace.extensions import db
from makerspace.machines.models import MachineConnection
from makerspace.machines.poller import MachinePoller
from tests.helpers import bearer
from tests.machine_standins import prusalink_finished, prusalink_printing, recorded_server

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEY = "PL-SECRET-9f8e7d"


@pytest.fixture(name="scene")
def scene_fixture(frozen_clock, open_branch, make_equipment, make_user, make_token):  # type: ignore[no-untyped-def]
    frozen_clock.set(START - timedelta(hours=1))
    branch = open_branch("hoved")
    other = open_branch("annen")
    printer = make_equipment(branch, name="Prusa MK4")
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[branch])
    outsider = make_user("out@example.no", role=Role.LIBRARIAN, branches=[other])
    citizen = make_user("kari@example.no")
    return {"branch": branch, "printer": printer, "staff": make_token(librarian),
            "outsider": make_token(outsider), "citizen": make_token(citizen),
            "citizen_user": citizen}


def test_staff_connect_a_machine_and_the_key_never_comes_back(client, scene):
    path = f"/api/v1/equipment/{scene['printer'].id}/connection"
    answer = client.put(path, headers=bearer(scene["staff"]), json={
        "kind": "prusalink", "url": "http://10.0.0.12/", "api_key": KEY,
        "check_in_on_start": False})
    assert answer.status_code == 200, answer.json
    assert answer.json["has_api_key"] is True and answer.json["url"] == "http://10.0.0.12"
    assert answer.json["check_in_on_start"] is False and answer.json["finish_on_end"] is True
    assert answer.json["status"] == "unknown" and answer.json["job"] is None
    for shown in (client.get(path, headers=bearer(scene["staff"])),
                  client.get(f"/api/v1/equipment/{scene['printer'].id}",
                             headers=bearer(scene["staff"])),
                  client.get("/api/v1/branches/hoved/equipment", headers=bearer(scene["staff"]))):
        assert shown.status_code == 200
        assert KEY not in shown.get_data(as_text=True)
        assert '"api_key"' not in shown.get_data(as_text=True)
    assert client.get(f"/api/v1/equipment/{scene['printer'].id}",
                      headers=bearer(scene["staff"])).json["connection"]["kind"] == "prusalink"
    # the public and other branches' staff see nothing of it
    public = client.get(f"/api/v1/equipment/{scene['printer'].id}")
    assert "connection" not in public.json
    assert "connection" not in client.get(f"/api/v1/equipment/{scene['printer'].id}",
                                          headers=bearer(scene["outsider"])).json
    for token in ("outsider", "citizen"):
        assert client.get(path, headers=bearer(scene[token])).status_code == 404
        assert client.put(path, headers=bearer(scene[token]), json={
            "kind": "octoprint", "url": "http://evil.example"}).status_code == 404
        assert client.delete(path, headers=bearer(scene[token])).status_code == 404
    assert client.delete(path, headers=bearer(scene["staff"])).status_code == 204
    assert client.get(path, headers=bearer(scene["staff"])).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "bambu", "url": "http://10.0.0.2"}, "kind"),
    ({"kind": "octoprint", "url": "gopher://10.0.0.2"}, "url"),
    ({"kind": "octoprint", "url": "http://10.0.0.2/?apikey=x"}, "url")])
def test_a_bad_connection_is_a_problem_with_its_field(client, scene, body, field):
    answer = client.put(f"/api/v1/equipment/{scene['printer'].id}/connection",
                        headers=bearer(scene["staff"]), json=body)
    assert answer.status_code == 422
    assert answer.json["code"] == "invalid_connection" and answer.json["field"] == field


def test_a_new_machine_can_come_with_its_connection(client, scene):
    answer = client.post("/api/v1/branches/hoved/equipment", headers=bearer(scene["staff"]),
                         json={"name": "Voron", "kind": "3d-printer", "connection": {
                             "kind": "moonraker", "url": "http://voron.local:7125",
                             "api_key": KEY}})
    assert answer.status_code == 201, answer.json
    assert answer.json["connection"]["kind"] == "moonraker"
    assert answer.json["connection"]["has_api_key"] is True
    assert KEY not in answer.get_data(as_text=True)


@pytest.mark.commits
def test_a_prusalink_job_checks_in_and_its_end_frees_the_rest(app, client, scene, make_booking):
    booking = make_booking(scene["printer"], scene["citizen_user"], START, minutes=120)
    with recorded_server() as (url, recorded):
        recorded.answers = prusalink_printing(12.0)
        client.put(f"/api/v1/equipment/{scene['printer'].id}/connection",
                   headers=bearer(scene["staff"]),
                   json={"kind": "prusalink", "url": url, "api_key": KEY})
        poller = MachinePoller(app)
        try:
            with app.app_context():
                clock.freeze(START + timedelta(minutes=11))  # started 10 min ago: 10:01
                assert poller.poll_once().answered == 1
                assert recorded.seen[0][1]["X-Api-Key"] == KEY
                found = db.session.get(Booking, booking.id)
                assert found.status == BookingStatus.CHECKED_IN
                recorded.answers = prusalink_finished()
                clock.freeze(START + timedelta(minutes=45))
                db.session.execute(select(MachineConnection)).scalar_one().next_poll_at = None
                db.session.commit()
                assert poller.poll_once().answered == 1
                db.session.expire_all()
                found = db.session.get(Booking, booking.id)
                assert found.end_at == START + timedelta(minutes=45)
        finally:
            poller.stop()
