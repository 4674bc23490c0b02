"""The events API: list, create, sign up, waitlist, leave, attendance, my sign-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from makerspace.accounts.models import Role
from tests.helpers import bearer, matches
from tests.test_api import assert_problem

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(frozen_clock, open_branch, make_user, make_token):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    open_branch("annen")
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[branch])
    admin = make_user("admin@example.no", role=Role.ADMIN)
    return {"lib": make_token(librarian), "admin": make_token(admin),
            "citizens": [make_token(make_user(f"c{i}@example.no", birth_year=1990))
                         for i in range(3)]}


def new_event(client, token, **extra):
    body = {"title": "Laserkutter – grunnkurs", "start": "2026-12-02T17:00",
            "end": "2026-12-02T19:00", "capacity": 1, **extra}
    return client.post("/api/v1/branches/hoved/events", json=body, headers=bearer(token))


def test_create_list_and_get(client, world):
    client.post("/api/v1/certifications", json={"slug": "laser", "name": "Laserkurs"},
                headers=bearer(world["admin"]))
    assert_problem(new_event(client, world["citizens"][0]), 403, "forbidden")
    created = new_event(client, world["lib"], grants_certification="laser")
    assert created.status_code == 201
    event = created.get_json()
    matches(event, "Event")
    assert event["start"] == "2026-12-02T16:00:00+00:00" and event["seats_left"] == 1
    assert event["grants_certification"] == "laser" and event["waitlist_length"] == 0
    listed = client.get("/api/v1/events?branch=hoved&from=2026-12-01").get_json()
    assert [e["id"] for e in listed] == [event["id"]]
    assert client.get("/api/v1/events?branch=annen").get_json() == []
    assert client.get("/api/v1/events?from=2026-12-03").get_json() == []
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["title"].startswith("Laser")
    assert_problem(client.get("/api/v1/events?from=soon"), 422, "invalid_input")
    assert_problem(new_event(client, world["lib"], end="2026-12-02T16:00"), 422,
                   "invalid_event")


def test_signup_waitlist_leave_and_attendance(client, world, frozen_clock):
    event_id = new_event(client, world["lib"]).get_json()["id"]
    first, second, third = world["citizens"]
    path = f"/api/v1/events/{event_id}/signups"
    confirmed = client.post(path, headers=bearer(first))
    assert confirmed.status_code == 201
    assert confirmed.get_json()["status"] == "confirmed"
    assert confirmed.get_json()["position"] is None
    matches(confirmed.get_json(), "Signup")
    assert_problem(client.post(path, headers=bearer(first)), 409, "already_signed_up")
    waiting = [client.post(path, headers=bearer(t)).get_json() for t in (second, third)]
    assert [(w["status"], w["position"]) for w in waiting] == [("waitlisted", 1),
                                                              ("waitlisted", 2)]
    event = client.get(f"/api/v1/events/{event_id}").get_json()
    assert (event["seats_left"], event["waitlist_length"]) == (0, 2)
    assert_problem(client.delete(f"/api/v1/signups/{confirmed.get_json()['id']}",
                                 headers=bearer(second)), 404, "not_found")
    left = client.delete(f"/api/v1/signups/{confirmed.get_json()['id']}", headers=bearer(first))
    assert left.status_code == 200 and left.get_json()["status"] == "cancelled"
    mine = client.get("/api/v1/me/signups", headers=bearer(second)).get_json()
    assert mine[0]["status"] == "confirmed"
    assert client.get("/api/v1/me/signups", headers=bearer(third)).get_json()[0]["position"] == 1
    promoted_id = waiting[0]["id"]
    attendance = f"/api/v1/signups/{promoted_id}/attendance"
    assert_problem(client.post(attendance, headers=bearer(second)), 404, "not_found")
    assert_problem(client.post(attendance, headers=bearer(world["lib"])), 409, "too_early")
    frozen_clock.set(datetime(2026, 12, 2, 15, 50, tzinfo=UTC))
    marked = client.post(attendance, headers=bearer(world["lib"]))
    assert marked.status_code == 200 and marked.get_json()["attended_at"]
    frozen_clock.set(datetime(2026, 12, 2, 16, 0, tzinfo=UTC))
    assert_problem(client.post(path, headers=bearer(first)), 422, "signup_closed")


def test_staff_sign_up_a_citizen_and_certifications_follow(client, world, frozen_clock):
    client.post("/api/v1/certifications", json={"slug": "laser", "name": "Laserkurs",
                                                "valid_months": 12},
                headers=bearer(world["admin"]))
    event_id = new_event(client, world["lib"], grants_certification="laser").get_json()["id"]
    # staff sign up only people their library knows (c0 took another course there first)
    assert_problem(client.post(f"/api/v1/events/{event_id}/signups",
                               json={"user_email": "c0@example.no"},
                               headers=bearer(world["lib"])), 422, "unknown_user")
    earlier = new_event(client, world["lib"]).get_json()["id"]
    client.post(f"/api/v1/events/{earlier}/signups", headers=bearer(world["citizens"][0]))
    signup = client.post(f"/api/v1/events/{event_id}/signups", json={"user_email":
                                                                     "c0@example.no"},
                         headers=bearer(world["lib"]))
    assert signup.status_code == 201
    assert_problem(client.post(f"/api/v1/events/{event_id}/signups",
                               json={"user_email": "c1@example.no"},
                               headers=bearer(world["citizens"][2])), 403, "forbidden")
    assert client.get("/api/v1/me/certifications", headers=bearer(world["citizens"][0])
                      ).get_json() == []
    frozen_clock.set(datetime(2026, 12, 2, 16, 30, tzinfo=UTC))
    client.post(f"/api/v1/signups/{signup.get_json()['id']}/attendance",
                headers=bearer(world["lib"]))
    [held] = client.get("/api/v1/me/certifications", headers=bearer(world["citizens"][0])
                        ).get_json()
    matches(held, "HeldCertification")
    assert held["certification"] == "laser" and held["valid"] is True
    assert held["expires_at"].startswith("2027-12-02")


def test_restricted_events(client, world, make_user, make_token):
    young = make_token(make_user(birth_year=2016))
    event_id = new_event(client, world["lib"], min_age=13).get_json()["id"]
    assert_problem(client.post(f"/api/v1/events/{event_id}/signups", headers=bearer(young)),
                   403, "too_young")
    client.post("/api/v1/certifications", json={"slug": "grunn", "name": "Grunnkurs"},
                headers=bearer(world["admin"]))
    gated = new_event(client, world["lib"], requires_certification="grunn").get_json()["id"]
    body = assert_problem(client.post(f"/api/v1/events/{gated}/signups",
                                      headers=bearer(world["citizens"][0])), 403,
                          "not_certified")
    assert body["certification"] == "grunn"
    later = (NOW + timedelta(days=1)).isoformat()
    not_yet = new_event(client, world["lib"], signup_opens=later).get_json()["id"]
    assert_problem(client.post(f"/api/v1/events/{not_yet}/signups",
                               headers=bearer(world["citizens"][0])), 422, "signup_closed")


def test_category_and_descriptions_in_three_languages(client, world):
    created = new_event(client, world["lib"], description="Vi kutter.",
                        description_nn="Vi kuttar.", description_en="We cut.", category="laser")
    assert created.status_code == 201
    event = created.get_json()
    matches(event, "Event")
    assert (event["description"], event["description_nn"], event["description_en"],
            event["category"]) == ("Vi kutter.", "Vi kuttar.", "We cut.", "laser")
    plain = new_event(client, world["lib"]).get_json()
    assert plain["category"] is None and plain["description_nn"] == ""
    assert_problem(new_event(client, world["lib"], category="juggling"), 422, "invalid_input")
    listed = client.get("/api/v1/events").get_json()
    assert {e["category"] for e in listed} == {"laser", None}
