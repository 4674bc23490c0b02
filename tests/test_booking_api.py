"""The booking API: branches, hours, equipment, availability, certifications, bookings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from makerspace.accounts.models import Role
from makerspace.booking.models import Booking, BookingStatus
from makerspace.extensions import db
from tests.helpers import bearer, matches
from tests.test_api import assert_problem

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo




@pytest.fixture
def world(frozen_clock, open_branch, make_equipment, make_user, make_token):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    printer = make_equipment(branch, name="Prusa", buffer_minutes=30)
    citizen = make_user("kari@example.no")
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[branch])
    admin = make_user("admin@example.no", role=Role.ADMIN)
    outsider = make_user("other-lib@example.no", role=Role.LIBRARIAN,
                         branches=[open_branch("annen")])
    return {
        "branch": branch, "printer": printer, "citizen": citizen,
        "citizen_token": make_token(citizen), "librarian_token": make_token(librarian),
        "admin_token": make_token(admin), "outsider_token": make_token(outsider),
    }


def post_booking(client, token, equipment_id, start, end, **extra):
    return client.post("/api/v1/bookings", headers=bearer(token),
                       json={"equipment_id": equipment_id, "start": start, "end": end, **extra})


def test_admin_creates_a_branch_others_may_not(client, world):
    body = {"slug": "malvik", "name": "Malvik bibliotek", "municipality": "Malvik"}
    assert_problem(client.post("/api/v1/branches", json=body), 401, "unauthorized")
    assert_problem(client.post("/api/v1/branches", json=body,
                               headers=bearer(world["librarian_token"])), 403, "forbidden")
    created = client.post("/api/v1/branches", json=body, headers=bearer(world["admin_token"]))
    assert created.status_code == 201
    assert created.get_json()["timezone"] == "Europe/Oslo"
    matches(created.get_json(), "Branch")
    assert_problem(client.post("/api/v1/branches", json=body,
                               headers=bearer(world["admin_token"])), 409, "branch_exists")
    assert_problem(client.post("/api/v1/branches", json={**body, "slug": "Bad Slug!"},
                               headers=bearer(world["admin_token"])), 422, "invalid_slug")
    assert_problem(client.post("/api/v1/branches", data="not json",
                               headers=bearer(world["admin_token"])), 400, "invalid_json")


def test_opening_hours_by_the_branchs_staff(client, world):
    weekly = {"weekly": {"mon": [["08:00", "20:00"]], "tue": [["10:00", "12:00"],
                                                             ["13:00", "24:00"]], "sun": []}}
    path = "/api/v1/branches/hoved/opening-hours"
    assert_problem(client.put(path, json=weekly, headers=bearer(world["outsider_token"])), 403,
                   "forbidden")
    saved = client.put(path, json=weekly, headers=bearer(world["librarian_token"]))
    assert saved.status_code == 200
    assert saved.get_json()["weekly"]["tue"] == [["10:00", "12:00"], ["13:00", "24:00"]]
    assert saved.get_json()["weekly"]["wed"] == []
    assert client.get(path).get_json() == saved.get_json()
    bad = client.put(path, json={"weekly": {"mon": [["20:00", "08:00"]]}},
                     headers=bearer(world["librarian_token"]))
    assert_problem(bad, 422, "invalid_hours")
    assert_problem(client.put(path, json={"weekly": {"mon": "08-20"}},
                              headers=bearer(world["librarian_token"])), 422, "invalid_hours")


def test_equipment_list_and_create(client, world):
    listed = client.get("/api/v1/branches/hoved/equipment")
    assert listed.status_code == 200
    [printer] = listed.get_json()
    matches(printer, "Equipment")
    assert printer["status"] == "in_service" and printer["slot_minutes"] == 30
    client.post("/api/v1/certifications", json={"slug": "laser", "name": "Laserkurs"},
                headers=bearer(world["admin_token"]))
    body = {"name": "Epilog", "kind": "laser-cutter", "min_age": 15,
            "requires_certification": "laser", "buffer_minutes": 15}
    assert_problem(client.post("/api/v1/branches/hoved/equipment", json=body,
                               headers=bearer(world["citizen_token"])), 403, "forbidden")
    created = client.post("/api/v1/branches/hoved/equipment", json=body,
                          headers=bearer(world["librarian_token"]))
    assert created.status_code == 201
    assert created.get_json()["requires_certification"] == "laser"
    assert created.get_json()["min_age"] == 15
    assert_problem(client.post("/api/v1/branches/hoved/equipment",
                               json={"name": "X", "kind": "toaster"},
                               headers=bearer(world["librarian_token"])), 422, "invalid_rules")
    assert_problem(client.post("/api/v1/branches/hoved/equipment",
                               json={"name": "X", "kind": "other", "slot_minutes": "30"},
                               headers=bearer(world["librarian_token"])), 422, "invalid_input")


def test_availability_is_public_and_anonymous(client, world, make_booking):
    make_booking(world["printer"], world["citizen"], datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    response = client.get(f"/api/v1/equipment/{world['printer'].id}/availability"
                          "?from=2026-12-01&days=1")
    assert response.status_code == 200
    body = response.get_json()
    matches(body, "Availability")
    assert body["busy"] == [{"start": "2026-12-01T09:00:00+00:00",
                             "end": "2026-12-01T10:30:00+00:00"}]
    assert body["free"][0] == {"start": "2026-12-01T07:00:00+00:00",
                               "end": "2026-12-01T09:00:00+00:00"}
    assert "kari" not in response.get_data(as_text=True)
    assert_problem(client.get(f"/api/v1/equipment/{world['printer'].id}/availability"
                              "?from=yesterday"), 422, "invalid_input")
    assert_problem(client.get(f"/api/v1/equipment/{world['printer'].id}/availability?days=0"),
                   422, "invalid_input")
    assert_problem(client.get("/api/v1/equipment/999999/availability"), 404, "not_found")


def test_book_get_list_and_cancel(client, world, app):
    token, printer = world["citizen_token"], world["printer"]
    assert_problem(post_booking(client, None or "fv_x", printer.id, "2026-12-01T10:00",
                                "2026-12-01T11:00"), 401, "invalid_token")
    created = post_booking(client, token, printer.id, "2026-12-01T10:00", "2026-12-01T11:00")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    matches(body, "Booking")
    # a time without offset is read in the branch's zone (Oslo, UTC+1 in December)
    assert body["start"] == "2026-12-01T09:00:00+00:00" and body["status"] == "confirmed"
    assert client.get(f"/api/v1/bookings/{body['id']}", headers=bearer(token)).status_code == 200
    assert_problem(client.get(f"/api/v1/bookings/{body['id']}",
                              headers=bearer(world["outsider_token"])), 404, "not_found")
    mine = client.get("/api/v1/me/bookings", headers=bearer(token)).get_json()
    assert [b["id"] for b in mine] == [body["id"]]
    assert_problem(client.delete(f"/api/v1/bookings/{body['id']}",
                                 headers=bearer(world["outsider_token"])), 404, "not_found")
    cancelled = client.delete(f"/api/v1/bookings/{body['id']}", headers=bearer(token))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert_problem(client.delete(f"/api/v1/bookings/{body['id']}", headers=bearer(token)), 409,
                   "not_cancellable")


@pytest.mark.parametrize(
    ("start", "end", "status", "code"),
    [
        ("2026-12-01T10:00+01:00", "2026-12-01T10:30+01:00", 422, "too_short"),
        ("2026-12-01T10:00+01:00", "2026-12-01T15:00+01:00", 422, "too_long"),
        ("2026-12-01T10:10+01:00", "2026-12-01T11:10+01:00", 422, "off_grid"),
        ("2026-12-01T06:00+01:00", "2026-12-01T07:00+01:00", 422, "outside_opening_hours"),
        ("2026-11-29T10:00+01:00", "2026-11-29T11:00+01:00", 422, "in_past"),
        ("2026-12-20T10:00+01:00", "2026-12-20T11:00+01:00", 422, "too_far_ahead"),
        ("tomorrow", "2026-12-01T11:00", 422, "invalid_input"),
    ],
)
def test_rule_breaches_have_codes(client, world, start, end, status, code):
    response = post_booking(client, world["citizen_token"], world["printer"].id, start, end)
    body = assert_problem(response, status, code)
    if code != "invalid_input":
        assert body["suggestions"], "time refusals offer the nearest free periods"


def test_conflict_quota_certification_and_age(client, world, make_user, make_token, app):
    printer, token = world["printer"], world["citizen_token"]
    assert post_booking(client, token, printer.id, "2026-12-01T10:00",
                        "2026-12-01T11:00").status_code == 201
    other = make_token(make_user(birth_year=2016))
    body = assert_problem(post_booking(client, other, printer.id, "2026-12-01T11:00",
                                       "2026-12-01T12:00"), 409, "conflict")
    assert body["suggestions"]
    for day in ("02", "03"):
        assert post_booking(client, token, printer.id, f"2026-12-{day}T10:00",
                            f"2026-12-{day}T11:00").status_code == 201
    assert_problem(post_booking(client, token, printer.id, "2026-12-04T10:00",
                                "2026-12-04T11:00"), 422, "quota_exceeded")
    client.post("/api/v1/certifications", json={"slug": "laser", "name": "Laserkurs"},
                headers=bearer(world["admin_token"]))
    laser = client.post("/api/v1/branches/hoved/equipment",
                        json={"name": "Laser", "kind": "laser-cutter", "min_age": 15,
                              "requires_certification": "laser"},
                        headers=bearer(world["librarian_token"])).get_json()
    assert_problem(post_booking(client, other, laser["id"], "2026-12-01T10:00",
                                "2026-12-01T11:00"), 403, "too_young")
    adult = make_user("adult@example.no")
    adult_token = make_token(adult)
    body = assert_problem(post_booking(client, adult_token, laser["id"], "2026-12-01T10:00",
                                       "2026-12-01T11:00"), 403, "not_certified")
    assert body["certification"] == "laser"
    # Staff grant only to people their library knows; a stranger and a non-account look alike.
    for email in ("adult@example.no", "nobody@example.no"):
        assert_problem(client.post("/api/v1/certifications/laser/grants",
                                   json={"user_email": email},
                                   headers=bearer(world["librarian_token"])), 422,
                       "unknown_user")
    assert post_booking(client, adult_token, printer.id, "2026-12-05T10:00",
                        "2026-12-05T11:00").status_code == 201  # now known at the library
    granted = client.post("/api/v1/certifications/laser/grants",
                          json={"user_email": "adult@example.no", "note": "Kurs 1.12."},
                          headers=bearer(world["librarian_token"]))
    assert granted.status_code == 201
    matches(granted.get_json(), "Grant")
    assert_problem(client.post("/api/v1/certifications/laser/grants",
                               json={"user_email": "adult@example.no"},
                               headers=bearer(token)), 403, "forbidden")
    assert post_booking(client, adult_token, laser["id"], "2026-12-01T10:00",
                        "2026-12-01T11:00").status_code == 201


def test_staff_books_for_a_citizen_and_cancels_with_a_reason(client, world, app):
    printer = world["printer"]
    assert_problem(post_booking(client, world["librarian_token"], printer.id,
                                "2026-12-01T10:00", "2026-12-01T11:00",
                                user_email="kari@example.no"), 422, "unknown_user")
    own = post_booking(client, world["citizen_token"], printer.id, "2026-12-02T10:00",
                       "2026-12-02T11:00")  # Kari has booked here: the library knows her
    client.delete(f"/api/v1/bookings/{own.get_json()['id']}",
                  headers=bearer(world["citizen_token"]))
    walk_in = post_booking(client, world["librarian_token"], printer.id, "2026-12-01T10:00",
                           "2026-12-01T11:00", user_email="KARI@example.no")
    assert walk_in.status_code == 201
    assert_problem(post_booking(client, world["outsider_token"], printer.id, "2026-12-01T14:00",
                                "2026-12-01T15:00", user_email="kari@example.no"), 403,
                   "forbidden")
    assert_problem(post_booking(client, world["librarian_token"], printer.id,
                                "2026-12-01T14:00", "2026-12-01T15:00",
                                user_email="nobody@example.no"), 422, "unknown_user")
    booking_id = walk_in.get_json()["id"]
    assert_problem(client.delete(f"/api/v1/bookings/{booking_id}",
                                 headers=bearer(world["librarian_token"])), 422,
                   "reason_required")
    cancelled = client.delete(f"/api/v1/bookings/{booking_id}", json={"reason": "Maskinfeil"},
                              headers=bearer(world["librarian_token"]))
    assert cancelled.get_json()["cancel_reason"] == "Maskinfeil"
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.user.email == "kari@example.no"
        assert booking.status == BookingStatus.CANCELLED
        assert booking.created_by_id != booking.user_id
