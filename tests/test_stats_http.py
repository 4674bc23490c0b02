"""Statistics over HTTP: the API's contract, the page and its CSV files, who may see them."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from makerspace.accounts.models import Role
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.extensions import db
from tests.helpers import bearer
from tests.test_api import assert_problem

NOW = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(app, frozen_clock, open_branch, make_equipment, make_user, make_token):
    frozen_clock.set(NOW)
    hoved = open_branch("hoved", name="Hovedbiblioteket")
    steinkjer = open_branch("steinkjer", name="Steinkjer bibliotek")
    printer = make_equipment(hoved, name="Prusa")
    laser = make_equipment(steinkjer, name="Glowforge", kind="laser-cutter")
    citizens = [make_user(f"c{n}@example.no") for n in range(6)]
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[steinkjer])
    admin = make_user("admin@example.no", role=Role.ADMIN)
    with app.app_context():
        for machine in (printer, laser):
            db.session.get(Equipment, machine.id).created_at = datetime(2024, 1, 1, tzinfo=UTC)
        start = datetime(2025, 6, 2, 8, tzinfo=UTC)
        for n, person in enumerate(citizens):
            db.session.add(Booking(equipment_id=printer.id, user_id=person.id,
                                   start_at=start + timedelta(days=n),
                                   end_at=start + timedelta(days=n, hours=2),
                                   occupied_until=start + timedelta(days=n, hours=2),
                                   status=BookingStatus.COMPLETED))
        db.session.add(Booking(equipment_id=laser.id, user_id=citizens[0].id,
                               start_at=start, end_at=start + timedelta(hours=1),
                               occupied_until=start + timedelta(hours=1),
                               status=BookingStatus.NO_SHOW))
        db.session.commit()
    return {"hoved": hoved, "steinkjer": steinkjer, "librarian": librarian, "admin": admin,
            "citizen": citizens[0], "admin_token": make_token(admin),
            "librarian_token": make_token(librarian), "citizen_token": make_token(citizens[0])}


JUNE = "from=2025-06-01&to=2025-06-30"


def test_the_api_answers_the_contract(client, world):
    answer = client.get(f"/api/v1/stats?{JUNE}&group=branch,kind,month",
                        headers=bearer(world["admin_token"]))
    assert answer.status_code == 200
    rows = answer.get_json()["rows"]
    assert [set(r) for r in rows] == [{"branch", "kind", "month", "bookings", "booked_hours",
                                       "utilisation", "no_shows", "cancellations",
                                       "distinct_citizens"}] * 2
    hoved, steinkjer = rows
    assert (hoved["branch"], hoved["kind"], hoved["month"]) == ("hoved", "3d-printer",
                                                                 "2025-06")
    # open 08:00-20:00 every day of June: 360 h; 6 bookings of 2 h
    assert (hoved["bookings"], hoved["booked_hours"], hoved["utilisation"]) == (
        6, 12, round(12 / 360, 4))
    assert hoved["distinct_citizens"] == 6
    assert (steinkjer["no_shows"], steinkjer["booked_hours"]) == (1, 0)
    assert steinkjer["distinct_citizens"] == "<5"


def test_a_grouping_left_out_is_absent(client, world):
    rows = client.get(f"/api/v1/stats?{JUNE}&group=kind",
                      headers=bearer(world["admin_token"])).get_json()["rows"]
    assert [r["kind"] for r in rows] == ["3d-printer", "laser-cutter"]
    assert all("branch" not in r and "month" not in r for r in rows)
    (county,) = client.get(f"/api/v1/stats?{JUNE}",
                           headers=bearer(world["admin_token"])).get_json()["rows"]
    assert county["bookings"] == 7 and county["distinct_citizens"] == 6
    assert "kind" not in county


def test_staff_see_their_branches_citizens_nothing(client, world):
    rows = client.get(f"/api/v1/stats?{JUNE}&group=branch",
                      headers=bearer(world["librarian_token"])).get_json()["rows"]
    assert [r["branch"] for r in rows] == ["steinkjer"]
    assert_problem(client.get(f"/api/v1/stats?{JUNE}", headers=bearer(world["citizen_token"])),
                   403, "forbidden")
    assert_problem(client.get(f"/api/v1/stats?{JUNE}"), 401, "unauthorized")


def test_bad_queries_are_refused(client, world):
    admin = bearer(world["admin_token"])
    assert_problem(client.get("/api/v1/stats?from=2025-06-30&to=2025-06-01", headers=admin),
                   422, "invalid_period")
    assert_problem(client.get("/api/v1/stats?from=2020-01-01&to=2025-06-01", headers=admin),
                   422, "invalid_period")
    assert_problem(client.get(f"/api/v1/stats?{JUNE}&group=person", headers=admin),
                   422, "invalid_input")
    assert_problem(client.get("/api/v1/stats?from=2025-13-01&to=2025-06-01", headers=admin),
                   422, "invalid_input")
    assert_problem(client.get("/api/v1/stats?to=2025-06-01", headers=admin),
                   422, "invalid_input")


def test_the_setting_changes_the_limit(client, world, app):
    app.config["STATS_MIN_COUNT"] = 7
    (row,) = client.get(f"/api/v1/stats?{JUNE}",
                        headers=bearer(world["admin_token"])).get_json()["rows"]
    assert row["distinct_citizens"] == "<7"


def test_the_api_is_in_the_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/stats"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to", "group"}
    assert "StatsRow" in str(document["components"]["schemas"])


def read_csv(answer) -> list[list[str]]:
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert answer.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    return list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig")), delimiter=";"))


def test_the_page_for_an_admin_shows_every_library(client, world, login):
    login(world["admin"])
    page = client.get("/staff/statistics/?period=month&day=2025-06-15")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Hovedbiblioteket" in text and "Steinkjer bibliotek" in text
    assert text.count('role="img"') == 4 and "<desc" in text
    assert "&lt; 5" in text  # Steinkjer's one person
    assert "c0@example.no" not in text and not re.search(r"Person \d", text)


def test_the_page_for_a_librarian_shows_their_library_only(client, world, login):
    login(world["librarian"])
    text = client.get("/staff/statistics/?period=month&day=2025-06-15").get_data(as_text=True)
    assert "Steinkjer bibliotek" in text and "Hovedbiblioteket" not in text


def test_citizens_and_strangers_do_not_find_the_page(client, world, login):
    assert client.get("/staff/statistics/").status_code == 302  # to the log-in page
    login(world["citizen"])
    assert client.get("/staff/statistics/").status_code == 404
    assert client.get("/staff/statistics/table.csv?table=branches").status_code == 404


def test_a_period_across_a_new_year_says_how_people_are_counted(client, world, login):
    login(world["admin"])
    across = client.get("/staff/statistics/?period=custom&from=2024-12-01&to=2025-06-30")
    assert across.status_code == 200 and 'id="year-boundary"' in across.get_data(as_text=True)
    within = client.get("/staff/statistics/?period=custom&from=2025-01-01&to=2025-06-30")
    assert 'id="year-boundary"' not in within.get_data(as_text=True)


def test_the_page_adds_up_the_rollup_as_it_counts(client, world, login, app):
    from makerspace.stats import rollup

    login(world["admin"])
    url = "/staff/statistics/table.csv?table=branches&period=custom&from=2025-06-02&to=2025-07-03"
    counted = client.get(url).data
    with app.app_context():
        assert rollup.refresh_days(datetime(2025, 7, 2, 8, tzinfo=UTC), limit=10**6) > 0
        db.session.commit()
    try:
        assert client.get(url).data == counted
    finally:
        with app.app_context():
            rollup.forget_rollup()
            db.session.commit()


def test_a_bad_period_is_explained(client, world, login):
    login(world["admin"])
    answer = client.get("/staff/statistics/?period=custom&from=2025-06-30&to=2025-06-01")
    assert answer.status_code == 422
    assert "error-summary" in answer.get_data(as_text=True)
    assert client.get("/staff/statistics/?period=custom&from=nonsense").status_code == 422
    assert client.get("/staff/statistics/?period=year&day=1999-01-01").status_code == 422


def test_csv_files_open_with_semicolons(client, world, login):
    login(world["admin"])
    query = "period=custom&from=2025-06-01&to=2025-06-30"
    rows = read_csv(client.get(f"/staff/statistics/table.csv?table=branches&{query}"))
    header, hoved, steinkjer, county = rows
    assert header[:4] == ["Fra", "Til", "Bibliotek", "Bookinger"]
    assert hoved[:4] == ["2025-06-01", "2025-06-30", "Hovedbiblioteket", "6"]
    column = header.index("Ulike innbyggere")
    assert (hoved[column], steinkjer[column], county[column]) == ("6", "<5", "6")
    assert hoved[header.index("Bookede timer")] == "12"
    for name in ("kinds", "months", "week", "machines", "ages", "courses"):
        assert len(read_csv(client.get(f"/staff/statistics/table.csv?table={name}&{query}"))) > 1
    assert client.get(f"/staff/statistics/table.csv?table=people&{query}").status_code == 404


def test_admins_opt_in_to_the_monthly_summary(client, world, login, app):
    from makerspace.mail.models import OutboxMessage
    from makerspace.mail.statistics import queue_monthly_summaries
    from makerspace.stats.summary import is_subscribed

    login(world["admin"])
    page = client.get("/staff/statistics/")
    assert "Send meg det månedlige sammendraget" in page.get_data(as_text=True)
    assert client.post("/staff/statistics/summary", data={"wanted": "yes"}).status_code == 302
    with app.app_context():
        admin = db.session.get(type(world["admin"]), world["admin"].id)
        assert is_subscribed(admin)
        assert queue_monthly_summaries(NOW) == 1  # June, on the first of July
        assert queue_monthly_summaries(NOW + timedelta(days=1)) == 0  # once a month
        (message,) = db.session.query(OutboxMessage).filter_by(kind="stats_summary").all()
        assert message.to_email == "admin@example.no"
        assert "Hovedbiblioteket" in message.text_body and "juni 2025" in message.subject
        assert "c0@example.no" not in message.text_body
        db.session.commit()
    login(world["librarian"])
    assert client.post("/staff/statistics/summary", data={"wanted": "yes"}).status_code == 404


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


class TestCsrf:
    @pytest.fixture
    def app_config(self) -> dict:
        return {"WTF_CSRF_ENABLED": True}

    def test_the_opt_in_needs_the_forms_token(self, client, world, login, app):
        from makerspace.stats.summary import is_subscribed

        login(world["admin"])
        assert client.post("/staff/statistics/summary", data={"wanted": "yes"}).status_code == 400
        with app.app_context():
            assert not is_subscribed(world["admin"])
        token = _csrf(client.get("/staff/statistics/").get_data(as_text=True))
        assert client.post("/staff/statistics/summary",
                           data={"wanted": "yes", "csrf_token": token}).status_code == 302


def kept_periods():
    """(settled periods, open periods) whose distinct citizens are kept."""
    from makerspace.stats.models import StatsRollup

    rows = db.session.query(StatsRollup).all()
    return ({r.period for r in rows if r.made_before is None},
            {r.period for r in rows if r.made_before is not None})


@pytest.mark.commits
def test_the_tick_rolls_up_a_closed_month_and_mails_the_summary(app, world, frozen_clock):
    from makerspace.jobs import run_tick
    from makerspace.mail.models import OutboxMessage
    from makerspace.stats.models import StatsSubscription

    with app.app_context():
        db.session.add(StatsSubscription(user_id=world["admin"].id))
        db.session.commit()
        frozen_clock.set(datetime(2025, 7, 5, 8, tzinfo=UTC))
        summary = run_tick()
        assert summary is not None
        assert kept_periods() == ({"2025-Q2"}, {"2025"})  # and the open year, counted now
        assert db.session.query(OutboxMessage).filter_by(kind="stats_summary").count() == 1
        run_tick()  # the next tick: June's turn; no second summary
        assert kept_periods() == ({"2025-06", "2025-Q2"}, {"2025", "2025-Q3"})
        assert db.session.query(OutboxMessage).filter_by(kind="stats_summary").count() == 1


@pytest.mark.commits
def test_the_rollup_command(app, world, frozen_clock):

    frozen_clock.set(datetime(2025, 7, 5, 8, tzinfo=UTC))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stats-rollup"])
    assert result.exit_code == 0
    assert "2 settled period(s) and 3 open period(s) counted" in result.output
    assert "0 settled period(s) and 0 open" in runner.invoke(args=["stats-rollup"]).output
    assert "2 settled period(s) and 3 open" in runner.invoke(
        args=["stats-rollup", "--again"]).output
    with app.app_context():
        assert kept_periods() == ({"2025-06", "2025-Q2"}, {"2025", "2025-Q3", "2025-07"})
