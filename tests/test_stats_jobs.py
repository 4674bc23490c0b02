"""Jobs and material in the statistics (issue 19): grams, metres and sheets per library and
month, jobs ended, failed jobs and the failed-job rate, worked out by hand; on both
databases."""

from __future__ import annotations

import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from makerspace.accounts.models import Role, User
from makerspace.booking import jobs
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
from makerspace.stats import rollup, services
from makerspace.stats.models import StatsDay, StatsMonth
from makerspace.stats.services import Period

NOW = datetime(2025, 8, 15, 8, 0, tzinfo=UTC)
SUMMER = Period(datetime(2025, 6, 1).date(), datetime(2025, 7, 31).date())
QUERY = "period=custom&from=2025-06-01&to=2025-07-31"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _job(machine_id: int, person_id: int, start: datetime, outcome: JobOutcome | None,
         amount: float | None, unit: MaterialUnit | None) -> Booking:
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
    return booking


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
    return {"hoved": hoved, "steinkjer": steinkjer, "librarian": librarian, "admin": admin,
            "printer": printer, "vinyl": vinyl, "person": person}


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


# -- the rollup keeps the jobs ------------------------------------------------------------------

def _branches(world) -> list[Branch]:
    return [db.session.get(Branch, world[s].id) for s in ("hoved", "steinkjer")]


def _counted_afresh(world) -> list[dict]:
    """The figures with the rollup forgotten: counted from the bookings and their jobs."""
    rollup.forget_rollup()
    db.session.commit()
    return services.job_figures(_branches(world), SUMMER)


def _booking_at(start: datetime) -> Booking:
    return db.session.scalar(select(Booking).where(Booking.start_at == start))


def test_the_rollup_keeps_the_jobs_of_its_days_and_months(app, world):
    with app.app_context():
        assert rollup.refresh_days(NOW, limit=10**6) > 60
        db.session.commit()
        assert rollup.covered_until() > SUMMER.last  # June and July come from the rollup
        june = db.session.execute(select(
            func.sum(StatsMonth.grams_milli), func.sum(StatsMonth.metres_milli),
            func.sum(StatsMonth.jobs_ended), func.sum(StatsMonth.jobs_failed))
            .where(StatsMonth.month == "2025-06")).one()
        assert tuple(june) == (150_500, 1_500, 5, 2)  # both libraries
        first = db.session.get(StatsDay, (datetime(2025, 6, 2).date(), world["printer"].id))
        assert (first.grams_milli, first.jobs_ended, first.jobs_failed) == (100_500, 1, 0)
        assert services.job_figures(_branches(world), SUMMER) == EXPECTED
        custom = Period(datetime(2025, 6, 3).date(), SUMMER.last)  # days and a month
        assert services.job_figures(_branches(world), custom)[0]["grams"] == 20


def test_a_job_changed_after_its_day_was_rolled_up_counts_as_changed(app, world):
    admin = world["admin"]
    with app.app_context():
        rollup.refresh_days(NOW, limit=10**6)
        db.session.commit()
        by = db.session.get(User, admin.id)
        # corrected 100.5 -> 90 g; 5 g recorded on the job stopped early; the vinyl job of
        # 10 July ended as failed (a job ended: it counts, its 2 m stay)
        jobs.record_material(_booking_at(utc(2025, 6, 2, 8)), amount="90", by=by)
        jobs.record_material(_booking_at(utc(2025, 6, 4, 8)), amount="5,0004", by=by)
        jobs.end_job(_booking_at(utc(2025, 7, 10, 8)), JobOutcome.FAILED, at=NOW, by=by)
        db.session.commit()
        rolled = services.job_figures(_branches(world), SUMMER)
        assert rolled[0] == {**EXPECTED[0], "grams": 115.0}
        assert rolled[1] == {**EXPECTED[1], "ended": 2, "failed": 1, "failed_rate": 0.5}
        assert rolled[2:] == EXPECTED[2:]
        assert _counted_afresh(world) == rolled


@pytest.mark.commits
def test_two_jobs_of_one_day_changed_at_once_both_count(app, world):
    """Each on its own connection, at the same moment: the day's row is added to, so
    neither change is lost."""
    printer, person, admin = world["printer"], world["person"], world["admin"]
    starts = [utc(2025, 6, 2, 10), utc(2025, 6, 2, 12)]
    with app.app_context():
        for start in starts:
            _job(printer.id, person.id, start, JobOutcome.FINISHED, None, None)
        db.session.commit()
        rollup.refresh_days(NOW, limit=10**6)
        db.session.commit()
    barrier = threading.Barrier(2, timeout=30)

    def record(start: datetime, grams: str) -> None:
        with app.app_context():
            barrier.wait()  # before the first query: on SQLite that takes the write lock
            jobs.record_material(_booking_at(start), amount=grams,
                                 by=db.session.get(User, admin.id))
            db.session.commit()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(record, start, grams)
                     for start, grams in zip(starts, ("7", "11"), strict=True)]:
            done.result()
    with app.app_context():
        rolled = services.job_figures(_branches(world), SUMMER)
        assert rolled[0]["grams"] == 120.5 + 7 + 11 and rolled[0]["ended"] == 6
        assert _counted_afresh(world) == rolled


@pytest.mark.commits
def test_a_job_changed_while_its_days_are_rolled_up_is_counted(app, world, monkeypatch):
    """The rollup counts the bookings in a reading transaction and writes in another; a job
    changed (and committed, on another connection) after everything was read and before the
    rows are written is in the rows written."""
    admin, changed_day = world["admin"], datetime(2025, 6, 2).date()
    advance = rollup._advance

    def a_job_changes_first(old, new):
        if old is not None and old <= changed_day < new:
            def change() -> None:
                with app.app_context():
                    jobs.record_material(_booking_at(utc(2025, 6, 2, 8)), amount="60",
                                         by=db.session.get(User, admin.id))
                    db.session.commit()
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(change).result()
        return advance(old, new)

    monkeypatch.setattr(rollup, "_advance", a_job_changes_first)
    with app.app_context():
        rollup.refresh_days(NOW, limit=10**6, commit=True)
        rolled = services.job_figures(_branches(world), SUMMER)
        assert rolled[0]["grams"] == 80.0
        assert _counted_afresh(world) == rolled
