"""The API base: bearer tokens, problem+json errors, public data, and a true OpenAPI document."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from makerspace.accounts.models import Role
from makerspace.booking.schemas import AvailabilityQuerySchema
from makerspace.checkin.schemas import ScanSchema
from tests.helpers import api_document, bearer, matches


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"]
    return body


def test_branches_are_public(client, make_branch):
    make_branch("steinkjer", name="Steinkjer bibliotek", municipality="Steinkjer")
    response = client.get("/api/v1/branches")
    assert response.status_code == 200
    [branch] = response.get_json()
    assert {k: branch[k] for k in ("slug", "name", "municipality", "timezone")} == {
        "slug": "steinkjer", "name": "Steinkjer bibliotek", "municipality": "Steinkjer",
        "timezone": "Europe/Oslo"}
    assert client.get("/api/v1/branches/steinkjer").get_json()["name"] == "Steinkjer bibliotek"
    assert_problem(client.get("/api/v1/branches/atlantis"), 404, "unknown_branch")


def test_me_needs_a_valid_token(client, make_user, make_token, make_branch):
    branch = make_branch("levanger")
    user = make_user("lib@example.no", name="Lib", role=Role.LIBRARIAN, branches=[branch])
    body = assert_problem(client.get("/api/v1/me"), 401, "unauthorized")
    assert body["type"].endswith("unauthorized")
    assert client.get("/api/v1/me").headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(client.get("/api/v1/me", headers=bearer("fv_not-a-token")), 401,
                   "invalid_token")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401,
                   "invalid_token")
    token = make_token(user)
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body.pop("calendar_url").startswith("http://127.0.0.1:5000/calendar/me/")
    assert body == {"email": "lib@example.no", "name": "Lib", "role": "librarian",
                    "branches": ["levanger"]}


def test_a_browser_session_is_not_an_api_credential(client, login, make_user):
    login(make_user())
    assert_problem(client.get("/api/v1/me"), 401, "unauthorized")


def test_problem_titles_follow_the_language(client):
    body = assert_problem(client.get("/api/v1/me", headers={"Accept-Language": "nb"}), 401,
                          "unauthorized")
    english = assert_problem(client.get("/api/v1/me", headers={"Accept-Language": "en"}), 401,
                             "unauthorized")
    assert body["title"] != english["title"]


def test_unknown_paths_and_methods_are_problems(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404, "not_found")
    response = client.delete("/api/v1/branches")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_openapi_document_is_valid_and_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_openapi_lists_exactly_the_api_routes(app):
    documented = {
        (path, method.upper())
        for path, item in api_document()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule.removeprefix("/api/v1")
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", f"{{{argument}}}")
            for converter in ("int", "id", "string", "path"):
                path = path.replace(f"<{converter}:{argument}>", f"{{{argument}}}")
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served


@pytest.mark.parametrize(("path", "schema", "many"), [("/api/v1/branches", "Branch", True),
                                                        ("/api/v1/me", "Me", False)])
def test_responses_match_their_schemas(client, make_user, make_token, make_branch,
                                       path, schema, many):
    make_branch()
    token = make_token(make_user())
    body = client.get(path, headers=bearer(token)).get_json()
    for item in body if many else [body]:
        matches(item, schema)


@pytest.mark.parametrize("path", [
    "/api/v1/equipment/2147483648", "/api/v1/events/99999999999999999999",
    "/api/v1/equipment/0", "/events/2147483648", "/equipment/2147483648",
    "/bookings/2147483648"])
def test_ids_beyond_the_database_are_not_found(client, login, make_user, path):
    login(make_user())
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31"])
def test_dates_far_away_are_invalid_input_not_errors(client, make_equipment, day):
    machine = make_equipment()
    assert_problem(client.get(f"/api/v1/equipment/{machine.id}/availability?from={day}"),
                   422, "invalid_input")
    assert_problem(client.get(f"/api/v1/events?from={day}"), 422, "invalid_input")


def test_bodies_that_are_not_objects_are_invalid_json(client, make_user, make_token):
    token = make_token(make_user())
    for body in ("[1, 2]", '"text"', "not json", ""):
        assert_problem(client.post("/api/v1/bookings", data=body, headers={
            **bearer(token), "Content-Type": "application/json"}), 400, "invalid_json")
    body = assert_problem(client.post("/api/v1/bookings", json={"equipment_id": "x"},
                                      headers=bearer(token)), 422, "invalid_input")
    assert set(body["errors"]) == {"equipment_id", "start", "end"}
    assert body["field"] in body["errors"]


def test_nul_characters_are_refused_not_stored(client, make_user, make_token, login):
    token = make_token(make_user())
    refused = client.post("/api/v1/bookings", headers=bearer(token), json={
        "equipment_id": 1, "start": "2026-12-01T10:00", "end": "2026-12-01T11:00",
        "user_email": "a\x00b@example.no"})
    assert_problem(refused, 422, "invalid_input")
    assert client.get("/api/v1/branches/a%00b").status_code == 404
    assert client.get("/events?branch=a%00b").status_code in (200, 400)
    assert client.post("/login", data={"email": "x\x00@example.no", "password": "y"}
                       ).status_code == 400


def test_a_schema_is_made_once_not_for_every_request(client, make_user, make_token,
                                                    make_equipment, monkeypatch):
    """webargs makes a new instance of a schema class for each request it parses (every
    field copied); the API hands it one instance, made when the endpoint is declared."""
    made: list[object] = []
    for schema in (ScanSchema, AvailabilityQuerySchema):
        making = schema.__init__

        def counted(self, *args, making=making, **kwargs):  # type: ignore[no-untyped-def]
            made.append(self)
            making(self, *args, **kwargs)

        monkeypatch.setattr(schema, "__init__", counted)
    key = make_token(make_user("lib@example.no", role=Role.LIBRARIAN))
    answers = [client.post("/api/v1/checkins", json={"code": "NOSUCHCODE"}, headers=bearer(key))
               for _ in range(3)]
    assert [a.get_json()["code"] for a in answers] == ["invalid_code"] * 3
    assert [a.status_code for a in answers] == [400] * 3
    machine = make_equipment()
    week = [client.get(f"/api/v1/equipment/{machine.id}/availability?from=2026-12-01&days={n}")
            for n in (1, 63)]
    assert [a.status_code for a in week] == [200, 422]  # 1 to 62 days
    assert "free" in week[0].get_json() and week[1].get_json()["field"] == "days"
    assert made == []
    unreadable = client.post("/api/v1/checkins", json={"code": 7}, headers=bearer(key))
    assert unreadable.status_code == 422 and unreadable.get_json()["field"] == "code"
