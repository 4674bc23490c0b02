"""The figures: usage of machines and courses per branch, kind and month, for a period.

Counting happens in the database (one GROUP BY per table, the same statement on SQLite and
PostgreSQL: local months and hours are worked out with the zone's UTC offsets computed here,
not with the database's own zone support). What Python adds is the bookable time, from the
branches' opening hours and the machines' outages, which are few. Every figure is defined in
docs/statistics.md; every count of distinct people below STATS_MIN_COUNT is hidden.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    distinct,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from makerspace import clock
from makerspace.accounts.models import AGE_BANDS, User
from makerspace.booking.models import (
    Booking,
    BookingStatus,
    Cancellation,
    Equipment,
    EquipmentKind,
    EquipmentOutage,
)
from makerspace.branches.hours import local_moment, opening_intervals
from makerspace.branches.models import Branch
from makerspace.errors import Forbidden, InvalidInput
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.extensions import db

GROUPS = ("branch", "kind", "month")
# Whose "today" picks the default period: the county's.
COUNTY_ZONE = ZoneInfo("Europe/Oslo")
MAX_PERIOD_DAYS = 3 * 366 + 1


class InvalidPeriod(InvalidInput):
    code = "invalid_period"
    title = _l("The period is not valid.")


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


# -- the period and who may see what -----------------------------------------------------------

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
            day = _next_month(day)
        return months

    def year_before(self) -> Period:
        return Period(_minus_year(self.first), _minus_year(self.last))

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        """The period in UTC for a time zone: [first 00:00, the day after last 00:00)."""
        tz = ZoneInfo(zone)
        return local_moment(self.first, 0, tz), local_moment(self.last + timedelta(days=1), 0, tz)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _minus_year(day: date) -> date:
    return day.replace(year=day.year - 1, day=28) if (day.month, day.day) == (2, 29) \
        else day.replace(year=day.year - 1)


def checked_period(first: date, last: date) -> Period:
    """The period, if it runs forwards and is at most about three years long."""
    if last < first:
        raise InvalidPeriod(_l("The period must end on or after the day it starts."),
                            field="to")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidPeriod(_l("The period may be at most three years long."), field="to")
    return Period(first, last)


def branches_for(user: User) -> list[Branch]:
    """The branches whose figures the user may see: all for admins, their own for
    librarians; citizens none (Forbidden)."""
    if user.is_admin:
        return list(db.session.scalars(select(Branch).order_by(Branch.name)))
    if user.is_staff:
        return sorted(user.branches, key=lambda b: b.name)
    raise Forbidden()


def min_count() -> int:
    return int(current_app.config.get("STATS_MIN_COUNT", 5))


def shown_count(count: int | None) -> int | str:
    """A count of distinct people as shown anywhere: below STATS_MIN_COUNT it is "<N"."""
    limit = min_count()
    return f"<{limit}" if (count or 0) < limit else int(count or 0)


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


def _by_zone(branches: Sequence[Branch]) -> dict[str, list[int]]:
    zones: dict[str, list[int]] = defaultdict(list)
    for branch in branches:
        zones[branch.timezone].append(branch.id)
    return dict(zones)


def _per_zone(zones: dict[str, list[int]], build: Any) -> ColumnElement:
    """One expression per time zone, chosen by the machine's branch."""
    if len(zones) == 1:
        return build(next(iter(zones)))
    return case(*((Equipment.branch_id.in_(ids), build(zone)) for zone, ids in zones.items()))


def _month_expression(period: Period, zone: str, column: Any) -> ColumnElement:
    tz = ZoneInfo(zone)
    months = period.months()
    whens = []
    day = period.first.replace(day=1)
    for month in months[:-1]:
        day = _next_month(day)
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


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _booking_keys(period: Period, zones: dict[str, list[int]], keys: Iterable[str]
                  ) -> list[tuple[str, Any]]:
    columns: dict[str, Any] = {
        "branch": lambda: Equipment.branch_id,
        "kind": lambda: Equipment.kind,
        "equipment": lambda: Booking.equipment_id,
        "age_band": lambda: Booking.age_band,
        "month": lambda: _per_zone(zones, lambda z: _month_expression(
            period, z, Booking.start_at)),
        "weekday": lambda: _per_zone(zones, lambda z: (
            _local_seconds(period, z, Booking.start_at) // 86400 + 3) % 7),
        "hour": lambda: _per_zone(zones, lambda z: (
            _local_seconds(period, z, Booking.start_at) % 86400) // 3600),
    }
    return [(key, columns[key]().label(key)) for key in keys]


def _in_period(period: Period, zones: dict[str, list[int]], column: Any,
               owner: Any) -> ColumnElement:
    parts = []
    for zone, ids in zones.items():
        start, end = period.bounds(zone)
        parts.append(and_(owner.in_(ids), column >= start, column < end))
    return or_(*parts)


def booking_figures(branches: Sequence[Branch], period: Period, keys: Sequence[str],
                    kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Booking counts grouped by `keys` (branch, kind, month, equipment, age_band, weekday,
    hour). For every branch and a closed calendar month, quarter or year, from the rollup
    `flask tick` keeps (makerspace/stats/rollup.py); otherwise counted now."""
    if not kinds and branches:
        from makerspace.stats.rollup import cached_figures  # the rollup builds on this module

        cached = cached_figures(branches, period, keys)
        if cached is not None:
            return cached
    return live_booking_figures(branches, period, keys, kinds)


def live_booking_figures(branches: Sequence[Branch], period: Period, keys: Sequence[str],
                         kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Booking counts grouped by `keys`: one GROUP BY over the bookings that start in the
    period."""
    if not branches:
        return []
    zones = _by_zone(branches)
    grouped = _booking_keys(period, zones, keys)
    seconds = epoch_seconds(Booking.end_at) - epoch_seconds(Booking.start_at)
    query = (select(
        *(column for _k, column in grouped),
        func.count().label("bookings"),
        func.coalesce(func.sum(case((Booking.status.in_(ACTIVE), seconds), else_=0)),
                      0).label("booked_seconds"),
        _count_if(Booking.status.in_(CHECKED_IN)).label("checked_in"),
        _count_if(Booking.status == BookingStatus.NO_SHOW).label("no_shows"),
        _count_if(Booking.status == BookingStatus.CANCELLED).label("cancellations"),
        _count_if(Booking.cancellation == Cancellation.BY_CITIZEN).label("cancelled_by_citizen"),
        _count_if(Booking.cancellation == Cancellation.BY_STAFF).label("cancelled_by_staff"),
        _count_if(Booking.cancellation == Cancellation.OUT_OF_SERVICE).label(
            "cancelled_out_of_service"),
        func.count(distinct(Booking.citizen_key)).label("distinct_citizens"),
        _count_if(Booking.first_booking).label("first_time"),
        _count_if(Booking.citizen_key.is_(None)).label("without_account"),
    ).select_from(Booking).join(Equipment, Equipment.id == Booking.equipment_id)
        .where(_in_period(period, zones, Booking.start_at, Equipment.branch_id),
               Booking.status != BookingStatus.HELD))  # a hold is not a booking yet
    if kinds:
        query = query.where(Equipment.kind.in_(kinds))
    if grouped:
        # by the output names: PostgreSQL sees two bound copies of one CASE as different
        query = query.group_by(*(literal_column(key) for key, _c in grouped))
    rows = []
    for row in db.session.execute(query).mappings():
        values = {name: (value if name in keys or value is None else int(value))
                  for name, value in row.items()}
        if "kind" in values and values["kind"] is not None:
            values["kind"] = EquipmentKind(values["kind"]).value
        rows.append(values)
    return rows


# -- bookable time -----------------------------------------------------------------------------

def _clip(intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
          ) -> list[tuple[datetime, datetime]]:
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and start < e]


def _minus(intervals: list[tuple[datetime, datetime]],
           holes: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    for hole_start, hole_end in holes:
        left = []
        for s, e in intervals:
            if hole_end <= s or e <= hole_start:
                left.append((s, e))
                continue
            if s < hole_start:
                left.append((s, hole_start))
            if hole_end < e:
                left.append((hole_end, e))
        intervals = left
    return intervals


def bookable_seconds(branches: Sequence[Branch], period: Period,
                     kinds: Sequence[str] | None = None) -> dict[tuple[int, str], float]:
    """{(equipment id, month): seconds} a machine could be booked in the period: its
    branch's opening hours (weekly hours, date exceptions, public holidays; in local time,
    so a DST day is 23 or 25 hours long) from when the machine was added, less its outages.
    Worked out once per request for the same branches and period."""
    if not branches:
        return {}
    memo = g.setdefault("stats_bookable", {}) if has_app_context() else {}
    memo_key = (tuple(sorted(b.id for b in branches)), period, tuple(kinds or ()))
    if memo_key not in memo:
        memo[memo_key] = _bookable_seconds(branches, period, kinds)
    return memo[memo_key]


def _bookable_seconds(branches: Sequence[Branch], period: Period,
                      kinds: Sequence[str] | None) -> dict[tuple[int, str], float]:
    by_id = {b.id: b for b in branches}
    # plain rows, not objects: hundreds of machines × months are looked at below
    query = select(Equipment.id, Equipment.branch_id, Equipment.created_at).where(
        Equipment.branch_id.in_(by_id))
    if kinds:
        query = query.where(Equipment.kind.in_(kinds))
    machines = db.session.execute(query).all()
    outages: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    far = datetime(3000, 1, 1, tzinfo=UTC)
    if machines:
        for outage in db.session.scalars(select(EquipmentOutage).where(
                EquipmentOutage.equipment_id.in_([m.id for m in machines]))):
            outages[outage.equipment_id].append((outage.start_at, outage.end_at or far))
    months_of_branch: dict[int, list[tuple[str, datetime, list[tuple[datetime, datetime]],
                                           float]]] = {}
    for branch in branches:
        tz = ZoneInfo(branch.timezone)
        open_at = [(i.start, i.end) for i in opening_intervals(branch, period.first,
                                                                 period.days)]
        ends = [e for _s, e in open_at]  # in order: the intervals do not overlap
        per_month = []
        day = period.first.replace(day=1)
        for month in period.months():
            following = _next_month(day)
            start = local_moment(max(day, period.first), 0, tz)
            end = local_moment(min(following, period.last + timedelta(days=1)), 0, tz)
            clipped = _clip(open_at[bisect_right(ends, start):bisect_left(ends, end) + 1],
                            start, end)
            per_month.append((month, start, clipped,
                              sum((e - s).total_seconds() for s, e in clipped)))
            day = following
        months_of_branch[branch.id] = per_month
    result: dict[tuple[int, str], float] = {}
    for machine_id, branch_id, created_at in machines:
        holes = outages.get(machine_id, [])
        for month, start, intervals, whole in months_of_branch[branch_id]:
            if created_at <= start and not holes:
                result[(machine_id, month)] = whole  # the common case: nothing to take off
                continue
            usable = _minus(_clip(intervals, created_at, far), holes)
            result[(machine_id, month)] = sum((e - s).total_seconds() for s, e in usable)
    return result


def machines(branches: Sequence[Branch], kinds: Sequence[str] | None = None
             ) -> dict[int, Equipment]:
    """The branches' machines by id (once per request)."""
    memo = g.setdefault("stats_machines", {}) if has_app_context() else {}
    key = (tuple(sorted(b.id for b in branches)), tuple(kinds or ()))
    if key not in memo:
        memo[key] = _machines(branches, kinds)
    return memo[key]


def _machines(branches: Sequence[Branch], kinds: Sequence[str] | None
              ) -> dict[int, Equipment]:
    query = select(Equipment).where(Equipment.branch_id.in_([b.id for b in branches]))
    if kinds:
        query = query.where(Equipment.kind.in_(kinds))
    return {m.id: m for m in db.session.scalars(query)} if branches else {}


# -- the API's rows ----------------------------------------------------------------------------

MEASURES = ("bookings", "booked_seconds", "checked_in", "no_shows", "cancellations",
            "cancelled_by_citizen", "cancelled_by_staff", "cancelled_out_of_service",
            "first_time", "without_account")


@dataclass
class Figures:
    """One row of figures; `distinct_citizens` and `first_time` are raw counts here."""

    key: dict[str, Any]
    bookings: int = 0
    booked_seconds: float = 0
    bookable_seconds: float = 0
    checked_in: int = 0
    no_shows: int = 0
    cancellations: int = 0
    cancelled_by_citizen: int = 0
    cancelled_by_staff: int = 0
    cancelled_out_of_service: int = 0
    distinct_citizens: int = 0
    first_time: int = 0
    without_account: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def booked_hours(self) -> float:
        return round(self.booked_seconds / 3600, 2)

    @property
    def bookable_hours(self) -> float:
        return round(self.bookable_seconds / 3600, 2)

    @property
    def utilisation(self) -> float | None:
        """Booked hours ÷ bookable hours; None when nothing was bookable."""
        if not self.bookable_seconds:
            return None
        return round(self.booked_seconds / self.bookable_seconds, 4)

    @property
    def checked_in_rate(self) -> float | None:
        decided = self.checked_in + self.no_shows
        return round(self.checked_in / decided, 4) if decided else None

    @property
    def no_show_rate(self) -> float | None:
        decided = self.checked_in + self.no_shows
        return round(self.no_shows / decided, 4) if decided else None

    def shown(self, name: str) -> int | str:
        return shown_count(getattr(self, name))


def usage(branches: Sequence[Branch], period: Period, group: Sequence[str],
          kinds: Sequence[str] | None = None) -> list[Figures]:
    """Figures per combination of `group` (a subset of GROUPS, in that order); a machine
    that could be booked but was not has a row with zero bookings."""
    group = [g for g in GROUPS if g in group]
    by_key: dict[tuple, Figures] = {}
    slugs = {b.id: b.slug for b in branches}

    def row_for(values: dict[str, Any]) -> Figures:
        key = tuple(values[g] for g in group)
        if key not in by_key:
            by_key[key] = Figures(key=dict(zip(group, key, strict=True)))
        return by_key[key]

    for row in booking_figures(branches, period, group, kinds):
        values = {**row, "branch": slugs.get(row.get("branch"))}
        if "branch" in group and values["branch"] is None:
            continue  # a branch deleted since its period was rolled up
        figures = row_for(values)
        for name in MEASURES:
            setattr(figures, name, getattr(figures, name) + (row[name] or 0))
        figures.distinct_citizens = row["distinct_citizens"] or 0
    known = machines(branches, kinds)
    for (machine_id, month), seconds in bookable_seconds(branches, period, kinds).items():
        machine = known[machine_id]
        kind = EquipmentKind(machine.kind).value
        row_for({"branch": slugs[machine.branch_id], "kind": kind,
                 "month": month}).bookable_seconds += seconds
    return [by_key[k] for k in sorted(by_key, key=lambda k: tuple(str(v) for v in k))]


def api_rows(figures: Iterable[Figures]) -> list[dict[str, Any]]:
    """The rows of GET /api/v1/stats: the grouping's keys, then the contract's figures."""
    return [{**f.key, "bookings": f.bookings, "booked_hours": f.booked_hours,
             "utilisation": f.utilisation, "no_shows": f.no_shows,
             "cancellations": f.cancellations,
             "distinct_citizens": f.shown("distinct_citizens")} for f in figures]


# -- the page's other tables -------------------------------------------------------------------

def age_bands(branches: Sequence[Branch], period: Period) -> list[dict[str, Any]]:
    """Distinct citizens per age band (under 16, 16–25, 26–66, 67+, unknown)."""
    counts = {row["age_band"]: row["distinct_citizens"]
              for row in booking_figures(branches, period, ["age_band"])}
    bands = [name for name, _low, _high in AGE_BANDS]
    return [{"band": band, "distinct_citizens": shown_count(counts.get(band, 0))}
            for band in [*bands, None]]


def week_heat_map(branches: Sequence[Branch], period: Period) -> list[list[int]]:
    """Bookings (not cancelled) by local weekday (0 = Monday) and hour of their start."""
    grid = [[0] * 24 for _ in range(7)]
    for row in booking_figures(branches, period, ["weekday", "hour"]):
        grid[int(row["weekday"])][int(row["hour"])] += row["bookings"] - row["cancellations"]
    return grid


def machine_usage(branches: Sequence[Branch], period: Period) -> list[dict[str, Any]]:
    """Each machine's booked hours and utilisation, most used first."""
    known = machines(branches)
    booked = {row["equipment"]: row["booked_seconds"]
              for row in booking_figures(branches, period, ["equipment"])}
    bookable: dict[int, float] = defaultdict(float)
    for (machine_id, _month), seconds in bookable_seconds(branches, period).items():
        bookable[machine_id] += seconds
    names = {b.id: b.name for b in branches}
    rows = []
    for machine_id, machine in known.items():
        seconds, possible = booked.get(machine_id, 0) or 0, bookable.get(machine_id, 0)
        rows.append({"name": machine.name, "branch": names[machine.branch_id],
                     "kind": EquipmentKind(machine.kind).value,
                     "booked_hours": round(seconds / 3600, 2),
                     "utilisation": round(seconds / possible, 4) if possible else None})
    rows.sort(key=lambda r: (-(r["utilisation"] or 0), -r["booked_hours"], r["name"]))
    return rows


def monthly_trend(branches: Sequence[Branch], period: Period) -> list[dict[str, Any]]:
    """Per month of the period: bookings and booked hours, and the same month a year before."""
    now = usage(branches, period, ["month"])
    before = {f.key["month"]: f for f in usage(branches, period.year_before(), ["month"])}
    by_month = {f.key["month"]: f for f in now}
    rows = []
    for month in period.months():
        year, number = int(month[:4]), month[5:]
        current, earlier = by_month.get(month), before.get(f"{year - 1}-{number}")
        rows.append({"month": month,
                     "bookings": current.bookings if current else 0,
                     "booked_hours": current.booked_hours if current else 0,
                     "utilisation": current.utilisation if current else None,
                     "bookings_year_before": earlier.bookings if earlier else 0,
                     "booked_hours_year_before": earlier.booked_hours if earlier else 0})
    return rows


def course_figures(branches: Sequence[Branch], period: Period, *,
                   now: datetime | None = None) -> list[dict[str, Any]]:
    """Per branch: courses held (ended, not cancelled), seats offered, sign-ups, attendance,
    waitlist demand and certifications granted through courses; one GROUP BY per table."""
    if not branches:
        return []
    now = now or clock.now()
    zones = _by_zone(branches)
    held = and_(Event.status != EventStatus.CANCELLED, Event.end_at <= now)
    in_period = _in_period(period, zones, Event.start_at, Event.branch_id)
    events = {row.branch_id: row for row in db.session.execute(
        select(Event.branch_id, func.count().label("held"),
               func.coalesce(func.sum(Event.capacity), 0).label("seats"))
        .where(in_period, held).group_by(Event.branch_id))}
    # Sign-ups counted per course first (one pass over them), then added up per branch: no
    # index on sign-ups by course alone is needed.
    per_event = (select(
        Signup.event_id,
        _count_if(Signup.status == SignupStatus.CONFIRMED).label("signups"),
        _count_if(Signup.attended_at.is_not(None)).label("attended"),
        _count_if(Signup.status == SignupStatus.WAITLISTED).label("waitlisted"))
        .group_by(Signup.event_id).subquery())
    signups = {row.branch_id: row for row in db.session.execute(
        select(Event.branch_id,
               func.sum(per_event.c.signups).label("signups"),
               func.sum(per_event.c.attended).label("attended"),
               func.sum(per_event.c.waitlisted).label("waitlisted"),
               func.coalesce(func.sum(case((Event.grants_certification_id.is_not(None),
                                            per_event.c.attended), else_=0)), 0
                             ).label("certified"))
        .select_from(Event).join(per_event, per_event.c.event_id == Event.id)
        .where(in_period, held).group_by(Event.branch_id))}
    rows = []
    for branch in branches:
        e, s = events.get(branch.id), signups.get(branch.id)
        rows.append({"branch": branch.name, "slug": branch.slug,
                     "held": int(e.held) if e else 0, "seats": int(e.seats) if e else 0,
                     "signups": int(s.signups) if s else 0,
                     "attended": int(s.attended) if s else 0,
                     "waitlisted": int(s.waitlisted) if s else 0,
                     "certified": int(s.certified) if s else 0})
    totals = {key: sum(r[key] for r in rows) for key in
              ("held", "seats", "signups", "attended", "waitlisted", "certified")}
    return [*rows, {"branch": None, "slug": None, **totals}]


# -- periods the page offers -------------------------------------------------------------------

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
        following = _next_month(following)
    return Period(first, following - timedelta(days=1))


PERIOD_KINDS = ("month", "quarter", "year", "custom")


def _day(text: str | None, field_name: str) -> date:
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidPeriod(_l("Give a date as YYYY-MM-DD."), field=field_name) from None
    if not date(2000, 1, 1) <= day <= date(2999, 12, 31):
        raise InvalidPeriod(_l("Give a date between the years 2000 and 2999."),
                            field=field_name)
    return day


def chosen_period(kind: str | None, day: str | None, first: str | None, last: str | None,
                  today: date) -> tuple[str, Period]:
    """The period a page asks for: a month, quarter or year holding `day` (default today),
    or a custom period from `first` to `last`; the default is this month."""
    kind = kind if kind in PERIOD_KINDS else "month"
    if kind == "custom":
        return kind, checked_period(_day(first, "from"), _day(last, "to"))
    return kind, period_of(kind, _day(day, "day") if day else today)
