"""The rollup: what every period's figures are added up from, so no page reads a year of
bookings.

- **Days** (`stats_days`, `stats_hours`; `stats_months`, `stats_week_hours`
  for whole months): once a local
  day has been over for a day (no-shows and completed bookings are marked within minutes,
  and past bookings are not changed after that), `refresh_days()` (run by `flask tick`)
  counts each machine's bookings that started on it, and each branch's by hour;
  `stats_coverage` says up to which day that is done. Any period (month, quarter, year,
  custom days, the current month) for any set of branches is the sum of its whole months'
  and other days' rows, plus the bookings of the days not rolled up yet (yesterday, today
  and any ahead), counted from the bookings: `summed()` and `heat()`.
- **Distinct citizens** cannot be added up: one person books on many days. For a closed
  calendar month, quarter or year, `refresh_distinct()` counts them once per grouping for all
  branches and keeps the numbers (`stats_rollups`; numbers only, never citizen keys); for an
  open one, `refresh_open()` counts all its days (those ahead too) but only the bookings
  made before a moment (`made_before`), again every hour. A page for all branches, or for
  one branch, reads them (`distinct()`): a settled period as kept; an open one as kept plus
  the people whose bookings made since are their first in it (`count_made_since`); a custom
  period inside a kept month, quarter or year that leaves out fewer days than it holds, as
  kept less the people who booked only in the days left out (`count_unseen`). Anything else
  (a long custom period, several branches of one librarian) counts distinct keys from the
  bookings' index.

  This is exact because a booking's grouping (machine, start, age band, citizen key) never
  changes once it is made, only its status, and the one status that does not count (a
  slot hold) is either deleted or taken, and a taken hold counts as made when it is taken
  (waits.services.take_hold).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, has_app_context, has_request_context
from sqlalchemy import delete, event, func, insert, inspect, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from makerspace import clock
from makerspace.booking.models import Booking, BookingJob, Equipment
from makerspace.branches.models import Branch
from makerspace.database import read_only_transaction, utcnow
from makerspace.extensions import db
from makerspace.stats.counting import (
    COUNTY_ZONE,
    GROUPS,
    JOB_MEASURES,
    MEASURES,
    Period,
    count_bookings,
    count_distinct,
    count_jobs,
    count_made_since,
    count_unseen,
    fetch_rows,
    job_measures,
    period_of,
)
from makerspace.stats.models import (
    StatsCoverage,
    StatsDay,
    StatsHour,
    StatsMonth,
    StatsRollup,
    StatsWeekHour,
)

# A month, quarter or year is counted for its distinct citizens once it has been over for
# SETTLED_DAYS; a day goes into the daily rollup once it has been over for DAY_SETTLED_DAYS.
SETTLED_DAYS = 2
DAY_SETTLED_DAYS = 1
PERIODS_PER_TICK = 1
DAYS_PER_TICK = 62
# An open period's numbers count the bookings made before a moment this much earlier than
# the count: a booking is stamped when it is written, moments before its transaction
# commits, and one still being committed must be among those made since, not lost.
COMMIT_MARGIN = timedelta(minutes=5)
# An open period is counted again once its numbers are this old: a page looks up the people
# of every booking made since.
OPEN_RECOUNT = timedelta(hours=1)
# The groupings whose distinct citizens the page (stats/tables.py) and the API (any part of
# GROUPS) ask for; with "branch" added, the same for a single branch.
ORDER = (*GROUPS, "age_band")
_API = [[g for i, g in enumerate(GROUPS) if mask & (1 << i)] for mask in range(8)]
DISTINCT_GROUPINGS = [*_API, ["age_band"], ["branch", "age_band"]]
SUMMED_KEYS = {"branch", "kind", "month", "equipment"}
# What the day and month rows keep: the bookings' counts and their jobs'.
ROLLED = (*MEASURES, *JOB_MEASURES)


def label(period: Period) -> str | None:
    """"2025-06", "2025-Q2" or "2025" when the period is exactly that; else None."""
    first = period.first
    if first.day != 1:
        return None
    if period == period_of("month", first):
        return f"{first:%Y-%m}"
    if period == period_of("year", first) and first.month == 1:
        return f"{first.year}"
    if period == period_of("quarter", first) and first.month % 3 == 1:
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    return None


def _key(keys: Iterable[str]) -> str:
    return ",".join(k for k in ORDER if k in keys)


def _memo(name: str, build: Any) -> Any:
    if not has_app_context():
        return build()
    if name not in g:
        setattr(g, name, build())
    return getattr(g, name)


def _all_branches() -> list[int]:
    return _memo("stats_all_branches", lambda: list(
        db.session.scalars(select(Branch.id).order_by(Branch.id))))


def covered_until() -> date | None:
    """The first local day that is not in the daily rollup (None: nothing is)."""
    return _memo("stats_covered_until", lambda: db.session.scalar(
        select(StatsCoverage.days_until).where(StatsCoverage.id == 1)))


# -- reading -----------------------------------------------------------------------------------

def _split(period: Period) -> tuple[Period | None, Period | None]:
    """The period's rolled-up days and the days after them."""
    until = covered_until()
    if until is None or until <= period.first:
        return None, period
    if period.last < until:
        return period, None
    return Period(period.first, until - timedelta(days=1)), Period(until, period.last)


def _add_up(parts: Iterable[list[dict[str, Any]]], keys: Sequence[str],
            measures: Sequence[str]) -> list[dict[str, Any]]:
    totals: dict[tuple, dict[str, Any]] = {}
    for rows in parts:
        for row in rows:
            key = tuple(row[k] for k in keys)
            found = totals.setdefault(key, {**{k: row[k] for k in keys},
                                            **{m: 0 for m in measures}})
            for name in measures:
                found[name] += int(row.get(name) or 0)
    return list(totals.values())


def _from_rows(model: Any, branches: Sequence[Branch], where: Any, keys: Sequence[str]
               ) -> list[dict[str, Any]]:
    columns = {"branch": Equipment.branch_id, "kind": Equipment.kind,
               "month": model.month, "equipment": model.equipment_id}
    grouped = [columns[k].label(k) for k in keys]
    query = (select(*grouped, *(func.sum(getattr(model, m)).label(m) for m in ROLLED))
             .select_from(model).join(Equipment, Equipment.id == model.equipment_id)
             .where(Equipment.branch_id.in_([b.id for b in branches]), where))
    return fetch_rows(query.group_by(*grouped) if grouped else query, keys)


def _whole_months(rolled: Period) -> tuple[list[str], list[Period]]:
    """The whole months of the rolled-up days, and the days before and after them."""
    months = [period_of("month", date.fromisoformat(f"{m}-01")) for m in rolled.months()]
    whole = [m for m in months if rolled.first <= m.first and m.last <= rolled.last]
    if not whole:
        return [], [rolled]
    edges = [Period(rolled.first, whole[0].first - timedelta(days=1)),
             Period(whole[-1].last + timedelta(days=1), rolled.last)]
    return [f"{m.first:%Y-%m}" for m in whole], [e for e in edges if e.first <= e.last]


def _rolled_parts(branches: Sequence[Branch], rolled: Period, keys: Sequence[str]
                  ) -> list[list[dict[str, Any]]]:
    """Whole months from stats_months, the days before and after them from stats_days."""
    whole, days = _whole_months(rolled)
    parts = [_from_rows(StatsMonth, branches, StatsMonth.month.in_(whole), keys)] if whole \
        else []
    for part in days:
        parts.append(_from_rows(StatsDay, branches, StatsDay.day.between(part.first, part.last),
                                keys))
    return parts


def summed(branches: Sequence[Branch], period: Period, keys: Sequence[str]
           ) -> list[dict[str, Any]]:
    """The MEASURES and JOB_MEASURES of the bookings that start in the period, grouped by
    `keys` (branch, kind, month, equipment): the rolled-up days' rows added up, plus the
    later days counted from the bookings and their jobs. One row per combination that had
    bookings."""
    if not branches:
        return []
    if not set(keys) <= SUMMED_KEYS:
        raise ValueError(f"cannot add up by {keys}")
    rolled, rest = _split(period)
    parts = []
    if rolled is not None:
        parts.extend(_rolled_parts(branches, rolled, keys))
    if rest is not None:
        parts.append(_later_days(branches, rest, keys))
    return _add_up(parts, keys, ROLLED)


def _later_days(branches: Sequence[Branch], rest: Period, keys: Sequence[str]
                ) -> list[dict[str, Any]]:
    """The MEASURES and JOB_MEASURES of the days not rolled up yet, grouped by `keys` (any
    of SUMMED_KEYS): counted from the bookings and their jobs once per request (a page asks
    for six groupings), by machine and month, and added up from those rows for every
    grouping."""
    ids = tuple(sorted(b.id for b in branches))
    memo = g.setdefault("stats_later_days", {}) if has_request_context() else {}
    if (ids, rest) not in memo:
        # by machine (its library and kind come with it) and month: the finest grouping
        finest = sorted(SUMMED_KEYS)
        memo[(ids, rest)] = _add_up([count_bookings(branches, rest, finest),
                                     count_jobs(branches, rest, finest)], finest, ROLLED)
    return _add_up([memo[(ids, rest)]], keys, ROLLED)


def heat(branches: Sequence[Branch], period: Period) -> list[list[int]]:
    """Bookings (not cancelled) by local weekday (0 = Monday) and hour of their start."""
    grid = [[0] * 24 for _ in range(7)]
    if not branches:
        return grid
    rolled, rest = _split(period)
    ids = [b.id for b in branches]
    if rolled is not None:
        whole, days = _whole_months(rolled)
        queries = [select(StatsWeekHour.weekday, StatsWeekHour.hour,
                          func.sum(StatsWeekHour.bookings))
                   .where(StatsWeekHour.branch_id.in_(ids), StatsWeekHour.month.in_(whole))
                   .group_by(StatsWeekHour.weekday, StatsWeekHour.hour)] if whole else []
        queries += [select(StatsHour.weekday, StatsHour.hour, func.sum(StatsHour.bookings))
                    .where(StatsHour.branch_id.in_(ids),
                           StatsHour.day.between(part.first, part.last))
                    .group_by(StatsHour.weekday, StatsHour.hour) for part in days]
        for query in queries:
            for weekday, hour, bookings in db.session.execute(query):
                grid[int(weekday)][int(hour)] += int(bookings)
    if rest is not None:
        for row in count_bookings(branches, rest, ["weekday", "hour"]):
            grid[int(row["weekday"])][int(row["hour"])] += row["bookings"] - row["cancellations"]
    return grid


def _kept(branches: Sequence[Branch], period: Period, keys: Sequence[str]
          ) -> tuple[StatsRollup, list[str]] | None:
    """The kept numbers a page for these branches and this period can be answered from
    (all branches, or one: then by branch too), with the keys they are grouped by."""
    name = label(period)
    if name is None:
        return None
    ids = sorted(b.id for b in branches)
    if ids == _all_branches():
        grouping = list(keys)
    elif len(ids) == 1:
        grouping = ["branch", *(k for k in keys if k != "branch")]
    else:
        return None
    if _key(grouping) not in {_key(g) for g in DISTINCT_GROUPINGS}:
        return None
    found = db.session.get(StatsRollup, (name, _key(grouping)))
    return (found, [k for k in ORDER if k in grouping]) if found is not None else None


def _answer(branches: Sequence[Branch], rows: list[dict[str, Any]], grouping: Sequence[str],
            keys: Sequence[str]) -> list[dict[str, Any]]:
    """Kept or worked-out rows as `distinct()` answers them: one branch's rows only, grouped
    by `keys`; a grouping nobody is left in has no row (as when counted)."""
    if len(branches) == 1 and "branch" in grouping:
        rows = [row for row in rows if row["branch"] == branches[0].id]
    return [{**{k: row[k] for k in keys}, "distinct_citizens": row["distinct_citizens"]}
            for row in rows if row["distinct_citizens"] > 0]


def _stored_distinct(branches: Sequence[Branch], period: Period, keys: Sequence[str]
                     ) -> list[dict[str, Any]] | None:
    """The period's distinct citizens from kept numbers: as kept for a settled period; for
    an open one, the kept numbers plus the people whose bookings made since are their first
    in the period (with the same grouping values)."""
    kept = _kept(branches, period, keys)
    if kept is None:
        return None
    found, grouping = kept
    rows = json.loads(found.rows)
    if found.made_before is not None:
        added = count_made_since(branches, period, found.made_before, grouping)
        rows = _add_up([rows, added], grouping, ["distinct_citizens"])
    return _answer(branches, rows, grouping, keys)


def _enclosing(period: Period) -> list[Period]:
    """The calendar month, quarter and year around the period, shortest first."""
    around = [period_of(kind, period.first) for kind in ("month", "quarter", "year")]
    return [p for p in around if p.last >= period.last]


def _trimmed_distinct(branches: Sequence[Branch], period: Period, keys: Sequence[str]
                      ) -> list[dict[str, Any]] | None:
    """A custom period's distinct citizens from a settled month, quarter or year around it
    that is kept, when the days it leaves out are fewer than its own: the kept numbers less
    the people who booked only in the days left out."""
    for around in _enclosing(period):
        if around.days - period.days >= period.days:
            break
        kept = _kept(branches, around, keys)
        if kept is None or kept[0].made_before is not None:
            continue
        found, grouping = kept
        left_out = [part for part in (Period(around.first, period.first - timedelta(days=1)),
                                      Period(period.last + timedelta(days=1), around.last))
                    if part.first <= part.last]
        gone = count_unseen(branches, around, left_out, period, grouping)
        rows = _add_up([json.loads(found.rows),
                        [{**row, "distinct_citizens": -row["distinct_citizens"]}
                         for row in gone]], grouping, ["distinct_citizens"])
        return _answer(branches, rows, grouping, keys)
    return None


def distinct(branches: Sequence[Branch], period: Period, keys: Sequence[str]
             ) -> list[dict[str, Any]]:
    """Distinct citizens of the bookings that start in the period, grouped by `keys`
    (branch, kind, month, age_band), for all branches or one: from kept numbers of the
    period, or of a settled month, quarter or year around it; else (and for several
    branches of one librarian) counted from the bookings."""
    if not branches:
        return []
    for worked_out in (_stored_distinct, _trimmed_distinct):
        rows = worked_out(branches, period, keys)
        if rows is not None:
            return rows
    return count_distinct(branches, period, keys)


# -- writing -----------------------------------------------------------------------------------

def _today(now: datetime | None) -> date:
    return (now or clock.now()).astimezone(COUNTY_ZONE).date()


def _first_booking_day() -> date | None:
    first_start = db.session.scalar(select(func.min(Booking.start_at)))
    # a day early: a branch west of the county has its days later in UTC
    return first_start.date() - timedelta(days=1) if first_start is not None else None


def _next_chunk(start: date, settled_before: date) -> Period:
    """From `start` to the end of its month, or to the last settled day."""
    return Period(start, min(period_of("month", start).last,
                             settled_before - timedelta(days=1)))


def _day_rows(branches: Sequence[Branch], days: Period) -> tuple[list[dict], list[dict]]:
    per_machine = [{"day": row["day"], "equipment_id": row["equipment"],
                    "month": f"{row['day']:%Y-%m}", **{m: row[m] for m in MEASURES},
                    **dict.fromkeys(JOB_MEASURES, 0)}
                   for row in count_bookings(branches, days, ["equipment", "day"])]
    per_hour = [{"day": row["day"], "branch_id": row["branch"], "hour": int(row["hour"]),
                 "weekday": row["day"].weekday(),
                 "bookings": row["bookings"] - row["cancellations"]}
                for row in count_bookings(branches, days, ["branch", "day", "hour"])
                if row["bookings"] > row["cancellations"]]
    return per_machine, per_hour


def _advance(old: date | None, new: date) -> bool:
    """Move the coverage from `old` to `new`; False when another process already did."""
    if old is None:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        table = StatsCoverage.__table__
        # RETURNING: psycopg tells no row count for INSERT ... ON CONFLICT DO NOTHING
        return db.session.execute(dialect.insert(table).values(id=1, days_until=new)
                                  .on_conflict_do_nothing(index_elements=["id"])
                                  .returning(table.c.id)).first() is not None
    result = db.session.execute(update(StatsCoverage).where(
        StatsCoverage.id == 1, StatsCoverage.days_until == old).values(days_until=new))
    return result.rowcount == 1


def _with_jobs(per_machine: list[dict], branches: Sequence[Branch], days: Period) -> None:
    """Put the jobs of the days' bookings in their rows. Counted in the transaction that
    moves the coverage, after it has: a job changed meanwhile is either seen here or waits
    for the coverage and is added to its day (add_job_change), never neither."""
    rows = {(row["equipment_id"], row["day"]): row for row in per_machine}
    for counted in count_jobs(branches, days, ["equipment", "day"]):
        row = rows.get((counted["equipment"], counted["day"]))
        if row is not None:  # a job's booking is among the day's bookings
            row.update({m: counted[m] for m in JOB_MEASURES})


def _add_month(day: date) -> None:
    """The month of `day`, all of whose days are rolled up: its rows per machine."""
    month = period_of("month", day)
    sums = [func.sum(getattr(StatsDay, m)) for m in ROLLED]
    db.session.execute(insert(StatsMonth).from_select(
        ["month", "equipment_id", *ROLLED],
        select(StatsDay.month, StatsDay.equipment_id, *sums)
        .where(StatsDay.day.between(month.first, month.last))
        .group_by(StatsDay.month, StatsDay.equipment_id)))
    db.session.execute(insert(StatsWeekHour).from_select(
        ["month", "branch_id", "weekday", "hour", "bookings"],
        select(literal(f"{month.first:%Y-%m}"), StatsHour.branch_id, StatsHour.weekday,
               StatsHour.hour, func.sum(StatsHour.bookings))
        .where(StatsHour.day.between(month.first, month.last))
        .group_by(StatsHour.branch_id, StatsHour.weekday, StatsHour.hour)))


def refresh_days(now: datetime | None = None, *, limit: int = DAYS_PER_TICK,
                 commit: bool = False) -> int:
    """Roll up to about `limit` settled days that are not rolled up yet (a month at a
    time); returns how many days.

    With `commit` each month is counted in a reading transaction and written in a short one
    of its own, so counting never holds SQLite's write lock while people book."""
    settled_before = _today(now) - timedelta(days=DAY_SETTLED_DAYS)
    done = 0
    while done < limit:
        if commit:
            read_only_transaction(db.session)
        old = db.session.scalar(select(StatsCoverage.days_until).where(StatsCoverage.id == 1))
        start = old or _first_booking_day()
        if start is None or start >= settled_before:
            break
        if old is None:
            # First a coverage row that covers nothing: a job changed while the first days
            # are rolled up must find a row to wait on (add_job_change).
            if commit:
                db.session.rollback()
            _advance(None, start)
            db.session.flush()
            if commit:
                db.session.commit()
            continue
        days = _next_chunk(start, settled_before)
        branches = list(db.session.scalars(select(Branch)))
        per_machine, per_hour = _day_rows(branches, days)
        if commit:
            db.session.rollback()  # end the reading transaction; write in a new one
        if not _advance(old, days.last + timedelta(days=1)):
            if commit:
                db.session.rollback()  # another tick got there first
            break
        _with_jobs(per_machine, branches, days)
        for model, rows in ((StatsDay, per_machine), (StatsHour, per_hour)):
            if rows:
                db.session.execute(insert(model), rows)
        if days.last == period_of("month", days.last).last:
            _add_month(days.last)
        db.session.flush()
        if commit:
            db.session.commit()
        done += days.days
    if commit:
        db.session.rollback()  # end the last reading transaction
    if has_app_context():
        g.pop("stats_covered_until", None)
    return done


def _settled_periods(today: date) -> list[Period]:
    """Settled months, quarters and years since the first booking."""
    first_start = db.session.scalar(select(func.min(Booking.start_at)))
    if first_start is None:
        return []
    first_day = first_start.astimezone(COUNTY_ZONE).date()
    # from January, so the quarter and year of the first booking are counted too
    first = first_day.replace(month=1, day=1)
    settled_before = today - timedelta(days=SETTLED_DAYS)
    periods: list[Period] = []
    day = first
    while day <= settled_before:
        for kind in ("month", "quarter", "year"):
            period = period_of(kind, day)
            if period.first == day and first_day <= period.last < settled_before:
                periods.append(period)
        day = period_of("month", day).last + timedelta(days=1)
    # the latest first, and of those ending together the longest (a year's page needs it)
    return sorted(periods, key=lambda p: (p.last, p.days), reverse=True)


def refresh_distinct(now: datetime | None = None, *, limit: int = PERIODS_PER_TICK,
                     commit: bool = False) -> int:
    """Count the distinct citizens of up to `limit` settled periods that are not kept yet;
    returns how many periods."""
    today = _today(now)
    if commit:
        read_only_transaction(db.session)
    done = set(db.session.scalars(select(StatsRollup.period).distinct()
                                  .where(StatsRollup.made_before.is_(None))))
    branches = list(db.session.scalars(select(Branch)))
    counted = 0
    for period in _settled_periods(today):
        name = label(period)
        if name in done or counted >= limit:
            continue
        rows = [StatsRollup(period=name, grouping=_key(grouping), rows=json.dumps(
            count_distinct(branches, period, grouping))) for grouping in DISTINCT_GROUPINGS]
        _keep(name, rows, commit)
        counted += 1
    if commit:
        db.session.rollback()
    return counted


def _keep(name: str, rows: list[StatsRollup], commit: bool) -> None:
    """Put a period's counted rows in place of what was kept for it."""
    if commit:
        db.session.rollback()  # end the reading transaction; write in a new one
    db.session.execute(delete(StatsRollup).where(StatsRollup.period == name))
    db.session.add_all(rows)
    db.session.flush()
    if commit:
        db.session.commit()
        read_only_transaction(db.session)


def _open_periods(today: date) -> list[Period]:
    """The months, quarters and years that have begun and are not settled: the longest
    first (a year's page is the one that would read the most)."""
    settled_before = today - timedelta(days=SETTLED_DAYS)
    periods = {period_of(kind, day) for kind in ("year", "quarter", "month")
               for day in (settled_before, today)}
    return sorted((p for p in periods if p.last >= settled_before),
                  key=lambda p: (-p.days, p.first))


def refresh_open(now: datetime | None = None, *, limit: int = PERIODS_PER_TICK,
                 commit: bool = False, made_before: datetime | None = None) -> int:
    """Count the distinct citizens of up to `limit` open months, quarters and years whose
    kept numbers are missing or OPEN_RECOUNT old: all their days, the bookings made before
    `made_before` (by default COMMIT_MARGIN ago); returns how many periods.

    A page for such a period adds the people of the bookings made since (`_stored_distinct`),
    which reads an hour's bookings instead of the period's."""
    today = _today(now)
    made_before = made_before or utcnow() - COMMIT_MARGIN
    if commit:
        read_only_transaction(db.session)
    kept = dict(db.session.execute(select(StatsRollup.period, StatsRollup.made_before)
                                   .distinct()).all())
    branches = list(db.session.scalars(select(Branch)))
    counted = 0
    for period in _open_periods(today):
        if counted >= limit:
            break
        name = label(period)
        if name in kept and (kept[name] is None or kept[name] > made_before - OPEN_RECOUNT):
            continue  # settled meanwhile, or counted lately
        _keep(name, [StatsRollup(period=name, grouping=_key(grouping), made_before=made_before,
                                 rows=json.dumps(count_distinct(branches, period, grouping,
                                                                made_before=made_before)))
                     for grouping in DISTINCT_GROUPINGS], commit)
        counted += 1
    if commit:
        db.session.rollback()
    return counted


def refresh_rollup(now: datetime | None = None, *, limit: int = PERIODS_PER_TICK,
                   commit: bool = False) -> int:
    """The tick's share: roll up settled days (about DAYS_PER_TICK × `limit`), then count
    the distinct citizens of up to `limit` settled periods and of up to `limit` open ones;
    returns how many settled periods."""
    refresh_days(now, limit=DAYS_PER_TICK * limit, commit=commit)
    counted = refresh_distinct(now, limit=limit, commit=commit)
    refresh_open(now, limit=limit, commit=commit)
    return counted


_COUNTED_FIELDS = ("material_unit", "material_amount", "ended_at", "outcome")


def _counted(job: BookingJob, *, before: bool) -> dict[str, int]:
    """What the job adds to JOB_MEASURES now, or (`before`) as it was loaded (a new job:
    nothing)."""
    values = []
    for name in _COUNTED_FIELDS:
        history = inspect(job).attrs[name].history
        if before and history.has_changes():  # the columns keep their old values (models)
            values.append(history.deleted[0] if history.deleted else None)
        else:
            values.append(getattr(job, name))
    unit, amount, ended_at, outcome = values
    return job_measures(unit, amount, ended_at is not None, outcome)


def add_job_change(_mapper: Any, connection: Any, job: BookingJob) -> None:
    """A job written after its booking's day was rolled up changes that day's and month's
    rows by what it changed (material recorded or corrected, the job ended). Sent in the
    job's own flush, so it is committed with the change or not at all; the rows are changed
    by adding, so two changes at once both count."""
    before, after = _counted(job, before=True), _counted(job, before=False)
    change = {name: after[name] - before[name] for name in JOB_MEASURES
              if after[name] != before[name]}
    if not change:
        return
    # shared lock: the rollup moves the coverage and counts the jobs in one transaction
    covered = connection.execute(select(StatsCoverage.days_until).where(StatsCoverage.id == 1)
                                 .with_for_update(read=True)).scalar()
    if covered is None:
        return
    booked = connection.execute(
        select(Booking.equipment_id, Booking.start_at, Branch.timezone)
        .join(Equipment, Equipment.id == Booking.equipment_id)
        .join(Branch, Branch.id == Equipment.branch_id)
        .where(Booking.id == job.booking_id)).one()
    day = booked.start_at.astimezone(ZoneInfo(booked.timezone)).date()
    if day >= covered:
        return  # counted with its day
    for model, where in ((StatsDay, StatsDay.day == day),
                         (StatsMonth, StatsMonth.month == f"{day:%Y-%m}")):
        connection.execute(update(model).where(where, model.equipment_id == booked.equipment_id)
                           .values({name: getattr(model, name) + amount
                                    for name, amount in change.items()}))


def connect() -> None:
    """Follow every job written (called once by create_app; idempotent)."""
    for name in ("after_insert", "after_update"):
        if not event.contains(BookingJob, name, add_job_change):
            event.listen(BookingJob, name, add_job_change)


def forget_rollup() -> None:
    """Drop every kept day and period (they are counted again by the next ticks)."""
    for model in (StatsRollup, StatsDay, StatsMonth, StatsHour, StatsWeekHour,
                  StatsCoverage):
        db.session.execute(delete(model))
    db.session.flush()
    if has_app_context():
        g.pop("stats_covered_until", None)

