"""Every statistics figure against numbers worked out by hand, on both databases."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from makerspace.accounts.models import Role
from makerspace.booking.models import (
    Booking,
    BookingStatus,
    Cancellation,
    Equipment,
    EquipmentOutage,
)
from makerspace.branches.hours import set_date_exception, set_weekly_hours
from makerspace.branches.models import Branch
from makerspace.errors import Forbidden
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.extensions import db
from makerspace.privacy.services import anonymise_bookings, sweep_retention
from makerspace.stats import rollup, services
from makerspace.stats.keys import forget_old_salts
from makerspace.stats.models import StatsRollup, StatsSalt
from makerspace.stats.services import Period, checked_period

LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def place(branch_slug: str, weekly: dict, kinds=("3d-printer",), timezone="Europe/Oslo"):
    """A branch with one machine per kind, all in service since 2024."""
    branch = Branch(slug=branch_slug, name=branch_slug.title(), municipality="Trondheim",
                    timezone=timezone, closed_on_public_holidays=False)
    db.session.add(branch)
    db.session.flush()
    set_weekly_hours(branch, weekly)
    machines = []
    for n, kind in enumerate(kinds):
        machine = Equipment(branch_id=branch.id, name=f"{kind} {n}", kind=kind,
                            created_at=LONG_AGO)
        db.session.add(machine)
        machines.append(machine)
    db.session.flush()
    return branch, machines


def book(machine, user, start, hours=1.0, status=BookingStatus.COMPLETED, cancellation=None,
         age_band=None):
    end = start + timedelta(hours=hours)
    booking = Booking(equipment_id=machine.id, user_id=user.id if user else None,
                      start_at=start, end_at=end, occupied_until=end, status=status,
                      cancellation=cancellation, age_band=age_band)
    db.session.add(booking)
    db.session.flush()
    return booking


def every_day(opens: str, closes: str) -> dict:
    return {d: [(opens, closes)] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture(params=["live", "rolled"])
def settle(request, app_ctx):
    """Before the figures are read: nothing (counted from the bookings), or everything rolled
    up as the ticks would have done by 2027 (the same figures, added up from the rollup)."""
    def settle():
        if request.param == "rolled":
            rollup.refresh_days(utc(2027, 1, 1), limit=10**6)
            rollup.refresh_distinct(utc(2027, 1, 1), limit=10**4)
    return settle


@pytest.fixture
def people(app_ctx, make_user):
    return [make_user(f"p{n}@example.no") for n in range(6)]


def test_utilisation_across_a_closure_and_an_outage(app_ctx, people, settle):
    # June 2025, open 10:00-14:00 every day: 30 × 4 h = 120 h. Closed on 10 June: 116 h.
    branch, (printer,) = place("hoved", every_day("10:00", "14:00"))
    set_date_exception(branch, date(2025, 6, 10), None, "Inventory")
    # Out of service 20 June 12:00 to 22 June 12:00 (CEST, UTC+2): 2 + 4 + 2 = 8 h -> 108 h.
    db.session.add(EquipmentOutage(equipment_id=printer.id, start_at=utc(2025, 6, 20, 10),
                                   end_at=utc(2025, 6, 22, 10), reason="Nozzle"))
    book(printer, people[0], utc(2025, 6, 2, 8), 2)  # completed: 2 h
    book(printer, people[1], utc(2025, 6, 3, 8), 1, BookingStatus.NO_SHOW)
    book(printer, people[1], utc(2025, 6, 4, 8), 3, BookingStatus.CANCELLED,
         Cancellation.BY_CITIZEN)
    book(printer, people[2], utc(2025, 6, 5, 8), 1.5, BookingStatus.CHECKED_IN)
    settle()
    (row,) = services.usage([branch], Period(date(2025, 6, 1), date(2025, 6, 30)), [])
    assert row.bookable_hours == 108
    assert row.booked_hours == 3.5
    assert row.utilisation == round(3.5 / 108, 4) == 0.0324
    assert (row.bookings, row.no_shows, row.cancellations) == (4, 1, 1)
    assert row.cancelled_by_citizen == 1 and row.cancelled_by_staff == 0
    assert row.checked_in == 2 and row.checked_in_rate == round(2 / 3, 4)
    assert row.no_show_rate == round(1 / 3, 4)
    assert row.distinct_citizens == 3 and row.shown("distinct_citizens") == "<5"


def test_a_dst_month_has_its_real_length_and_local_months(app_ctx, people, settle):
    # Open round the clock: March 2025 has 31 × 24 − 1 = 743 hours in Oslo, October 745.
    branch, (printer,) = place("hoved", every_day("00:00", "24:00"))
    # 31 March 22:30 UTC is 1 April 00:30 in Oslo (CEST); 28 February 23:30 UTC is 1 March.
    book(printer, people[0], utc(2025, 3, 31, 22, 30), 1)
    book(printer, people[0], utc(2025, 2, 28, 23, 30), 1)
    settle()
    rows = services.usage([branch], Period(date(2025, 3, 1), date(2025, 4, 30)), ["month"])
    march, april = rows
    assert (march.key, march.bookable_hours, march.bookings) == ({"month": "2025-03"}, 743, 1)
    assert (april.key, april.bookable_hours, april.bookings) == ({"month": "2025-04"}, 720, 1)
    (october,) = services.usage([branch], Period(date(2025, 10, 1), date(2025, 10, 31)), [])
    assert october.bookable_hours == 745


def test_the_heat_map_uses_local_weekday_and_hour(app_ctx, people, settle):
    branch, (printer,) = place("hoved", every_day("00:00", "24:00"))
    book(printer, people[0], utc(2025, 3, 31, 22, 30))  # Tuesday 1 April, 00:30 CEST
    book(printer, people[0], utc(2025, 3, 3, 7, 0))  # Monday 3 March, 08:00 CET
    book(printer, people[1], utc(2025, 3, 3, 7, 0), status=BookingStatus.CANCELLED)
    settle()
    grid = services.week_heat_map([branch], Period(date(2025, 3, 1), date(2025, 4, 30)))
    assert grid[1][0] == 1 and grid[0][8] == 1
    assert sum(map(sum, grid)) == 2


def test_grouping_by_branch_kind_and_month(app_ctx, people, settle):
    one, (printer, laser) = place("hoved", every_day("10:00", "12:00"),
                                  kinds=("3d-printer", "laser-cutter"))
    two, (other,) = place("steinkjer", every_day("10:00", "12:00"))
    book(printer, people[0], utc(2025, 1, 10, 9))
    book(laser, people[0], utc(2025, 2, 10, 9), 2)
    book(other, people[1], utc(2025, 1, 11, 9))
    period = Period(date(2025, 1, 1), date(2025, 2, 28))
    settle()
    rows = services.api_rows(services.usage([one, two], period, ["branch", "kind", "month"]))
    assert [(r["branch"], r["kind"], r["month"], r["bookings"]) for r in rows] == [
        ("hoved", "3d-printer", "2025-01", 1), ("hoved", "3d-printer", "2025-02", 0),
        ("hoved", "laser-cutter", "2025-01", 0), ("hoved", "laser-cutter", "2025-02", 1),
        ("steinkjer", "3d-printer", "2025-01", 1), ("steinkjer", "3d-printer", "2025-02", 0)]
    # January: 31 days × 2 h per machine
    assert rows[0]["utilisation"] == round(1 / 62, 4)
    (kind_row, laser_row) = services.api_rows(services.usage([one, two], period, ["kind"]))
    assert set(kind_row) == {"kind", "bookings", "booked_hours", "utilisation", "no_shows",
                             "cancellations", "distinct_citizens"}
    assert kind_row["bookings"] == 2 and kind_row["utilisation"] == round(2 / (2 * 59 * 2), 4)
    (county,) = services.api_rows(services.usage([one, two], period, []))
    assert county["bookings"] == 3 and county["booked_hours"] == 4


def test_small_counts_are_hidden_and_the_limit_is_a_setting(app_ctx, people, settle):
    branch, (printer,) = place("hoved", every_day("08:00", "20:00"))
    for n, person in enumerate(people[:5]):
        book(printer, person, utc(2025, 5, 1 + n, 8))
    book(printer, people[0], utc(2025, 5, 20, 8))  # the same person again
    book(printer, None, utc(2025, 5, 21, 8))  # a guest booking: not a distinct citizen
    may = Period(date(2025, 5, 1), date(2025, 5, 31))
    settle()
    (row,) = services.usage([branch], may, [])
    assert row.distinct_citizens == 5 and row.shown("distinct_citizens") == 5
    assert row.without_account == 1 and row.bookings == 7
    (row,) = services.usage([branch], Period(date(2025, 5, 1), date(2025, 5, 4)), [])
    assert row.shown("distinct_citizens") == "<5"
    app_ctx.config["STATS_MIN_COUNT"] = 3
    assert services.shown_count(3) == 3 and services.shown_count(2) == "<3"
    assert services.shown_count(0) == "<3"


def test_distinct_citizens_and_first_timers_survive_anonymisation(app_ctx, people,
                                                                  frozen_clock):
    branch, (printer,) = place("hoved", every_day("08:00", "20:00"))
    book(printer, people[0], utc(2025, 4, 1, 8))
    book(printer, people[0], utc(2025, 4, 2, 8))
    book(printer, people[1], utc(2025, 4, 3, 8))
    april = Period(date(2025, 4, 1), date(2025, 4, 30))
    before = services.usage([branch], april, [])[0]
    frozen_clock.set(utc(2026, 6, 1))
    report = sweep_retention()
    assert report.bookings == 3
    db.session.expire_all()
    after = services.usage([branch], april, [])[0]
    assert (after.distinct_citizens, after.first_time) == (before.distinct_citizens,
                                                          before.first_time) == (2, 2)
    assert after.without_account == 0


def test_a_person_gets_one_key_a_year_and_the_salt_is_forgotten(app_ctx, people,
                                                              frozen_clock):
    branch, (printer,) = place("hoved", every_day("08:00", "20:00"))
    a = book(printer, people[0], utc(2025, 4, 1, 8))
    b = book(printer, people[0], utc(2025, 9, 1, 8))
    c = book(printer, people[0], utc(2026, 1, 5, 8))
    d = book(printer, people[1], utc(2025, 4, 1, 10))
    assert a.citizen_key == b.citizen_key != c.citizen_key
    assert a.citizen_key != d.citizen_key and len(a.citizen_key) == 16
    assert (a.first_booking, b.first_booking, c.first_booking, d.first_booking) == (
        True, False, False, True)
    frozen_clock.set(utc(2026, 3, 1))  # 2025's bookings are not all anonymised yet
    assert forget_old_salts() == 0
    frozen_clock.set(utc(2026, 4, 15))  # 90 days after the last of 2025's bookings ended
    assert forget_old_salts() == 1
    assert [s.year for s in db.session.query(StatsSalt)] == [2026]


def test_a_booking_reads_the_salt_and_whether_its_person_booked_before_in_one_statement(
        app_ctx, people):
    branch, (printer,) = place("hoved", every_day("08:00", "20:00"))
    first = book(printer, people[0], utc(2025, 4, 1, 8))  # 2025's salt is made here
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        again = book(printer, people[0], utc(2025, 4, 2, 8))
        other = book(printer, people[1], utc(2025, 4, 3, 8))
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    stamps = [s for s in statements if "stats_salts" in s]
    assert len(stamps) == 2 and all("EXISTS" in s.upper() for s in stamps)
    assert (first.first_booking, again.first_booking, other.first_booking) == (
        True, False, True)
    assert first.citizen_key == again.citizen_key != other.citizen_key


def test_distinct_citizens_are_counted_over_the_whole_group(app_ctx, people, settle):
    branch, (printer, laser) = place("hoved", every_day("08:00", "20:00"),
                                     kinds=("3d-printer", "laser-cutter"))
    for n, person in enumerate(people[:5]):
        book(printer, person, utc(2025, 4, 1, 8) + timedelta(hours=n * 2))
        book(laser, person, utc(2025, 5, 1, 8) + timedelta(hours=n * 2))
    year = Period(date(2025, 1, 1), date(2025, 12, 31))
    settle()
    (total,) = services.usage([branch], year, [])
    assert total.distinct_citizens == 5  # not 10: the same five people in both months
    assert [f.distinct_citizens for f in services.usage([branch], year, ["month"])
            if f.bookings] == [5, 5]


def test_age_bands_and_machines(app_ctx, people, settle):
    branch, (printer, laser) = place("hoved", every_day("10:00", "12:00"),
                                     kinds=("3d-printer", "laser-cutter"))
    for n, person in enumerate(people[:5]):
        book(printer, person, utc(2025, 1, 2 + n, 9), age_band="26-66")
    book(laser, people[5], utc(2025, 1, 20, 9), age_band="under-16")
    january = Period(date(2025, 1, 1), date(2025, 1, 31))
    settle()
    bands = {r["band"]: r["distinct_citizens"] for r in services.age_bands([branch], january)}
    assert bands == {"under-16": "<5", "16-25": "<5", "26-66": 5, "67+": "<5", None: "<5"}
    most, least = services.machine_usage([branch], january)
    assert (most["name"], most["booked_hours"], most["utilisation"]) == (
        printer.name, 5, round(5 / 62, 4))
    assert (least["name"], least["booked_hours"]) == (laser.name, 1)


def test_trend_against_the_year_before(app_ctx, people, settle):
    branch, (printer,) = place("hoved", every_day("10:00", "12:00"))
    book(printer, people[0], utc(2024, 2, 5, 9))
    book(printer, people[0], utc(2025, 2, 5, 9))
    book(printer, people[1], utc(2025, 2, 6, 9), 2)
    settle()
    rows = services.monthly_trend([branch], Period(date(2025, 1, 1), date(2025, 3, 31)))
    assert [(r["month"], r["bookings"], r["bookings_year_before"]) for r in rows] == [
        ("2025-01", 0, 0), ("2025-02", 2, 1), ("2025-03", 0, 0)]
    assert rows[1]["booked_hours"] == 3 and rows[1]["booked_hours_year_before"] == 1


def test_course_figures(app_ctx, people, frozen_clock):
    frozen_clock.set(utc(2025, 7, 1))
    branch, _machines = place("hoved", every_day("10:00", "12:00"))
    held = Event(branch_id=branch.id, title="Laser", start_at=utc(2025, 6, 3, 15),
                 end_at=utc(2025, 6, 3, 17), capacity=2, status=EventStatus.SCHEDULED)
    cancelled = Event(branch_id=branch.id, title="Off", start_at=utc(2025, 6, 4, 15),
                      end_at=utc(2025, 6, 4, 17), capacity=8, status=EventStatus.CANCELLED)
    db.session.add_all([held, cancelled])
    db.session.flush()
    for n, (status, attended) in enumerate([(SignupStatus.CONFIRMED, True),
                                            (SignupStatus.CONFIRMED, False),
                                            (SignupStatus.WAITLISTED, False),
                                            (SignupStatus.WAITLISTED, False)]):
        db.session.add(Signup(event_id=held.id, user_id=people[n].id, status=status,
                              attended_at=utc(2025, 6, 3, 15) if attended else None,
                              queue_number=n if status == SignupStatus.WAITLISTED else None))
    db.session.flush()
    rows = services.course_figures([branch], Period(date(2025, 6, 1), date(2025, 6, 30)))
    assert rows[0] == {"branch": "Hoved", "slug": "hoved", "held": 1, "seats": 2,
                       "signups": 2, "attended": 1, "waitlisted": 2, "certified": 0}
    assert rows[-1]["held"] == 1 and rows[-1]["branch"] is None


def test_who_sees_which_branches(app_ctx, make_user):
    one, _m = place("hoved", every_day("10:00", "12:00"))
    two, _m = place("steinkjer", every_day("10:00", "12:00"))
    admin = make_user(role=Role.ADMIN)
    librarian = make_user(role=Role.LIBRARIAN, branches=[db.session.get(Branch, two.id)])
    citizen = make_user()
    assert [b.slug for b in services.branches_for(admin)] == ["hoved", "steinkjer"]
    assert [b.slug for b in services.branches_for(db.session.merge(librarian))] == [
        "steinkjer"]
    with pytest.raises(Forbidden):
        services.branches_for(citizen)


def test_periods(app_ctx):
    assert services.period_of("quarter", date(2025, 5, 17)) == Period(date(2025, 4, 1),
                                                                      date(2025, 6, 30))
    assert services.period_of("month", date(2024, 2, 10)) == Period(date(2024, 2, 1),
                                                                    date(2024, 2, 29))
    assert services.period_of("year", date(2025, 5, 17)).days == 365
    assert Period(date(2024, 2, 29), date(2024, 3, 1)).year_before() == Period(
        date(2023, 2, 28), date(2023, 3, 1))
    with pytest.raises(services.InvalidPeriod):
        checked_period(date(2025, 2, 1), date(2025, 1, 1))
    with pytest.raises(services.InvalidPeriod):
        checked_period(date(2020, 1, 1), date(2025, 1, 1))


def test_anonymising_keeps_the_key(app_ctx, people):
    branch, (printer,) = place("hoved", every_day("08:00", "20:00"))
    booking = book(printer, people[0], utc(2025, 4, 1, 8))
    key = booking.citizen_key
    anonymise_bookings(Booking.id == booking.id)
    db.session.expire_all()
    again = db.session.get(Booking, booking.id)
    assert again.user_id is None and again.citizen_key == key


STATUSES = [(BookingStatus.COMPLETED, None), (BookingStatus.COMPLETED, None),
            (BookingStatus.CHECKED_IN, None), (BookingStatus.CONFIRMED, None),
            (BookingStatus.NO_SHOW, None), (BookingStatus.CANCELLED, Cancellation.BY_CITIZEN),
            (BookingStatus.CANCELLED, Cancellation.BY_STAFF),
            (BookingStatus.CANCELLED, Cancellation.OUT_OF_SERVICE)]


def _everything(branches, period):
    """Every figure the page and the API show, for one set of branches and period."""
    return ({tuple(group): services.usage(branches, period, group)
             for group in ([], ["branch"], ["kind"], ["month"], ["branch", "kind", "month"],
                           ["kind", "month"])},
            services.week_heat_map(branches, period), services.machine_usage(branches, period),
            services.age_bands(branches, period), services.monthly_trend(branches, period))


def random_months(make_user, rng, until=datetime(2025, 5, 3, tzinfo=UTC)):
    """Three libraries (one in London), twelve people and guests booking every machine from
    late December to `until`, around midnights, DST (30 March) and month ends, in every
    status and age band."""
    one, machines_one = place("hoved", every_day("08:00", "20:00"),
                              kinds=("3d-printer", "laser-cutter", "3d-printer"))
    two, machines_two = place("steinkjer", every_day("00:00", "24:00"),
                              kinds=("sewing-machine", "3d-printer"))
    three, machines_three = place("london", every_day("09:00", "17:00"),
                                  timezone="Europe/London")
    people = [make_user(f"r{n}@example.no") for n in range(12)]
    for machine in machines_one + machines_two + machines_three:
        moment = utc(2024, 12, 30, 20)
        while moment < until:
            moment += timedelta(hours=rng.choice([1, 2, 3, 7, 13, 22, 30]),
                                minutes=rng.choice([0, 30]))
            status, cancellation = rng.choice(STATUSES)
            book(machine, rng.choice([*people, None]), moment, rng.choice([0.5, 1, 2]),
                 status, cancellation, age_band=rng.choice(["under-16", "16-25", "26-66",
                                                            "67+", None]))
            moment += timedelta(hours=2)
    return [one, two, three], people


def test_figures_added_up_from_the_rollup_equal_the_counted_ones(app_ctx, make_user):
    rng = random.Random(2025)
    branches, _people = random_months(make_user, rng)
    one, two, three = branches
    year = Period(date(2025, 1, 1), date(2025, 12, 31))
    cases = [(branches, year), (branches, Period(date(2025, 1, 1), date(2025, 1, 31))),
             (branches, Period(date(2025, 1, 1), date(2025, 3, 31))),
             ([two], Period(date(2025, 2, 1), date(2025, 2, 28))),
             ([one, three], Period(date(2025, 1, 1), date(2025, 1, 31))),
             (branches, Period(date(2024, 12, 1), date(2025, 5, 31)))]
    for _ in range(6):
        first = date(2024, 12, 25) + timedelta(days=rng.randrange(120))
        subset = rng.sample(branches, rng.randint(1, 3))
        cases.append((sorted(subset, key=lambda b: b.name),
                      Period(first, first + timedelta(days=rng.randrange(1, 80)))))
    counted = [_everything(b, p) for b, p in cases]
    # Rolled up to 8 March (the tick on 10 March): December (its month, quarter and year),
    # January and February are kept with their distinct citizens; from 9 March on, the
    # bookings are counted.
    assert rollup.refresh_days(utc(2025, 3, 10, 12), limit=10**6) > 60
    assert rollup.refresh_distinct(utc(2025, 3, 10, 12), limit=100) == 5
    assert rollup.covered_until() == date(2025, 3, 9)
    assert rollup.refresh_days(utc(2025, 3, 10, 13)) == 0  # nothing new to roll up
    for (subset, period), expected in zip(cases, counted, strict=True):
        assert _everything(subset, period) == expected, (subset, period)
    # and later, with everything settled
    rollup.refresh_days(utc(2026, 1, 1), limit=10**6)
    rollup.refresh_distinct(utc(2026, 1, 1), limit=100)
    for (subset, period), expected in zip(cases, counted, strict=True):
        assert _everything(subset, period) == expected, (subset, period)


def test_the_kept_distinct_citizens_serve_all_branches_or_one(app_ctx, people):
    one, (printer,) = place("hoved", every_day("08:00", "20:00"))
    two, (other,) = place("steinkjer", every_day("08:00", "20:00"))
    for n, person in enumerate(people):
        book(printer, person, utc(2025, 1, 2 + n, 9))
        book(other, person, utc(2025, 1, 12 + n, 9))
    january = Period(date(2025, 1, 1), date(2025, 1, 31))
    assert (rollup.label(january), rollup.label(Period(date(2025, 1, 1), date(2025, 12, 31))),
            rollup.label(Period(date(2025, 1, 1), date(2025, 3, 31)))) == (
        "2025-01", "2025", "2025-Q1")
    assert rollup.label(Period(date(2025, 1, 2), date(2025, 3, 31))) is None
    assert rollup.refresh_distinct(utc(2025, 2, 2, 12), limit=10) == 0  # not settled yet
    assert rollup.refresh_distinct(utc(2025, 2, 3, 12), limit=10) == 1
    assert rollup._stored_distinct([one, two], january, []) == [{"distinct_citizens": 6}]
    assert rollup._stored_distinct([two], january, ["kind"]) == [
        {"kind": "3d-printer", "distinct_citizens": 6}]
    assert rollup._stored_distinct([one, two], Period(date(2025, 1, 1), date(2025, 1, 30)),
                                   []) is None  # a custom period: counted
    (total,) = services.usage([one, two], january, [])
    assert total.distinct_citizens == 6  # not 12: the same people at both libraries


def test_a_deleted_machine_leaves_the_rollup_with_its_bookings(app_ctx, people):
    branch, (printer, laser) = place("hoved", every_day("08:00", "20:00"),
                                     kinds=("3d-printer", "laser-cutter"))
    book(printer, people[0], utc(2025, 1, 6, 9))
    book(laser, people[1], utc(2025, 1, 7, 9), 2)
    rollup.refresh_days(utc(2025, 2, 10), limit=10**6)
    db.session.delete(laser)
    db.session.flush()
    db.session.expire_all()
    branch = db.session.get(Branch, branch.id)
    (row,) = services.usage([branch], Period(date(2025, 1, 1), date(2025, 1, 31)), [])
    assert (row.bookings, row.booked_hours) == (1, 1)


DISTINCT_KEYS = ([], ["branch"], ["kind"], ["month"], ["age_band"], ["branch", "kind"],
                 ["branch", "kind", "month"], ["branch", "age_band"])


def _distinct_both_ways(branches, period):
    """{keys: (worked out by the rollup, counted from the bookings)} for every grouping."""
    def ordered(rows):
        return sorted(rows, key=repr)
    return {tuple(keys): (ordered(rollup.distinct(branches, period, keys)),
                          ordered(rollup.count_distinct(branches, period, keys)))
            for keys in DISTINCT_KEYS}


def test_an_open_period_is_its_kept_numbers_plus_the_people_of_the_bookings_made_since(
        app_ctx, make_user):
    rng = random.Random(7)
    # bookings up to four weeks ahead of the tick on 20 May
    branches, people = random_months(make_user, rng, until=utc(2025, 6, 17))
    one, two, _three = branches
    kept_at = datetime.now(UTC)  # bookings are stamped by the wall clock
    for booking in db.session.scalars(db.select(Booking)):
        # a third of them made since the count (on any day of the period, ahead too)
        booking.created_at = kept_at + timedelta(minutes=1) if rng.random() < 0.3 \
            else kept_at - timedelta(days=rng.randrange(1, 60))
    db.session.flush()
    now = utc(2025, 5, 20, 12)
    rollup.refresh_days(now, limit=10**6)
    # settled: December, Q4 and 2024; January, February, March, Q1 and April 2025
    assert rollup.refresh_distinct(now, limit=100) == 8
    assert rollup.refresh_open(now, limit=10, made_before=kept_at) == 3
    assert rollup.refresh_open(now, limit=10, made_before=kept_at + timedelta(minutes=59)) == 0
    kept = db.session.get(StatsRollup, ("2025", ""))
    assert kept.made_before == kept_at
    open_periods = [Period(date(2025, 1, 1), date(2025, 12, 31)),
                    Period(date(2025, 4, 1), date(2025, 6, 30)),
                    Period(date(2025, 5, 1), date(2025, 5, 31))]
    for period in open_periods:
        for subset in (branches, [one], [two]):
            assert rollup._stored_distinct(subset, period, []) is not None
            for keys, (worked_out, counted) in _distinct_both_ways(subset, period).items():
                assert worked_out == counted, (subset, period, keys)
    # what is kept is not the answer alone: the bookings made since add people
    finest = ("branch", "kind", "month")
    kept_finest = json.loads(db.session.get(StatsRollup, ("2025", ",".join(finest))).rows)
    assert sorted(kept_finest, key=repr) != _distinct_both_ways(
        branches, open_periods[0])[finest][1]
    # A hold made before the count and taken since counts, as made when it was taken.
    newcomer = make_user("new@example.no")
    machine = db.session.scalars(db.select(Equipment).filter_by(branch_id=one.id)).first()
    held = book(machine, newcomer, utc(2025, 5, 27, 9), status=BookingStatus.HELD,
                age_band="16-25")
    held.created_at = kept_at - timedelta(hours=2)
    db.session.flush()
    (before,) = rollup.distinct(branches, open_periods[0], [])
    assert before == rollup.count_distinct(branches, open_periods[0], [])[0]
    held.status, held.created_at = BookingStatus.CONFIRMED, kept_at + timedelta(minutes=3)
    db.session.flush()  # what waits.services.take_hold does
    (after,) = rollup.distinct(branches, open_periods[0], [])
    assert after["distinct_citizens"] == before["distinct_citizens"] + 1
    # An hour on, the tick counts the open periods again, one a tick: the year first.
    later = kept_at + timedelta(hours=1, minutes=5)
    assert rollup.refresh_open(now, limit=1, made_before=later) == 1
    assert db.session.get(StatsRollup, ("2025", "")).made_before == later
    assert db.session.get(StatsRollup, ("2025-05", "")).made_before == kept_at
    assert json.loads(db.session.get(StatsRollup, ("2025", "")).rows) == [after]
    for keys, (worked_out, counted) in _distinct_both_ways(branches, open_periods[0]).items():
        assert worked_out == counted, keys
    # Once settled, the period is counted whole and its open numbers are replaced.
    settled = utc(2025, 7, 3, 12)
    rollup.refresh_days(settled, limit=10**6)
    rollup.refresh_distinct(settled, limit=100)
    assert db.session.get(StatsRollup, ("2025-05", "")).made_before is None
    for keys, (worked_out, counted) in _distinct_both_ways(branches, open_periods[2]).items():
        assert worked_out == counted, keys


def test_a_custom_period_is_a_kept_period_less_the_people_only_in_the_days_left_out(
        app_ctx, make_user):
    rng = random.Random(11)
    branches, _people = random_months(make_user, rng, until=utc(2025, 7, 5))
    one, two, three = branches
    rollup.refresh_days(utc(2026, 1, 10), limit=10**6)
    rollup.refresh_distinct(utc(2026, 1, 10), limit=100)
    trimmed = [Period(date(2025, 1, 2), date(2025, 12, 31)),  # the year less New Year's Day
               Period(date(2025, 1, 15), date(2025, 12, 20)),
               Period(date(2025, 3, 3), date(2025, 3, 31)),  # March less two days
               Period(date(2025, 4, 10), date(2025, 6, 30)),  # the quarter less 9 days
               Period(date(2025, 4, 3), date(2025, 6, 29))]  # Q2 less its first and last days
    for period in trimmed:
        for subset in (branches, [one], [three]):
            assert rollup._trimmed_distinct(subset, period, []) is not None, period
            for keys, (worked_out, counted) in _distinct_both_ways(subset, period).items():
                assert worked_out == counted, (subset, period, keys)
    # More left out than kept, or several libraries of one librarian: counted.
    assert rollup._trimmed_distinct(branches, Period(date(2025, 3, 1), date(2025, 5, 15)),
                                    []) is None
    assert rollup._trimmed_distinct([one, two], trimmed[0], []) is None
    for subset, period in ((branches, Period(date(2025, 3, 1), date(2025, 5, 15))),
                           ([one, two], trimmed[0])):
        for keys, (worked_out, counted) in _distinct_both_ways(subset, period).items():
            assert worked_out == counted, (subset, period, keys)
