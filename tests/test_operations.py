"""What an operator reads: one JSON line per request with its id, the id on error pages, and
Prometheus metrics for the right scrapers only."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from makerspace.booking.models import Booking
from makerspace.core.request_log import JsonLines
from makerspace.extensions import db
from tests.helpers import bearer

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo


def request_lines(caplog) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(JsonLines().format(r)) for r in caplog.records
            if r.name == "makerspace.requests"]


def test_one_json_line_per_request_names_the_route_not_the_secret(client, caplog):
    caplog.set_level(logging.INFO, logger="makerspace.requests")
    response = client.get("/calendar/me/s3cret-feed-token.ics")
    lines = request_lines(caplog)
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET" and line["route"] == "/calendar/me/<token>.ics"
    assert line["status"] == response.status_code
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "info" and line["logger"] == "makerspace.requests"
    assert "s3cret" not in json.dumps(line)


def test_a_proxys_request_id_is_kept_a_strange_one_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-Id": "edge-4f2a9c1b"})
    assert kept.headers["X-Request-Id"] == "edge-4f2a9c1b"
    replaced = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert replaced.headers["X-Request-Id"] != "<script>"
    assert len(replaced.headers["X-Request-Id"]) == 32
    other = client.get("/healthz")
    assert other.headers["X-Request-Id"] != replaced.headers["X-Request-Id"]


def test_the_error_page_shows_the_reference_to_quote(client):
    response = client.get("/branches/no-such-branch", headers={"Accept-Language": "nb"})
    assert response.status_code == 404
    reference = response.headers["X-Request-Id"]
    page = response.get_data(as_text=True)
    assert reference in page and "referansen" in page
    english = client.get("/branches/no-such-branch", headers={"Accept-Language": "en"})
    assert "quote the reference" in english.get_data(as_text=True)


def test_secrets_in_log_messages_are_redacted(app, caplog):
    caplog.set_level(logging.INFO, logger="makerspace")
    client = app.test_client()
    client.get("/checkin/abcdefghijklmnopqrstuvwxyz0123456789ABCD")
    text = "\n".join(JsonLines().format(r) for r in caplog.records)
    assert "abcdefghijklmnopqrstuvwxyz0123456789ABCD" not in text


# -- /metrics ------------------------------------------------------------------------------

def scrape(client, **kwargs) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    samples: dict[str, dict] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_metrics_only_for_the_machine_itself_without_a_token(client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert outside.status_code == 404


def test_metrics_with_a_token_need_the_token_even_from_loopback(app, client):
    app.config["METRICS_TOKEN"] = "scrape-me-please"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=bearer("wrong")).status_code == 404
    samples = scrape(client, headers=bearer("scrape-me-please"),
                     environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert "folkeverksted_outbox_messages" in samples


def test_request_latency_is_counted_by_route_pattern(client):
    before = scrape(client)
    for _ in range(3):
        client.get("/branches/")
    after = scrape(client)
    labels = {"method": "GET", "route": "/branches/", "status": "200"}
    name = "folkeverksted_request_duration_seconds_count"
    assert value(after, name, **labels) - value(before, name, **labels) == 3
    assert not any("/metrics" in dict(key).get("route", "") for key in after.get(name, {}))


def test_bookings_check_ins_and_outbox_are_counted_when_committed(
        app, client, frozen_clock, open_branch, make_equipment, make_user, make_token):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    printer = make_equipment(branch, name="Prusa")
    citizen = make_user("kari@example.no")
    librarian = make_user("lib@example.no", role="librarian", branches=[branch])
    before = scrape(client)
    start = NOW + timedelta(hours=2)
    body = {"equipment_id": printer.id, "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat()}
    booked = client.post("/api/v1/bookings", json=body, headers=bearer(make_token(citizen)))
    assert booked.status_code == 201
    refused = client.post("/api/v1/bookings", json=body, headers=bearer(make_token(citizen)))
    assert refused.status_code == 409  # rolled back: not counted
    frozen_clock.set(start - timedelta(minutes=5))
    with app.app_context():
        code = db.session.get(Booking, booked.get_json()["id"]).checkin_token
    checked = client.post("/api/v1/checkins", json={"code": code},
                          headers=bearer(make_token(librarian)))
    assert checked.get_json()["result"] == "checked_in"
    after = scrape(client)
    made = "folkeverksted_bookings_made_total"
    assert value(after, made) - value(before, made) == 1
    checkins = "folkeverksted_checkins_total"
    assert value(after, checkins, kind="booking") - value(before, checkins, kind="booking") == 1
    assert value(after, "folkeverksted_outbox_messages", status="pending") >= 1
    assert value(after, "folkeverksted_outbox_oldest_pending_seconds") >= 5 * 60
    assert "folkeverksted_db_pool_connections_in_use" in after


def test_no_shows_are_counted(app, client, frozen_clock, make_equipment, make_user,
                              make_booking):
    from makerspace.jobs import run_tick

    frozen_clock.set(NOW)
    booking = make_booking(make_equipment(), make_user(), NOW + timedelta(hours=1))
    assert booking.id
    before = scrape(client)
    frozen_clock.set(NOW + timedelta(hours=3))
    with app.app_context():
        run_tick()
    after = scrape(client)
    name = "folkeverksted_no_shows_total"
    assert value(after, name) - value(before, name) == 1


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz"])
def test_operator_endpoints_set_no_session_cookie(client, path):
    response = client.get(path)
    assert "Set-Cookie" not in response.headers
