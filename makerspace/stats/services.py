"""The figures: usage of machines and courses per branch, kind and month, for a period.

Bookings are added up from the daily rollup and counted from the bookings only for the days
not rolled up yet (makerspace/stats/rollup.py); distinct citizens come from kept numbers or
the bookings' index. What Python adds is the bookable time, from the branches' opening hours
and the machines' outages, which are few. Every figure is defined in docs/statistics.md; every
count of distinct people below STATS_MIN_COUNT is hidden.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from makerspace import clock
from makerspace.accounts.models import AGE_BANDS, User
from makerspace.booking.models import (
    Equipment,
    EquipmentKind,
    EquipmentOutage,
)
from makerspace.branches.hours import local_moment, opening_intervals
from makerspace.branches.models import Branch
from makerspace.errors import Forbidden, InvalidInput
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.extensions import db
from makerspace.stats import rollup
from makerspace.stats.counting import COUNTY_ZONE as COUNTY_ZONE  # the pages' and API's names
from makerspace.stats.counting import GROUPS as GROUPS
from makerspace.stats.counting import (
    JOB_MEASURES,
    MATERIAL_MEASURES,
    MEASURES,
    Period,
    by_zone,
    count_if,
    in_period,
    next_month,
)
from makerspace.stats.counting import period_of as period_of

MAX_PERIOD_DAYS = 3 * 366 + 1


class InvalidPeriod(InvalidInput):
    code = "invalid_period"
    title = _l("The period is not valid.")


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


# -- bookings ----------------------------------------------------------------------------------

def booking_figures(branches: Sequence[Branch], period: Period, keys: Sequence[str], *,
                    distinct: bool = True) -> list[dict[str, Any]]:
    """The MEASURES and (with `distinct`) distinct citizens of the bookings that start in the
    period, grouped by `keys` (branch, kind, month, equipment): one row per combination that
    had bookings."""
    rows = {tuple(row[k] for k in keys): {**row, "distinct_citizens": 0}
            for row in rollup.summed(branches, period, keys)}
    if distinct:
        for row in rollup.distinct(branches, period, keys):
            key = tuple(row[k] for k in keys)
            found = rows.setdefault(key, {**{k: row[k] for k in keys},
                                          **{m: 0 for m in MEASURES}})
            found["distinct_citizens"] = row["distinct_citizens"]
    return list(rows.values())


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


def bookable_seconds(branches: Sequence[Branch], period: Period
                     ) -> dict[tuple[int, str], float]:
    """{(equipment id, month): seconds} a machine could be booked in the period: its
    branch's opening hours (weekly hours, date exceptions, public holidays; in local time,
    so a DST day is 23 or 25 hours long) from when the machine was added, less its outages.
    Worked out once per request for the same branches and period."""
    if not branches:
        return {}
    memo = g.setdefault("stats_bookable", {}) if has_app_context() else {}
    memo_key = (tuple(sorted(b.id for b in branches)), period)
    if memo_key not in memo:
        memo[memo_key] = _bookable_seconds(branches, period)
    return memo[memo_key]


def _bookable_seconds(branches: Sequence[Branch], period: Period
                      ) -> dict[tuple[int, str], float]:
    by_id = {b.id: b for b in branches}
    # plain rows, not objects: hundreds of machines × months are looked at below
    query = select(Equipment.id, Equipment.branch_id, Equipment.created_at).where(
        Equipment.branch_id.in_(by_id))
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
            following = next_month(day)
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


def machines(branches: Sequence[Branch]) -> dict[int, Equipment]:
    """The branches' machines by id (once per request)."""
    memo = g.setdefault("stats_machines", {}) if has_app_context() else {}
    key = tuple(sorted(b.id for b in branches))
    if key not in memo:
        memo[key] = _machines(branches)
    return memo[key]


def _machines(branches: Sequence[Branch]) -> dict[int, Equipment]:
    query = select(Equipment).where(Equipment.branch_id.in_([b.id for b in branches]))
    return {m.id: m for m in db.session.scalars(query)} if branches else {}


# -- the API's rows ----------------------------------------------------------------------------

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


def usage(branches: Sequence[Branch], period: Period, group: Sequence[str], *,
          distinct: bool = True) -> list[Figures]:
    """Figures per combination of `group` (a subset of GROUPS, in that order); a machine
    that could be booked but was not has a row with zero bookings. Without `distinct`,
    distinct citizens are left at 0 (the month trend does not show them)."""
    group = [g for g in GROUPS if g in group]
    by_key: dict[tuple, Figures] = {}
    slugs = {b.id: b.slug for b in branches}

    def row_for(values: dict[str, Any]) -> Figures:
        key = tuple(values[g] for g in group)
        if key not in by_key:
            by_key[key] = Figures(key=dict(zip(group, key, strict=True)))
        return by_key[key]

    for row in booking_figures(branches, period, group, distinct=distinct):
        values = {**row, "branch": slugs.get(row.get("branch"))}
        if "branch" in group and values["branch"] is None:
            continue  # a branch deleted since its period was rolled up
        figures = row_for(values)
        for name in MEASURES:
            setattr(figures, name, getattr(figures, name) + (row[name] or 0))
        figures.distinct_citizens = row["distinct_citizens"] or 0
    # the machines' own keys once, not once per machine and month
    keyed = {machine_id: {"branch": slugs[m.branch_id], "kind": EquipmentKind(m.kind).value}
             for machine_id, m in machines(branches).items()}
    for (machine_id, month), seconds in bookable_seconds(branches, period).items():
        row_for({**keyed[machine_id], "month": month}).bookable_seconds += seconds
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
              for row in rollup.distinct(branches, period, ["age_band"])}
    bands = [name for name, _low, _high in AGE_BANDS]
    return [{"band": band, "distinct_citizens": shown_count(counts.get(band, 0))}
            for band in [*bands, None]]


def week_heat_map(branches: Sequence[Branch], period: Period) -> list[list[int]]:
    """Bookings (not cancelled) by local weekday (0 = Monday) and hour of their start."""
    return rollup.heat(branches, period)


def machine_usage(branches: Sequence[Branch], period: Period) -> list[dict[str, Any]]:
    """Each machine's booked hours and utilisation, most used first."""
    known = machines(branches)
    booked = {row["equipment"]: row["booked_seconds"]
              for row in rollup.summed(branches, period, ["equipment"])}
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
    now = usage(branches, period, ["month"], distinct=False)
    before = {f.key["month"]: f for f in usage(branches, period.year_before(), ["month"],
                                                 distinct=False)}
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
    zones = by_zone(branches)
    held = and_(Event.status != EventStatus.CANCELLED, Event.end_at <= now)
    starts_in = in_period(period, zones, Event.start_at, Event.branch_id)
    events = {row.branch_id: row for row in db.session.execute(
        select(Event.branch_id, func.count().label("held"),
               func.coalesce(func.sum(Event.capacity), 0).label("seats"))
        .where(starts_in, held).group_by(Event.branch_id))}
    # Sign-ups counted per course first (one pass over them), then added up per branch: no
    # index on sign-ups by course alone is needed.
    per_event = (select(
        Signup.event_id,
        count_if(Signup.status == SignupStatus.CONFIRMED).label("signups"),
        count_if(Signup.attended_at.is_not(None)).label("attended"),
        count_if(Signup.status == SignupStatus.WAITLISTED).label("waitlisted"))
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
        .where(starts_in, held).group_by(Event.branch_id))}
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


# -- jobs and material --------------------------------------------------------------------------

# The material columns: one per unit a kind of machine counts material in.
def job_figures(branches: Sequence[Branch], period: Period) -> list[dict[str, Any]]:
    """Per branch and month (of the bookings' start, local time): the material recorded per
    unit, the jobs ended, the failed jobs and the failed-job rate (failed ÷ ended; None
    without ended jobs). Added up from the rollup like the bookings' figures, on columns the
    retention sweep keeps (no person); a branch and month without jobs has no row."""
    slugs = {b.id: b.slug for b in branches}
    rows = []
    for row in sorted(rollup.summed(branches, period, ["branch", "month"]),
                      key=lambda r: (r["branch"], r["month"])):
        if not any(row[name] for name in JOB_MEASURES) or row["branch"] not in slugs:
            continue
        ended, failed = row["jobs_ended"], row["jobs_failed"]
        rows.append({"branch": slugs[row["branch"]], "month": row["month"],
                     **{name.removesuffix("_milli"): round(row[name] / 1000, 3)
                        for name in MATERIAL_MEASURES.values()},
                     "ended": ended, "failed": failed,
                     "failed_rate": round(failed / ended, 4) if ended else None})
    return rows


# -- periods the page offers -------------------------------------------------------------------

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
