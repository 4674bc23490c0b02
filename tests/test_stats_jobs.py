"""Jobs and material in the statistics (issue 19): grams, metres and sheets per library and
month, jobs ended, failed jobs and the failed-job rate, worked out by hand; on both
databases."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from makerspace.accounts.models import Role, User
from makerspace.booking.models import (
    Booking,
    BookingJob,
    BookingStatus,
    JobOutcome,
    MaterialUnit,
)
from makerspace.branches.models import Branch
from makerspace.extensions import db
from makerspace.privacy.services import anonymise_bookings
from makerspace.stats import services
from makerspace.stats.services import Period

NOW = datetime(2025, 8, 15, 8, 0, tzinfo=UTC)
SUMMER = Period(datetime(2025, 6, 1).date(), datetime(2025, 7, 31).date())
QUERY = "period=custom&from=2025-06-01&to=2025-07-31"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _job(machine_id: int, person_id: int, start: datetime, outcome: JobOutcome | None,
         amount: float | None, unit: MaterialUnit | None) -> None:
    ended = outcome is not None
    booking = Booking(equipment_id=machine_id, user_id=person_id, start_at=start,
                      end_at=start + timedelta(hours=1),
                      occupied_until=start + timedelta(hours=1),
                      status=BookingStatus.COMPLETED if ended else BookingStatus.CHECKED_IN,
                      checked_in_at=start)
    booking.job = BookingJob(started_at=start,
                             ended_at=start + timedelta(minutes=50) if ended else None,
                             outcome=outcome, material_amount=amount, material_unit=unit)
    db.session.add(booking)


@pytest.fixture
def world(app, frozen_clock, open_branch, make_equipment, make_user):
    frozen_clock.set(NOW)
    hoved = open_branch("hoved", name="Hovedbiblioteket")
    steinkjer = open_branch("steinkjer", name="Steinkjer bibliotek")
    printer = make_equipment(hoved, name="Prusa")
    vinyl = make_equipment(hoved, name="Cricut", kind="vinyl-cutter")
    other_printer = make_equipment(steinkjer, name="Bambu")
    person = make_user("maker@example.no")
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[steinkjer])
    admin = make_user("admin@example.no", role=Role.ADMIN)
    g, m = MaterialUnit.GRAMS, MaterialUnit.METRES
    with app.app_context():
        p, v, o = printer.id, vinyl.id, other_printer.id
        # Hovedbiblioteket, June: finished 100.5 g, failed 20 g, stopped early without
        # material, vinyl failed 1.5 m
        _job(p, person.id, utc(2025, 6, 2, 8), JobOutcome.FINISHED, 100.5, g)
        _job(p, person.id, utc(2025, 6, 3, 8), JobOutcome.FAILED, 20, g)
        _job(p, person.id, utc(2025, 6, 4, 8), JobOutcome.STOPPED, None, None)
        _job(v, person.id, utc(2025, 6, 5, 8), JobOutcome.FAILED, 1.5, m)
        # July: 00:30 on 1 July in Oslo (30 June in UTC) finished 50 g; vinyl 2 m recorded
        # on a job not ended yet (material, but not an ended job)
        _job(p, person.id, utc(2025, 6, 30, 22, 30), JobOutcome.FINISHED, 50, g)
        _job(v, person.id, utc(2025, 7, 10, 8), None, 2, m)
        # Steinkjer: June finished 30 g, July failed 10 g
        _job(o, person.id, utc(2025, 6, 6, 8), JobOutcome.FINISHED, 30, g)
        _job(o, person.id, utc(2025, 7, 7, 8), JobOutcome.FAILED, 10, g)
        # outside the period: August
        _job(p, person.id, utc(2025, 8, 1, 8), JobOutcome.FAILED, 999, g)
        db.session.commit()
    return {"hoved": hoved, "steinkjer": steinkjer, "librarian": librarian, "admin": admin}


EXPECTED = [
    {"branch": "hoved", "month": "2025-06", "grams": 120.5, "metres": 1.5, "sheets": 0,
     "ended": 4, "failed": 2, "failed_rate": 0.5},
    {"branch": "hoved", "month": "2025-07", "grams": 50, "metres": 2, "sheets": 0,
     "ended": 1, "failed": 0, "failed_rate": 0},
    {"branch": "steinkjer", "month": "2025-06", "grams": 30, "metres": 0, "sheets": 0,
     "ended": 1, "failed": 0, "failed_rate": 0},
    {"branch": "steinkjer", "month": "2025-07", "grams": 10, "metres": 0, "sheets": 0,
     "ended": 1, "failed": 1, "failed_rate": 1},
]


def test_job_figures_per_branch_and_month(app, world):
    with app.app_context():
        branches = [db.session.get(Branch, world[s].id) for s in ("hoved", "steinkjer")]
        assert services.job_figures(branches, SUMMER) == EXPECTED
        june = Period(SUMMER.first, datetime(2025, 6, 30).date())
        assert [r["month"] for r in services.job_figures(branches, june)] == ["2025-06"] * 2
        assert services.job_figures([], SUMMER) == []


def test_job_figures_survive_the_retention_sweep(app, world):
    with app.app_context():
        branches = [db.session.get(Branch, world[s].id) for s in ("hoved", "steinkjer")]
        assert anonymise_bookings(Booking.id.is_not(None)) == 9
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(Booking).where(
            Booking.user_id.is_not(None))) == 0
        assert services.job_figures(branches, SUMMER) == EXPECTED


def test_a_librarian_counts_their_branches_only(app, world):
    with app.app_context():
        librarian = db.session.get(User, world["librarian"].id)
        rows = services.job_figures(services.branches_for(librarian), SUMMER)
        assert rows == EXPECTED[2:]


def read_csv(answer) -> list[list[str]]:
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert answer.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig")), delimiter=";"))


def test_the_page_shows_the_jobs_section(client, world, login):
    login(world["admin"])
    page = client.get(f"/staff/statistics/?{QUERY}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    section = text[text.index('id="jobs-heading"'):]
    section = section[:section.index("</section>")]
    assert "Jobber og materiale" in section
    assert '<caption id="jobs-caption">Jobber og materiale per bibliotek og måned</caption>' \
        in section
    assert '<th scope="col" class="num">Andel mislykkede jobber</th>' in section
    assert section.count('<th scope="row">Hovedbiblioteket</th>') == 2
    assert "120,5" in section and "50\u00a0%" in section
    assert "table=jobs" in section


def test_the_jobs_csv(client, world, login):
    login(world["admin"])
    header, *rows = read_csv(client.get(f"/staff/statistics/table.csv?table=jobs&{QUERY}"))
    assert header == ["Fra", "Til", "Bibliotek", "Måned", "Materiale (gram)",
                      "Materiale (meter)", "Materiale (plater)", "Avsluttede jobber",
                      "Mislykkede jobber", "Andel mislykkede jobber (%)"]
    assert rows == [
        ["2025-06-01", "2025-07-31", "Hovedbiblioteket", "2025-06", "120,5", "1,5", "0", "4",
         "2", "50"],
        ["2025-06-01", "2025-07-31", "Hovedbiblioteket", "2025-07", "50", "2", "0", "1", "0",
         "0"],
        ["2025-06-01", "2025-07-31", "Steinkjer bibliotek", "2025-06", "30", "0", "0", "1",
         "0", "0"],
        ["2025-06-01", "2025-07-31", "Steinkjer bibliotek", "2025-07", "10", "0", "0", "1",
         "1", "100"],
    ]


def test_a_librarian_sees_only_their_libraries_jobs(client, world, login):
    login(world["librarian"])
    text = client.get(f"/staff/statistics/?{QUERY}").get_data(as_text=True)
    section = text[text.index('id="jobs-heading"'):]
    assert "Hovedbiblioteket" not in section[:section.index("</section>")]
    _header, *rows = read_csv(client.get(f"/staff/statistics/table.csv?table=jobs&{QUERY}"))
    assert [row[2:4] for row in rows] == [["Steinkjer bibliotek", "2025-06"],
                                          ["Steinkjer bibliotek", "2025-07"]]


def test_english_headers(client, world, login, app):
    admin = world["admin"]
    with app.app_context():
        db.session.get(User, admin.id).locale = "en"
        db.session.commit()
    login(admin)
    header = read_csv(client.get(f"/staff/statistics/table.csv?table=jobs&{QUERY}"))[0]
    assert header[-1] == "Failed-job rate (%)"
