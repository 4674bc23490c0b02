"""When a machine is free: opening hours minus bookings (with buffers) minus outages.

Everything here reads one window of time with indexed range queries; nothing loads a
machine's whole history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, or_, select, union_all

from makerspace.booking.models import (
    MAX_OCCUPIED_SPAN,
    Booking,
    BookingStatus,
    Equipment,
    EquipmentOutage,
)
from makerspace.branches.hours import (
    MINUTES_PER_DAY,
    DayHours,
    Interval,
    hours_for_days,
    local_moment,
)
from makerspace.extensions import db

# Built once: bookings (one range scan of (equipment_id, occupied_until), bounded on both
# sides because no booking holds a machine longer than MAX_OCCUPIED_SPAN) and outages, in one
# round trip. Building the statement per call cost as much as running it.
_BUSY = union_all(
    select(Booking.start_at, Booking.occupied_until).where(
        Booking.equipment_id == bindparam("equipment_id"),
        Booking.occupied_until > bindparam("start"),
        Booking.occupied_until < bindparam("horizon"),
        Booking.start_at < bindparam("end"),
        Booking.status.in_(BookingStatus.active()),
    ),
    select(EquipmentOutage.start_at, EquipmentOutage.end_at).where(
        EquipmentOutage.equipment_id == bindparam("equipment_id"),
        EquipmentOutage.start_at < bindparam("end"),
        or_(EquipmentOutage.end_at.is_(None), EquipmentOutage.end_at > bindparam("start")),
    ),
)


def busy_intervals(equipment: Equipment, start: datetime, end: datetime) -> list[Interval]:
    """Periods in [start, end) the machine is held by a booking (with buffer) or an outage
    (open-ended ones until `end`), merged, in order."""
    rows = db.session.connection().execute(_BUSY, {
        "equipment_id": equipment.id, "start": start, "end": end,
        "horizon": end + MAX_OCCUPIED_SPAN})
    return merge(Interval(s, u if u is not None else end) for s, u in rows)


def merge(periods: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for period in sorted(periods):
        if merged and period.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, period.end))
        else:
            merged.append(period)
    return merged


def subtract(free: list[Interval], busy: list[Interval]) -> list[Interval]:
    """`free` minus `busy` (both sorted, non-overlapping)."""
    result = []
    for interval in free:
        cursor = interval.start
        for period in busy:
            if period.end <= cursor or period.start >= interval.end:
                continue
            if period.start > cursor:
                result.append(Interval(cursor, period.start))
            cursor = max(cursor, period.end)
        if cursor < interval.end:
            result.append(Interval(cursor, interval.end))
    return result


def bookable_window(equipment: Equipment, now: datetime) -> Interval:
    """From now until the end of the last day that may be booked (in the branch's zone)."""
    zone = ZoneInfo(equipment.branch.timezone)
    last_day = now.astimezone(zone).date() + timedelta(days=equipment.max_advance_days)
    return Interval(now, local_moment(last_day, 24 * 60, zone))


def next_whole_minute(now: datetime) -> datetime:
    """Where published free time starts: the answer (and its ETag) then stays the same for a
    minute while nothing is booked. No booking starts between grid points anyway."""
    whole = now.replace(second=0, microsecond=0)
    return whole if whole == now else whole + timedelta(minutes=1)


def open_intervals(days: list[DayHours], zone: ZoneInfo) -> list[Interval]:
    return merge(Interval(local_moment(d.day, o, zone), local_moment(d.day, c, zone))
                 for d in days for o, c in d.minutes)


def free_and_busy(equipment: Equipment, first: date, days: int, now: datetime
                  ) -> tuple[list[Interval], list[Interval]]:
    """Free (bookable now) and busy periods for `days` dates from `first`. No personal data."""
    zone = ZoneInfo(equipment.branch.timezone)
    hours = hours_for_days(equipment.branch, first, days)
    window = Interval(local_moment(first, 0, zone), local_moment(first + timedelta(days=days),
                                                                 0, zone))
    busy = busy_intervals(equipment, window.start, window.end)
    bookable = bookable_window(equipment, now)
    open_now = [Interval(max(i.start, bookable.start), min(i.end, bookable.end))
                for i in open_intervals(hours, zone)]
    open_now = [i for i in open_now if i.start < i.end]
    return subtract(open_now, busy), busy


SlotState = str  # "free", "busy", "past", "closed" (not bookable yet), "short" (gap too short)


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    state: SlotState


@dataclass(frozen=True)
class DaySlots:
    hours: DayHours
    slots: list[Slot]


def week_slots(equipment: Equipment, first: date, now: datetime, days: int = 7
               ) -> list[DaySlots]:
    """The week view: each open slot of each day marked free, busy or past."""
    zone = ZoneInfo(equipment.branch.timezone)
    hours = hours_for_days(equipment.branch, first, days)
    busy = busy_intervals(equipment, local_moment(first, 0, zone),
                          local_moment(first + timedelta(days=days), 0, zone))
    bookable = bookable_window(equipment, now)
    step = equipment.slot_minutes
    shortest = timedelta(minutes=equipment.min_minutes)
    held = shortest + timedelta(minutes=equipment.buffer_minutes)
    result = []
    for day in hours:
        slots = []
        for opens, closes in day.minutes:
            minute = -(-opens // step) * step  # first grid point at or after opening
            while minute + step <= closes:
                start = local_moment(day.day, minute, zone)
                end = local_moment(day.day, minute + step, zone)
                if any(p.overlaps(start, end) for p in busy):
                    state = "busy"
                elif start < now:
                    state = "past"
                elif not bookable.contains(start, end):
                    state = "closed"
                elif (minute + equipment.min_minutes > closes
                      or not bookable.contains(start, start + shortest)
                      or any(p.overlaps(start, start + held) for p in busy)):
                    state = "short"  # free, but the shortest booking does not fit here
                else:
                    state = "free"
                slots.append(Slot(start, end, state))
                minute += step
        result.append(DaySlots(day, slots))
    return result


def free_starts(equipment: Equipment, days: Iterable[DayHours], busy: list[Interval],
                bookable: Interval, minutes: int, *, earliest: int = 0,
                latest: int = MINUTES_PER_DAY) -> Iterator[Interval]:
    """Every period of `minutes` the machine could be booked for, in order: starting on its
    grid inside one opening interval and ending in it, between `earliest` and `latest`
    (minutes after local midnight), inside the bookable window, and clear of busy time
    including the buffer after it. The one place that says where a booking fits."""
    zone = ZoneInfo(equipment.branch.timezone)
    length = timedelta(minutes=minutes)
    held = length + timedelta(minutes=equipment.buffer_minutes)
    step = equipment.slot_minutes
    for day in days:
        for opens, closes in day.minutes:
            opens, closes = max(opens, earliest), min(closes, latest)
            minute = -(-opens // step) * step  # first grid point at or after opening
            while minute + minutes <= closes:
                start = local_moment(day.day, minute, zone)
                if bookable.contains(start, start + length) and not any(
                        p.overlaps(start, start + held) for p in busy):
                    yield Interval(start, start + length)
                minute += step


def nearest_free_starts(equipment: Equipment, desired: datetime, minutes: int, now: datetime,
                        limit: int = 3) -> list[Interval]:
    """The bookable periods of `minutes` length whose start is nearest to `desired`."""
    zone = ZoneInfo(equipment.branch.timezone)
    bookable = bookable_window(equipment, now)
    first = now.astimezone(zone).date()
    hours = hours_for_days(equipment.branch, first, equipment.max_advance_days + 1)
    busy = busy_intervals(equipment, bookable.start, bookable.end + timedelta(days=1))
    candidates = list(free_starts(equipment, hours, busy, bookable, minutes))
    candidates.sort(key=lambda c: (abs(c.start - desired), c.start))
    return sorted(candidates[:limit])


# -- free time across machines (the search, "free today") ---------------------------------

# Bookings and outages of many machines in one round trip, built once like _BUSY.
_BUSY_OF_MANY = union_all(
    select(Booking.equipment_id, Booking.start_at, Booking.occupied_until).where(
        Booking.equipment_id.in_(bindparam("ids", expanding=True)),
        Booking.occupied_until > bindparam("start"),
        Booking.occupied_until < bindparam("horizon"),
        Booking.start_at < bindparam("end"),
        Booking.status.in_(BookingStatus.active()),
    ),
    select(EquipmentOutage.equipment_id, EquipmentOutage.start_at, EquipmentOutage.end_at).where(
        EquipmentOutage.equipment_id.in_(bindparam("ids", expanding=True)),
        EquipmentOutage.start_at < bindparam("end"),
        or_(EquipmentOutage.end_at.is_(None), EquipmentOutage.end_at > bindparam("start")),
    ),
)


def busy_of_many(ids: list[int], start: datetime, end: datetime) -> dict[int, list[Interval]]:
    """busy_intervals for several machines at once: {equipment id: merged periods}."""
    found: dict[int, list[Interval]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.session.connection().execute(_BUSY_OF_MANY, {
        "ids": ids, "start": start, "end": end, "horizon": end + MAX_OCCUPIED_SPAN})
    for equipment_id, s, u in rows:
        found[equipment_id].append(Interval(s, u if u is not None else end))
    return {i: merge(periods) for i, periods in found.items()}


@dataclass(frozen=True)
class FreeStart:
    """One bookable period of one machine, as the search lists it."""

    equipment: Equipment
    start: datetime
    end: datetime


def free_starts_across(machines: Iterable[Equipment], now: datetime, *, day: date | None = None,
                       earliest: int = 0, latest: int = MINUTES_PER_DAY,
                       minutes: int | None = None) -> list[FreeStart]:
    """Bookable periods across machines on one date (each branch's today when None), between
    `earliest` and `latest` minutes after local midnight, `minutes` long (each machine's
    shortest booking when None; a machine that does not allow that length is left out).
    Soonest first. No personal data."""
    chosen = [m for m in machines if minutes is None or minutes in m.durations]
    if not chosen:
        return []
    dates = {m.id: day or now.astimezone(ZoneInfo(m.branch.timezone)).date() for m in chosen}
    starts = [local_moment(dates[m.id], 0, ZoneInfo(m.branch.timezone)) for m in chosen]
    ends = [local_moment(dates[m.id] + timedelta(days=1), 0, ZoneInfo(m.branch.timezone))
            for m in chosen]
    busy = busy_of_many([m.id for m in chosen], min(starts), max(ends) + timedelta(days=1))
    found = []
    for machine in chosen:
        hours = hours_for_days(machine.branch, dates[machine.id], 1)
        length = minutes or machine.min_minutes
        found.extend(FreeStart(machine, i.start, i.end) for i in free_starts(
            machine, hours, busy[machine.id], bookable_window(machine, now), length,
            earliest=earliest, latest=latest))
    found.sort(key=lambda f: (f.start, f.equipment.branch.name, f.equipment.name,
                              f.equipment.id))
    return found


def next_free_today(machines: Iterable[Equipment], now: datetime) -> dict[str, FreeStart]:
    """Per kind of machine, the soonest start still free today (each branch's today) for the
    machine's shortest booking: {kind value: FreeStart}; kinds with nothing left are missing."""
    soonest: dict[str, FreeStart] = {}
    for found in free_starts_across(machines, now):
        soonest.setdefault(found.equipment.kind.value, found)
    return soonest


def upcoming_slots(day: DaySlots, now: datetime) -> DaySlots:
    """The day view: the day's slots that have not started yet (past ones are left out)."""
    return DaySlots(day.hours, [s for s in day.slots if s.start >= now])


@dataclass(frozen=True)
class GridRow:
    """One row of the week grid: a time of day and, per day of the week, its slot or None
    (the library is closed at that time that day)."""

    moment: datetime  # the first slot at this time of day, for the row's label
    cells: list[Slot | None]


def week_grid(days: list[DaySlots], zone: ZoneInfo) -> list[GridRow]:
    """The week view as a table: times of day as rows, days as columns. Pure: no queries."""
    by_minute: dict[int, dict[int, Slot]] = {}
    for column, day in enumerate(days):
        for slot in day.slots:
            local = slot.start.astimezone(zone)
            by_minute.setdefault(local.hour * 60 + local.minute, {})[column] = slot
    rows = []
    for minute in sorted(by_minute):
        cells = by_minute[minute]
        first = cells[min(cells)]
        rows.append(GridRow(first.start, [cells.get(c) for c in range(len(days))]))
    return rows
