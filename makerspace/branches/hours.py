"""Opening hours: weekly intervals, date exceptions and Norwegian public holidays."""

from __future__ import annotations

import importlib.util
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from makerspace.branches.models import (
    Branch,
    DateException,
    StaffedHours,
    WeeklyHours,
    new_hours_version,
)
from makerspace.errors import InvalidInput
from makerspace.extensions import db

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


class InvalidHours(InvalidInput):
    code = "invalid_hours"
    title = _l("The opening hours are not valid.")


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open period [start, end) in UTC."""

    start: datetime
    end: datetime

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


def parse_clock(text: str) -> int:
    """'08:30' -> 510 minutes after midnight; '24:00' is the end of the day."""
    match = _HHMM.match(text.strip())
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise InvalidHours(_("“%(text)s” is not a time of day (HH:MM).", text=text))
    return minutes


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _checked_intervals(pairs: Iterable[Sequence[str]]) -> list[tuple[int, int]]:
    if not isinstance(pairs, list | tuple):
        raise InvalidHours(_("Each weekday needs a list of [opens, closes] pairs."))
    intervals = []
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2 or not all(
                isinstance(clock, str) for clock in pair):
            raise InvalidHours(_("Each interval needs an opening and a closing time."))
        opens, closes = parse_clock(pair[0]), parse_clock(pair[1])
        if opens >= closes:
            raise InvalidHours(_("The library must open before it closes (%(opens)s–%(closes)s).",
                                 opens=pair[0], closes=pair[1]))
        intervals.append((opens, closes))
    intervals.sort()
    for (_o1, c1), (o2, _c2) in zip(intervals, intervals[1:], strict=False):
        if o2 < c1:
            raise InvalidHours(_("Opening intervals on one day may not overlap."))
    return intervals


def set_weekly_hours(branch: Branch, weekly: Mapping[str, Iterable[Sequence[str]]]) -> None:
    """Replace the branch's weekly hours; a weekday left out or empty is closed."""
    unknown = set(weekly) - set(WEEKDAYS)
    if unknown:
        raise InvalidHours(_("Unknown weekday: %(day)s.", day=", ".join(sorted(unknown))))
    hours_changed(branch)
    rows = [
        WeeklyHours(branch_id=branch.id, weekday=WEEKDAYS.index(day), opens_minute=opens,
                    closes_minute=closes)
        for day, pairs in weekly.items()
        for opens, closes in _checked_intervals(pairs)
    ]
    db.session.execute(delete(WeeklyHours).where(WeeklyHours.branch_id == branch.id))
    db.session.add_all(rows)
    db.session.flush()


def weekly_hours(branch: Branch) -> dict[str, list[tuple[str, str]]]:
    """The weekly hours as {"mon": [["08:00", "20:00"]], …}."""
    result: dict[str, list[tuple[str, str]]] = {day: [] for day in WEEKDAYS}
    rows = db.session.scalars(select(WeeklyHours).where(WeeklyHours.branch_id == branch.id)
                              .order_by(WeeklyHours.weekday, WeeklyHours.opens_minute))
    for row in rows:
        result[WEEKDAYS[row.weekday]].append(
            (format_clock(row.opens_minute), format_clock(row.closes_minute)))
    return result


def set_date_exception(branch: Branch, day: date, intervals: Iterable[Sequence[str]] | None,
                       reason: str = "") -> list[DateException]:
    """Give one date other hours (intervals) or close it (None or empty)."""
    checked = _checked_intervals(intervals or [])
    remove_date_exception(branch, day)  # and hours_changed
    rows = [DateException(branch_id=branch.id, day=day, opens_minute=o, closes_minute=c,
                          reason=reason.strip()) for o, c in checked]
    if not rows:
        rows = [DateException(branch_id=branch.id, day=day, reason=reason.strip())]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def remove_date_exception(branch: Branch, day: date) -> None:
    """Back to the usual hours on that date."""
    hours_changed(branch)
    db.session.execute(delete(DateException).where(DateException.branch_id == branch.id,
                                                   DateException.day == day))


@cache
def _norway() -> type[holidays.HolidayBase]:
    """The library's Norway, loaded from its own module file. `holidays.country_holidays("NO")`
    imports the package `holidays.countries`, whose `__init__` imports all 250 countries: 8 MB
    in every web worker for the one country asked. Norway's module imports only the
    library's base classes (tests/test_booking_services.py compares the two, 2000–2060)."""
    path = Path(holidays.__file__).parent / "countries" / "norway.py"
    spec = importlib.util.spec_from_file_location("holidays.countries.norway", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Norway


@lru_cache(maxsize=32)
def _norwegian_holidays(year: int, language: str) -> Mapping[date, str]:
    return dict(_norway()(years=year, language=language))


def public_holiday(day: date, locale: str = "nb") -> str | None:
    """The name of the Norwegian public holiday on that date, if any."""
    return _norwegian_holidays(day.year, "en_US" if locale == "en" else "no").get(day)


@dataclass(frozen=True)
class DayHours:
    """What a branch is open on one date, and why."""

    day: date
    minutes: tuple[tuple[int, int], ...]  # (opens, closes) after local midnight
    exception: str | None = None  # the reason of a date exception
    holiday: str | None = None  # the public holiday that closes it

    @property
    def closed(self) -> bool:
        return not self.minutes


def hours_changed(branch: Branch) -> None:
    """Call before changing a branch's weekly hours or date exceptions (same transaction).

    The new version is written first, so two changes to one branch wait for each other on
    its row, and every process's kept hours for the old version are never asked for again."""
    branch.hours_version = new_hours_version()
    db.session.flush()


# Opening hours per (branch, hours_version, dates), kept by each process for each app. A
# reader that raced a change may keep new hours under the old version: harmless, because
# nobody who sees the old version after the change exists.
HOURS_KEPT = 512
_KEPT_LOCK = threading.Lock()  # the worker's and tests' threads share an app


def hours_for_days(branch: Branch, first: date, days: int) -> list[DayHours]:
    """Opening hours for `days` dates from `first`: no query while the branch's hours are
    unchanged, two otherwise, whatever the range."""
    kept: OrderedDict[tuple, tuple[DayHours, ...]] = current_app.extensions.setdefault(
        "opening_hours", OrderedDict())
    key = (branch.id, branch.created_at, branch.hours_version,
           branch.closed_on_public_holidays, first, days)
    with _KEPT_LOCK:
        found = kept.get(key)
        if found is not None:
            kept.move_to_end(key)
    if found is None:
        found = tuple(_read_hours_for_days(branch, first, days))
        with _KEPT_LOCK:
            kept[key] = found
            while len(kept) > HOURS_KEPT:
                kept.popitem(last=False)
    return list(found)


def _read_hours_for_days(branch: Branch, first: date, days: int) -> list[DayHours]:
    last = first + timedelta(days=days - 1)
    weekly: dict[int, list[tuple[int, int]]] = {}
    for row in db.session.scalars(select(WeeklyHours).where(WeeklyHours.branch_id == branch.id)):
        weekly.setdefault(row.weekday, []).append((row.opens_minute, row.closes_minute))
    exceptions: dict[date, list[DateException]] = {}
    for row in db.session.scalars(select(DateException).where(
            DateException.branch_id == branch.id, DateException.day.between(first, last))):
        exceptions.setdefault(row.day, []).append(row)
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day in exceptions:
            rows = exceptions[day]
            minutes = tuple(sorted((r.opens_minute, r.closes_minute) for r in rows
                                   if not r.closed))
            result.append(DayHours(day, minutes, exception=rows[0].reason or ""))
        elif branch.closed_on_public_holidays and (name := public_holiday(day)):
            result.append(DayHours(day, (), holiday=name))
        else:
            result.append(DayHours(day, tuple(sorted(weekly.get(day.weekday(), [])))))
    return result


def local_moment(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time (minutes after midnight, 1440 allowed) on a date."""
    if minutes == MINUTES_PER_DAY:
        day, minutes = day + timedelta(days=1), 0
    wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def opening_intervals(branch: Branch, first: date, days: int) -> list[Interval]:
    """The branch's open periods in UTC, in order; intervals that touch are merged."""
    zone = ZoneInfo(branch.timezone)
    merged: list[Interval] = []
    for hours in hours_for_days(branch, first, days):
        for opens, closes in hours.minutes:
            interval = Interval(local_moment(hours.day, opens, zone),
                                local_moment(hours.day, closes, zone))
            if merged and merged[-1].end >= interval.start:
                merged[-1] = Interval(merged[-1].start, max(merged[-1].end, interval.end))
            else:
                merged.append(interval)
    return merged


# -- staffed hours: when staff are there, inside the opening hours -----------------------------
#
# A branch is staffed whenever it is open (staffed_when_open, the default), or only in its
# weekly StaffedHours. Either way staffed time on a date lies inside that date's opening
# hours: a closed day, a public holiday or shorter special hours are never staffed beyond
# them, so the staffed hours need no exceptions of their own.

def set_staffed_hours(branch: Branch, weekly: Mapping[str, Iterable[Sequence[str]]] | None
                      ) -> None:
    """Staffed whenever open (None), or only in these weekly intervals ({"mon": [["16:00",
    "19:00"]], …}; a weekday left out or empty is never staffed)."""
    unknown = set(weekly or {}) - set(WEEKDAYS)
    if unknown:
        raise InvalidHours(_("Unknown weekday: %(day)s.", day=", ".join(sorted(unknown))))
    rows = [
        StaffedHours(branch_id=branch.id, weekday=WEEKDAYS.index(day), opens_minute=opens,
                     closes_minute=closes)
        for day, pairs in (weekly or {}).items()
        for opens, closes in _checked_intervals(pairs)
    ]
    db.session.execute(delete(StaffedHours).where(StaffedHours.branch_id == branch.id))
    branch.staffed_when_open = weekly is None
    db.session.add_all(rows)
    db.session.flush()


def staffed_weekly(branch: Branch) -> dict[str, list[tuple[str, str]]] | None:
    """The weekly staffed intervals as weekly_hours() gives them; None when the branch is
    staffed whenever it is open."""
    if branch.staffed_when_open:
        return None
    result: dict[str, list[tuple[str, str]]] = {day: [] for day in WEEKDAYS}
    for row in _staffed_rows(branch):
        result[WEEKDAYS[row.weekday]].append(
            (format_clock(row.opens_minute), format_clock(row.closes_minute)))
    return result


def _staffed_rows(branch: Branch) -> list[StaffedHours]:
    return list(db.session.scalars(
        select(StaffedHours).where(StaffedHours.branch_id == branch.id)
        .order_by(StaffedHours.weekday, StaffedHours.opens_minute)))


def _intersect(first: Iterable[tuple[int, int]], second: Iterable[tuple[int, int]]
               ) -> tuple[tuple[int, int], ...]:
    second = list(second)
    return tuple(sorted((max(o1, o2), min(c1, c2)) for o1, c1 in first for o2, c2 in second
                        if max(o1, o2) < min(c1, c2)))


def staffed_for_days(branch: Branch, first: date, days: int) -> list[DayHours]:
    """When staff are there on `days` dates from `first`: the opening hours, cut to the
    weekly staffed intervals unless the branch is staffed whenever open."""
    opening = hours_for_days(branch, first, days)
    if branch.staffed_when_open:
        return opening
    weekly: dict[int, list[tuple[int, int]]] = {}
    for row in _staffed_rows(branch):
        weekly.setdefault(row.weekday, []).append((row.opens_minute, row.closes_minute))
    return [DayHours(d.day, _intersect(d.minutes, weekly.get(d.day.weekday(), [])),
                     exception=d.exception, holiday=d.holiday) for d in opening]


def starts_in_staffed_hours(branch: Branch, moment: datetime) -> bool:
    """Whether staff are at the branch at `moment` (aware): it lies inside a staffed
    interval of its local date. For rules such as "starts inside staffed opening hours"."""
    zone = ZoneInfo(branch.timezone)
    local = moment.astimezone(zone)
    minute = local.hour * 60 + local.minute
    [day] = staffed_for_days(branch, local.date(), 1)
    return any(opens <= minute < closes for opens, closes in day.minutes)


# -- from a form's date and "HH:MM" to UTC, and back ----------------------------------------

def local_to_utc(day: date, clock_text: str, timezone: str) -> datetime:
    """A date and an 'HH:MM' entered in the branch's zone, as an aware UTC datetime.

    Raises InvalidHours (a DomainError) when the time is not a time of day."""
    return local_moment(day, parse_clock(clock_text), ZoneInfo(timezone))


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of a local date, in UTC; 23 or 25 hours long across DST."""
    zone = ZoneInfo(timezone)
    return local_moment(day, 0, zone), local_moment(day, MINUTES_PER_DAY, zone)


def local_today(now: datetime, timezone: str) -> date:
    """Today's date at the branch."""
    return now.astimezone(ZoneInfo(timezone)).date()
