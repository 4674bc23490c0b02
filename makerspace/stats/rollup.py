"""The rollup: figures of closed calendar months, quarters and years, counted once.

A county's year holds a million bookings; counting them again for every page view would take
seconds (distinct citizens above all, which cannot be added up from smaller periods). Once a
month, quarter or year has been over for SETTLED_DAYS (no-shows and completed bookings are
marked within minutes, and past bookings are not changed after that), `refresh_rollup()`
(run by `flask tick`, a few periods per tick) counts it for every grouping the page and the
API ask for, for all branches together, and keeps the rows. `cached_figures` answers from
them when a page or the API asks about all branches for exactly such a period; everything
else (the current month, custom periods, a librarian's own branches) is counted when asked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flask import g, has_app_context
from sqlalchemy import delete, func, select

from makerspace import clock
from makerspace.booking.models import Booking
from makerspace.branches.models import Branch
from makerspace.database import read_only_transaction
from makerspace.extensions import db
from makerspace.stats.models import StatsRollup
from makerspace.stats.services import (
    COUNTY_ZONE,
    GROUPS,
    Period,
    live_booking_figures,
    period_of,
)

SETTLED_DAYS = 2
PERIODS_PER_TICK = 1
# Every grouping asked for by the page (stats/tables.py) and the API (any part of GROUPS).
_API = [[g for i, g in enumerate(GROUPS) if mask & (1 << i)] for mask in range(8)]
GROUPINGS = [*_API, ["equipment"], ["age_band"], ["weekday", "hour"]]


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


def _key(keys: Sequence[str]) -> str:
    return ",".join(keys)


def _all_branches() -> list[int]:
    if not has_app_context():
        return list(db.session.scalars(select(Branch.id).order_by(Branch.id)))
    if "stats_all_branches" not in g:
        g.stats_all_branches = list(db.session.scalars(select(Branch.id).order_by(Branch.id)))
    return g.stats_all_branches


def cached_figures(branches: Sequence[Branch], period: Period,
                   keys: Sequence[str]) -> list[dict[str, Any]] | None:
    """The kept rows, if this is all branches and a rolled-up period; else None."""
    name = label(period)
    if name is None or _key(keys) not in {_key(g) for g in GROUPINGS}:
        return None
    if sorted(b.id for b in branches) != _all_branches():
        return None
    found = db.session.get(StatsRollup, (name, _key(keys)))
    return json.loads(found.rows) if found is not None else None


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


def refresh_rollup(now: datetime | None = None, *, limit: int = PERIODS_PER_TICK,
                   commit: bool = False) -> int:
    """Count up to `limit` settled periods that are not rolled up yet; returns how many.

    With `commit` (the tick, after its own work is committed) each period is counted in a
    reading transaction and written in a short one of its own, so a long count never holds
    SQLite's write lock while people book."""
    today = (now or clock.now()).astimezone(COUNTY_ZONE).date()
    if commit:
        read_only_transaction(db.session)
    done = set(db.session.scalars(select(StatsRollup.period).distinct()))
    branches = list(db.session.scalars(select(Branch)))
    counted = 0
    for period in _settled_periods(today):
        name = label(period)
        if name in done or counted >= limit:
            continue
        rows = [StatsRollup(period=name, grouping=_key(grouping), rows=json.dumps(
            live_booking_figures(branches, period, grouping))) for grouping in GROUPINGS]
        if commit:
            db.session.rollback()  # end the reading transaction; write in a new one
        db.session.add_all(rows)
        db.session.flush()
        if commit:
            db.session.commit()
            read_only_transaction(db.session)
        counted += 1
    if commit:
        db.session.rollback()
    return counted


def forget_rollup() -> None:
    """Drop every kept period (they are counted again by the next ticks)."""
    db.session.execute(delete(StatsRollup))
    db.session.flush()
