"""Finding free time across machines (issue 15, "Find"): the search service, the API
`GET /api/v1/availability`, the search page, "free today", the home library, the branch page
and its admin form, staffed hours, the embeddable view and CORS."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import re

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
