"""Counting bookings in the database: the period, local months, days and hours in SQL, and
the live GROUP BY over the bookings that the rollup (rollup.py) and the figures
(services.py) build on.

One statement per grouping, the same on SQLite and PostgreSQL: local months, days and hours
are worked out with the zone's UTC offsets computed here, not with the database's own zone
support.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    cast,
    distinct,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.sqltypes import NullType

from makerspace.booking.models import (
    Booking,
    BookingJob,
    BookingStatus,
    Cancellation,
    Equipment,
    EquipmentKind,
    JobOutcome,
    MaterialUnit,
)
from makerspace.branches.hours import local_moment
from makerspace.branches.models import Branch
from makerspace.extensions import db

GROUPS = ("branch", "kind", "month")
# Whose "today" picks the default period and when a day is over: the county's.
COUNTY_ZONE = ZoneInfo("Europe/Oslo")
# The summable counts of bookings (everything but distinct citizens).
MEASURES = ("bookings", "booked_seconds", "checked_in", "no_shows", "cancellations",
            "cancelled_by_citizen", "cancelled_by_staff", "cancelled_out_of_service",
            "first_time", "without_account")
# What the jobs of those bookings add (booking_jobs): the material recorded, in thousandths
# of the machine's unit so that sums stay exact integers, and the jobs ended and failed.
MATERIAL_MEASURES = {MaterialUnit.GRAMS: "grams_milli", MaterialUnit.METRES: "metres_milli",
                     MaterialUnit.SHEETS: "sheets_milli"}
JOB_MEASURES = (*MATERIAL_MEASURES.values(), "jobs_ended", "jobs_failed")

# -- seconds since 1970 in SQL, the same on both databases ------------------------------------

class epoch_seconds(FunctionElement):  # noqa: N801  (a SQL function, named like one)
    """Whole seconds since 1970-01-01 UTC of a UTC timestamp column."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    if sqlite3.sqlite_version_info >= (3, 38):
        return f"unixepoch({column})"  # two to three times faster than strftime
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"



class few_rows(FunctionElement):  # noqa: N801  (a SQL function, named like one)
    """A condition that few rows meet, said so to SQLite's planner, which has no histogram:
    it then reads the index on the condition's column instead of one on a wider range."""

    type = NullType()  # not Boolean: SQLite would be sent "likelihood(...) = 1"
    inherit_cache = True
    name = "few_rows"


@compiles(few_rows, "sqlite")
def _few_rows_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.001)"


@compiles(few_rows)
def _few_rows(element: Any, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)  # PostgreSQL estimates it from the index


# -- the period ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Local dates [first, last], both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def months(self) -> list[str]:
        """Every month the period touches, as "YYYY-MM"."""
        months, day = [], self.first.replace(day=1)
        while day <= self.last:
            months.append(f"{day:%Y-%m}")
            day = next_month(day)
        return months

    def year_before(self) -> Period:
        return Period(_minus_year(self.first), _minus_year(self.last))

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        """The period in UTC for a time zone: [first 00:00, the day after last 00:00)."""
        tz = ZoneInfo(zone)
        return local_moment(self.first, 0, tz), local_moment(self.last + timedelta(days=1), 0, tz)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _minus_year(day: date) -> date:
    return day.replace(year=day.year - 1, day=28) if (day.month, day.day) == (2, 29) \
        else day.replace(year=day.year - 1)



def period_of(kind: str, anchor: date) -> Period:
    """The month, quarter or year that holds `anchor`."""
    if kind == "year":
        return Period(date(anchor.year, 1, 1), date(anchor.year, 12, 31))
    if kind == "quarter":
        first = date(anchor.year, 3 * ((anchor.month - 1) // 3) + 1, 1)
    else:
        first = anchor.replace(day=1)
    following = first
    for _ in range(3 if kind == "quarter" else 1):
        following = next_month(following)
    return Period(first, following - timedelta(days=1))




# -- local months and hours in SQL -------------------------------------------------------------

def _offsets(zone: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(from, UTC offset in seconds)] covering [start, end): one entry per DST stretch."""
    tz = ZoneInfo(zone)
    result: list[tuple[datetime, int]] = []
    moment = start
    while moment < end:
        offset = int(moment.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]
        if not result or result[-1][1] != offset:
            result.append((moment, offset))
        moment += timedelta(hours=1)
    return result


def by_zone(branches: Sequence[Branch]) -> dict[str, list[int]]:
    zones: dict[str, list[int]] = defaultdict(list)
    for branch in branches:
        zones[branch.timezone].append(branch.id)
    return dict(zones)


def _per_zone(zones: dict[str, list[int]], build: Any, equipment: Any = Equipment
              ) -> ColumnElement:
    """One expression per time zone, chosen by the machine's branch."""
    if len(zones) == 1:
        return build(next(iter(zones)))
    return case(*((equipment.branch_id.in_(ids), build(zone)) for zone, ids in zones.items()))


def _month_expression(period: Period, zone: str, column: Any) -> ColumnElement:
    tz = ZoneInfo(zone)
    months = period.months()
    whens = []
    day = period.first.replace(day=1)
    for month in months[:-1]:
        day = next_month(day)
        whens.append((column < local_moment(day, 0, tz), month))
    return case(*whens, else_=months[-1]) if whens else literal_column(f"'{months[0]}'")


def _local_seconds(period: Period, zone: str, column: Any) -> ColumnElement:
    start, end = period.bounds(zone)
    stretches = _offsets(zone, start, end)
    offset: Any = stretches[-1][1]
    if len(stretches) > 1:
        offset = case(*((column < until, off) for (_s, off), (until, _o)
                        in zip(stretches, stretches[1:], strict=False)),
                      else_=stretches[-1][1])
    return epoch_seconds(column) + offset


# -- bookings ----------------------------------------------------------------------------------

ACTIVE = tuple(BookingStatus.active())
CHECKED_IN = (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)


def count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def booking_keys(period: Period, zones: dict[str, list[int]], keys: Iterable[str], *,
                 booking: Any = Booking, equipment: Any = Equipment) -> list[tuple[str, Any]]:
    """The grouping columns (labelled by their keys) of bookings in the period; months are
    named by the period's months. `booking` and `equipment` may be aliases."""
    start = booking.start_at
    columns: dict[str, Any] = {
        "branch": lambda: equipment.branch_id,
        "kind": lambda: equipment.kind,
        "equipment": lambda: booking.equipment_id,
        "age_band": lambda: booking.age_band,
        "month": lambda: _per_zone(zones, lambda z: _month_expression(period, z, start),
                                   equipment),
        "weekday": lambda: _per_zone(zones, lambda z: (
            _local_seconds(period, z, start) // 86400 + 3) % 7, equipment),
        "hour": lambda: _per_zone(zones, lambda z: (
            _local_seconds(period, z, start) % 86400) // 3600, equipment),
        # local days since 1970-01-01 (see local_day)
        "day": lambda: _per_zone(zones, lambda z: (
            _local_seconds(period, z, start) // 86400), equipment),
    }
    return [(key, columns[key]().label(key)) for key in keys]




def local_day(number: int) -> date:
    """The local date of a "day" key (days since 1970-01-01)."""
    return EPOCH_DAY + timedelta(days=int(number))


EPOCH_DAY = date(1970, 1, 1)


def in_period(period: Period, zones: dict[str, list[int]], column: Any,
               owner: Any) -> ColumnElement:
    parts = []
    for zone, ids in zones.items():
        start, end = period.bounds(zone)
        parts.append(and_(owner.in_(ids), column >= start, column < end))
    return or_(*parts)


def grouped_by(query: Any, grouped: list[tuple[str, Any]]) -> Any:
    # by the output names: PostgreSQL sees two bound copies of one CASE as different
    return query.group_by(*(literal_column(key) for key, _c in grouped)) if grouped else query


def fetch_rows(query: Any, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of a grouped count as dicts: counts as ints, kinds as their values, "day"
    keys as dates."""
    rows = []
    for row in db.session.execute(query).mappings():
        values = {name: (value if name in keys or value is None else int(value))
                  for name, value in row.items()}
        if values.get("kind") is not None:
            values["kind"] = EquipmentKind(values["kind"]).value
        if "day" in keys:
            values["day"] = local_day(values["day"])
        rows.append(values)
    return rows


def count_bookings(branches: Sequence[Branch], period: Period, keys: Sequence[str]
                   ) -> list[dict[str, Any]]:
    """The MEASURES of the bookings that start in the period, grouped by `keys` (branch,
    kind, month, day, equipment, age_band, weekday, hour): one GROUP BY over them."""
    if not branches:
        return []
    zones = by_zone(branches)
    grouped = booking_keys(period, zones, keys)
    seconds = epoch_seconds(Booking.end_at) - epoch_seconds(Booking.start_at)
    query = (select(
        *(column for _k, column in grouped),
        func.count().label("bookings"),
        func.coalesce(func.sum(case((Booking.status.in_(ACTIVE), seconds), else_=0)),
                      0).label("booked_seconds"),
        count_if(Booking.status.in_(CHECKED_IN)).label("checked_in"),
        count_if(Booking.status == BookingStatus.NO_SHOW).label("no_shows"),
        count_if(Booking.status == BookingStatus.CANCELLED).label("cancellations"),
        count_if(Booking.cancellation == Cancellation.BY_CITIZEN).label("cancelled_by_citizen"),
        count_if(Booking.cancellation == Cancellation.BY_STAFF).label("cancelled_by_staff"),
        count_if(Booking.cancellation == Cancellation.OUT_OF_SERVICE).label(
            "cancelled_out_of_service"),
        count_if(Booking.first_booking).label("first_time"),
        count_if(Booking.citizen_key.is_(None)).label("without_account"),
    ).select_from(Booking).join(Equipment, Equipment.id == Booking.equipment_id)
        .where(in_period(period, zones, Booking.start_at, Equipment.branch_id),
               Booking.status != BookingStatus.HELD))  # a hold is not a booking yet
    return fetch_rows(grouped_by(query, grouped), keys)


def job_measures(unit: MaterialUnit | str | None, amount: float | None, ended: bool,
                 outcome: JobOutcome | str | None) -> dict[str, int]:
    """What one job adds to JOB_MEASURES (the rule count_jobs counts in SQL)."""
    counted = dict.fromkeys(JOB_MEASURES, 0)
    if unit is not None and amount is not None:
        counted[MATERIAL_MEASURES[MaterialUnit(unit)]] = round(amount * 1000)
    counted["jobs_ended"] = int(ended)
    counted["jobs_failed"] = int(ended and outcome == JobOutcome.FAILED)
    return counted


def count_jobs(branches: Sequence[Branch], period: Period, keys: Sequence[str]
               ) -> list[dict[str, Any]]:
    """The JOB_MEASURES of the bookings that start in the period, grouped by `keys` (as
    count_bookings); a combination without jobs has no row."""
    if not branches:
        return []
    zones = by_zone(branches)
    grouped = booking_keys(period, zones, keys)
    milli = cast(func.round(BookingJob.material_amount * 1000), BigInteger)
    ended = BookingJob.ended_at.is_not(None)
    query = (select(
        *(column for _k, column in grouped),
        *(func.coalesce(func.sum(case((BookingJob.material_unit == unit, milli), else_=0)),
                        0).label(name) for unit, name in MATERIAL_MEASURES.items()),
        count_if(ended).label("jobs_ended"),
        count_if(and_(ended, BookingJob.outcome == JobOutcome.FAILED)).label("jobs_failed"),
    ).select_from(BookingJob).join(Booking, Booking.id == BookingJob.booking_id)
        .join(Equipment, Equipment.id == Booking.equipment_id)
        .where(in_period(period, zones, Booking.start_at, Equipment.branch_id)))
    return fetch_rows(grouped_by(query, grouped), keys)


def count_distinct(branches: Sequence[Branch], period: Period, keys: Sequence[str], *,
                   made_before: datetime | None = None) -> list[dict[str, Any]]:
    """Distinct citizen keys of the bookings that start in the period (and, if given, were
    made before `made_before`), grouped by `keys`, read from the index ix_bookings_stats:
    distinct people cannot be added up from smaller parts."""
    if not branches:
        return []
    zones = by_zone(branches)
    grouped = booking_keys(period, zones, keys)
    made = [] if made_before is None else [Booking.created_at < made_before]
    query = (select(*(column for _k, column in grouped),
                    func.count(distinct(Booking.citizen_key)).label("distinct_citizens"))
             .select_from(Booking).join(Equipment, Equipment.id == Booking.equipment_id)
             .where(counted_person(zones, [period]), *made))
    return fetch_rows(grouped_by(query, grouped), keys)


def counted_person(zones: dict[str, list[int]], periods: Sequence[Period], *,
                   booking: Any = Booking, equipment: Any = Equipment) -> ColumnElement:
    """A booking whose booker counts among the distinct citizens of these periods: it
    starts in one of them, has a citizen key (guests have none) and is not a hold."""
    return and_(or_(*(in_period(part, zones, booking.start_at, equipment.branch_id)
                      for part in periods)),
                booking.citizen_key.is_not(None), booking.status != BookingStatus.HELD)


def count_unseen(branches: Sequence[Branch], period: Period, among: Sequence[Period],
                 seen_in: Period, keys: Sequence[str]) -> list[dict[str, Any]]:
    """For each grouping by `keys` (months named by `period`), how many citizen keys booked
    in the `among` periods but not in `seen_in` (with the same grouping values).

    With the distinct citizens of one part of a period kept, this gives the rest exactly:
    what the other part adds (or what leaving it out takes away)."""
    if not among:
        return []
    return _count_unseen(
        branches, period, keys,
        found=lambda zones, booking, machine: counted_person(
            zones, among, booking=booking, equipment=machine),
        seen=lambda zones, booking, machine: counted_person(
            zones, [seen_in], booking=booking, equipment=machine))


def count_made_since(branches: Sequence[Branch], period: Period, moment: datetime,
                     keys: Sequence[str]) -> list[dict[str, Any]]:
    """For each grouping by `keys`, how many citizen keys have bookings in the period made at
    or after `moment` and none made before it (with the same grouping values): what the
    bookings made since add to the period's distinct citizens kept at `moment`. The bookings
    made since are found by ix_bookings_created_at, so the cost follows how many there are."""
    return _count_unseen(
        branches, period, keys,
        found=lambda zones, booking, machine: and_(
            few_rows(booking.created_at >= moment),
            counted_person(zones, [period], booking=booking, equipment=machine)),
        seen=lambda zones, booking, machine: and_(
            booking.created_at < moment,
            counted_person(zones, [period], booking=booking, equipment=machine)))


def _count_unseen(branches: Sequence[Branch], period: Period, keys: Sequence[str], *,
                  found: Any, seen: Any) -> list[dict[str, Any]]:
    """How many citizen keys of the bookings that meet `found` have no booking that meets
    `seen` with the same grouping values, per grouping by `keys`. Both are called with
    (zones, booking, machine). Each person found is looked up through ix_bookings_people,
    and the lookup stops at their first booking that meets `seen`."""
    if not branches:
        return []
    zones = by_zone(branches)
    grouped = booking_keys(period, zones, keys)
    people = (select(*(column for _k, column in grouped),
                     Booking.citizen_key.label("citizen_key"))
              .select_from(Booking).join(Equipment, Equipment.id == Booking.equipment_id)
              .where(found(zones, Booking, Equipment)).distinct().subquery("found"))
    earlier, machine = aliased(Booking), aliased(Equipment)
    same = [column.is_not_distinct_from(people.c[key]) for key, column in booking_keys(
        period, zones, keys, booking=earlier, equipment=machine)]
    seen_before = (select(literal_column("1")).select_from(earlier)
                   .join(machine, machine.id == earlier.equipment_id)
                   .where(earlier.citizen_key == people.c.citizen_key,
                          seen(zones, earlier, machine), *same))
    columns = [people.c[key].label(key) for key in keys]
    query = (select(*columns, func.count().label("distinct_citizens")).select_from(people)
             .where(~seen_before.exists()))
    return fetch_rows(query.group_by(*columns) if columns else query, keys)
