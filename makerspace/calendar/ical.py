"""iCalendar (RFC 5545) feeds as bytes: pure functions, data in, bytes out, no queries.

All times are written in UTC (`…Z`), so no VTIMEZONE is needed and every client (Google,
Outlook, Apple, Thunderbird) places an event at the same instant on both sides of a DST change.
Nothing here depends on the clock: DTSTAMP and LAST-MODIFIED come from the item itself, so an
unchanged feed is the same bytes and its ETag keeps matching.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from icalendar import Calendar, Event, vDuration

PRODID = "-//Folkeverksted//Trøndelag makerspaces//NO"
UID_DOMAIN = "folkeverksted"


@dataclass(frozen=True)
class CalendarItem:
    uid: str
    start: datetime
    end: datetime
    summary: str
    updated: datetime
    sequence: int = 0
    cancelled: bool = False
    tentative: bool = False  # e.g. on the waitlist
    description: str = ""
    location: str = ""
    url: str = ""


@dataclass(frozen=True)
class CalendarMeta:
    uid: str  # a fixed identity for the calendar itself (RFC 7986)
    name: str
    description: str = ""
    refresh: timedelta = timedelta(hours=1)


def item_uid(kind: str, item_id: int) -> str:
    """Stable for the life of an item, whatever changes about it."""
    return f"{kind}-{item_id}@{UID_DOMAIN}"


def _vevent(item: CalendarItem) -> Event:
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", item.updated)
    event.add("last-modified", item.updated)
    event.add("sequence", item.sequence)
    event.add("dtstart", item.start)
    event.add("dtend", item.end)
    event.add("summary", item.summary)
    event.add("status", "CANCELLED" if item.cancelled else
              "TENTATIVE" if item.tentative else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if item.cancelled else "OPAQUE")
    if item.description:
        event.add("description", item.description)
    if item.location:
        event.add("location", item.location)
    if item.url:
        event.add("url", item.url)
    return event


# Each event's bytes, by the item itself (frozen: any change is another key). A feed of
# 5,000 events rebuilt after one change writes one event again, not 5,000. icalendar writes
# every byte; this only keeps what it wrote.
EVENTS_KEPT = 20_000


@lru_cache(maxsize=EVENTS_KEPT)
def _vevent_bytes(item: CalendarItem) -> bytes:
    return _vevent(item).to_ical()


@dataclass(frozen=True, slots=True)
class WrittenEvent:
    """An item as icalendar wrote it, with what places it in a feed: for a caller that keeps
    events' bytes by something smaller than the item (the course feeds keep them by row)."""

    start: datetime
    uid: str
    ical: bytes


def written(item: CalendarItem) -> WrittenEvent:
    return WrittenEvent(item.start, item.uid, _vevent(item).to_ical())


_END = b"END:VCALENDAR\r\n"


def _with_events(calendar: Calendar | bytes,
                 items: Iterable[CalendarItem | WrittenEvent]) -> bytes:
    """The calendar's bytes with the events inside, in order, as icalendar writes them."""
    head = calendar if isinstance(calendar, bytes) else calendar.to_ical()
    parts = [head[:-len(_END)]]  # one join, so a county's 2.5 MB feed is copied once
    parts += (item.ical if isinstance(item, WrittenEvent) else _vevent_bytes(item)
              for item in sorted(items, key=lambda i: (i.start, i.uid)))
    parts.append(_END)
    return b"".join(parts)


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    return calendar


def build_calendar(meta: CalendarMeta, items: Iterable[CalendarItem | WrittenEvent]) -> bytes:
    """A whole VCALENDAR to subscribe to: a name and a refresh interval; no METHOD (Outlook
    would treat it as an invitation)."""
    calendar = _calendar()
    calendar.add("uid", meta.uid)
    calendar.add("name", meta.name)
    calendar.add("x-wr-calname", meta.name)
    if meta.description:
        calendar.add("description", meta.description)
        calendar.add("x-wr-caldesc", meta.description)
    calendar.add("refresh-interval", vDuration(meta.refresh), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(meta.refresh))
    return _with_events(calendar, items)


def build_event_file(items: Iterable[CalendarItem]) -> bytes:
    """A file to import (a booking, a sign-up, an e-mail attachment): the events only, with no
    calendar name or refresh interval, so a calendar app adds them instead of subscribing."""
    return _with_events(_event_file_head(), items)


@lru_cache(maxsize=1)
def _event_file_head() -> bytes:
    """The same for every file (written once per process: a booking's e-mail carries one)."""
    return _calendar().to_ical()
