"""What goes into each calendar feed, and a cheap fingerprint to answer 304 without building.

Feeds cover 30 days back and 180 ahead. Cancelled items stay for 30 days after the change as
STATUS:CANCELLED, so subscribed clients remove them instead of keeping a stale copy.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from makerspace.accounts.models import User
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.branches.models import Branch, new_feed_token
from makerspace.calendar.ical import (
    EVENTS_KEPT,
    CalendarItem,
    CalendarMeta,
    WrittenEvent,
    build_event_file,
    item_uid,
    written,
)
from makerspace.core.urls import absolute_url, absolute_url_for_ids
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.extensions import db

WINDOW_BACK = timedelta(days=30)
WINDOW_AHEAD = timedelta(days=180)
CANCELLED_KEPT = timedelta(days=30)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# A feed's rows are read this many at a time: a county's 5,000 courses at once were 5 MB of
# rows that a worker kept as heap after they were gone.
EVENT_ROWS_AT_ONCE = 500


@dataclass(frozen=True)
class Feed:
    """A feed's identity and content; `fingerprint` is one small query, `items` the rest."""

    meta: CalendarMeta
    fingerprint_queries: list[Select]
    items: Callable[[], Sequence[CalendarItem | WrittenEvent]]
    private: bool = False
    variant: str = ""  # a setting that changes the items' text (staff feed: names or not)

    def fingerprint(self, *, now: datetime, locale: str) -> tuple[str, datetime]:
        """(ETag, Last-Modified): changes whenever an item in the feed changes."""
        parts = [self.meta.uid, locale, now.date().isoformat(), self.variant]
        latest = EPOCH
        for query in self.fingerprint_queries:
            count, newest = db.session.execute(query).one()
            parts.append(f"{count}:{newest}")
            if newest is not None:
                latest = max(latest, _aware(newest))
        digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
        return f'"{digest}"', latest


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _window(now: datetime) -> tuple[datetime, datetime]:
    return now - WINDOW_BACK, now + WINDOW_AHEAD


# -- events -------------------------------------------------------------------------------

def _events_query(now: datetime, branch: Branch | None):  # type: ignore[no-untyped-def]
    start, end = _window(now)
    query = select(Event).where(Event.end_at > start, Event.start_at < end, or_(
        Event.status == EventStatus.SCHEDULED, Event.updated_at > now - CANCELLED_KEPT))
    return query.where(Event.branch_id == branch.id) if branch is not None else query


class _EventWords:
    """What every event item says the same way, asked once per feed, not once per event.
    Two with equal `same` word every event alike (the language and the site's address)."""

    def __init__(self) -> None:
        self.instructor = _("Instructor: %(name)s")  # formatted per event below
        self.url = absolute_url_for_ids("events.show", "event_id")
        self.same = (self.instructor, self.url(0))


def _event_item(event: Any, branch_name: str, words: _EventWords | None = None
                ) -> CalendarItem:
    """An event (an Event, or a row with its columns) as a calendar item."""
    words = words or _EventWords()
    lines = [event.description]
    if event.instructor:
        lines.append(words.instructor % {"name": event.instructor})
    return CalendarItem(
        uid=item_uid("event", event.id), start=event.start_at, end=event.end_at,
        summary=event.title, updated=event.updated_at, sequence=event.sequence,
        cancelled=event.status == EventStatus.CANCELLED,
        description="\n\n".join(line for line in lines if line), location=branch_name,
        url=words.url(event.id))


_EVENT_COLUMNS = (Event.id, Event.title, Event.description, Event.instructor, Event.start_at,
                  Event.end_at, Event.updated_at, Event.sequence, Event.status,
                  Branch.name.label("branch_name"))


def _event_items(query: Select) -> list[WrittenEvent]:
    """The events of a feed from plain rows: a feed may hold thousands, and making ORM
    objects of them cost more than all the rest of a rebuild."""
    rows = db.session.execute(query.with_only_columns(*_EVENT_COLUMNS)
                              .join(Branch, Event.branch_id == Branch.id)
                              .order_by(Event.start_at),
                              execution_options={"yield_per": EVENT_ROWS_AT_ONCE})
    words = _EventWords()
    return [_kept_event(row, words) for row in rows]


class _WrittenEvents:
    """Events as icalendar wrote them, kept by what tells one version of an event from
    another, and the words: a feed rebuilt after one change writes one event again, not
    thousands. Neither the row nor the item is kept, only the key and the bytes: a county's
    feed is 5,000 events in each language.

    Every change to an event moves its `updated_at` (the column's onupdate, for the ORM and
    Core alike), which the feed's ETag counts on too; its sequence and status come along,
    and the branch's name, which is not the event's. Keying by these instead of a digest of
    every column the item is made from (description and all) took a third of a rebuild."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[Any, ...], WrittenEvent] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, row: Row, words: _EventWords) -> WrittenEvent:
        key = (row.id, row.updated_at, row.sequence, row.status,
               sys.intern(row.branch_name), words.same)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        made = written(_event_item(row, row.branch_name, words))
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return made

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_written_events = _WrittenEvents(EVENTS_KEPT)
_kept_event = _written_events.get


def public_events_feed(now: datetime, branch: Branch | None = None) -> Feed:
    query = _events_query(now, branch)
    name = (_("Folkeverksted – courses at %(branch)s", branch=branch.name) if branch
            else _("Folkeverksted – courses in Trøndelag"))
    uid = f"events-{branch.slug if branch else 'all'}@folkeverksted"
    return Feed(
        meta=CalendarMeta(uid=uid, name=name),
        fingerprint_queries=[_fingerprint(query, Event), _branches_fingerprint(branch)],
        items=lambda: _event_items(query))


def _branches_fingerprint(branch: Branch | None) -> Select:
    """A branch's name is each of its events' place: renamed, the feed is another."""
    query = select(func.count(Branch.id), func.max(Branch.updated_at))
    return query.where(Branch.id == branch.id) if branch is not None else query


def _fingerprint(query: Select, model: type) -> Select:
    inner = query.with_only_columns(model.id, model.updated_at).subquery()  # type: ignore[attr-defined]
    return select(func.count(inner.c.id), func.max(inner.c.updated_at))


# -- bookings -----------------------------------------------------------------------------

def _bookings_query(now: datetime):  # type: ignore[no-untyped-def]
    start, end = _window(now)
    return select(Booking).where(
        Booking.occupied_until > start, Booking.start_at < end,
        Booking.status != BookingStatus.HELD,  # a hold is not a booking (makerspace/waits)
        or_(Booking.status.in_(BookingStatus.active()), Booking.updated_at > now - CANCELLED_KEPT))


def _booking_cancelled(booking: Booking) -> bool:
    return booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)


def equipment_feed(now: datetime, equipment: Equipment) -> Feed:
    """A machine's occupancy for the public: "Booked" blocks (with the buffer), nothing else."""
    query = _bookings_query(now).where(Booking.equipment_id == equipment.id)

    def items() -> list[CalendarItem]:
        return [CalendarItem(
            uid=item_uid("booking", b.id), start=b.start_at, end=b.occupied_until,
            summary=_("Booked"), updated=b.updated_at, sequence=b.sequence,
            cancelled=_booking_cancelled(b), location=equipment.branch.name,
            url=absolute_url("booking.equipment", equipment_id=equipment.id))
            for b in db.session.scalars(query.order_by(Booking.start_at))]

    return Feed(meta=CalendarMeta(uid=f"equipment-{equipment.id}@folkeverksted",
                                  name=f"{equipment.name} – {equipment.branch.name}"),
                fingerprint_queries=[_fingerprint(query, Booking)], items=items)


def _booking_item(booking: Booking, summary: str) -> CalendarItem:
    return CalendarItem(
        uid=item_uid("booking", booking.id), start=booking.start_at, end=booking.end_at,
        summary=summary, updated=booking.updated_at, sequence=booking.sequence,
        cancelled=_booking_cancelled(booking), location=booking.equipment.branch.name,
        description=booking.cancel_reason or "",
        url=absolute_url("booking.show", booking_id=booking.id))


def initials(name: str) -> str:
    """"Kari Nordmann" -> "K. N.": enough for staff to tell bookings apart."""
    return " ".join(f"{part[0].upper()}." for part in name.split() if part)


def _who(booking: Booking, branch: Branch) -> str:
    """Who booked, as the staff feed shows it: a subscribed feed lives on Google's or
    Microsoft's servers, so initials and the booking number unless the branch chose names."""
    if booking.user is None:
        return _("Booking %(number)s", number=booking.id)
    if branch.staff_feed_full_names:
        return booking.user.name
    return _("%(initials)s (booking %(number)s)", initials=initials(booking.user.name),
             number=booking.id)


def staff_feed(now: datetime, branch: Branch) -> Feed:
    """Every booking and event at a branch, for its staff; who booked as `_who` shows it."""
    bookings = _bookings_query(now).join(Equipment).where(Equipment.branch_id == branch.id)
    events = _events_query(now, branch)

    def items() -> list[CalendarItem | WrittenEvent]:
        found: list[CalendarItem | WrittenEvent] = [
            _booking_item(b, f"{b.equipment.name}: {_who(b, branch)}")
            for b in db.session.scalars(bookings.options(
                contains_eager(Booking.equipment), joinedload(Booking.user)))]
        return found + _event_items(events)

    return Feed(meta=CalendarMeta(uid=f"staff-{branch.slug}@folkeverksted",
                                  name=_("Folkeverksted – staff calendar, %(branch)s",
                                         branch=branch.name)),
                fingerprint_queries=[_fingerprint(bookings, Booking), _fingerprint(events, Event)],
                items=items, private=True,
                variant="names" if branch.staff_feed_full_names else "initials")


# -- a person's own -----------------------------------------------------------------------

def _signup_item(signup: Signup) -> CalendarItem:
    event = signup.event
    item = _event_item(event, event.branch.name)
    waitlisted = signup.status == SignupStatus.WAITLISTED
    return CalendarItem(
        uid=item_uid("signup", signup.id), start=event.start_at, end=event.end_at,
        summary=_("Waitlist: %(title)s", title=event.title) if waitlisted else event.title,
        updated=max(signup.updated_at, event.updated_at),
        sequence=signup.sequence + event.sequence,
        cancelled=item.cancelled or signup.status == SignupStatus.CANCELLED,
        tentative=waitlisted, description=item.description, location=item.location,
        url=item.url)


def personal_feed(now: datetime, user: User) -> Feed:
    start, end = _window(now)
    bookings = _bookings_query(now).where(Booking.user_id == user.id)
    signups = select(Signup).join(Event).where(
        Signup.user_id == user.id, Event.end_at > start, Event.start_at < end,
        or_(Signup.status != SignupStatus.CANCELLED, Signup.updated_at > now - CANCELLED_KEPT))
    event_changes = signups.with_only_columns(func.count(Event.id), func.max(Event.updated_at))

    def items() -> list[CalendarItem]:
        return ([_booking_item(b, b.equipment.name) for b in db.session.scalars(
                    bookings.options(joinedload(Booking.equipment)))]
                + [_signup_item(s) for s in db.session.scalars(
                    signups.options(contains_eager(Signup.event)))])

    return Feed(meta=CalendarMeta(uid=f"person-{user.id}@folkeverksted",
                                  name=_("Folkeverksted – my bookings and courses")),
                fingerprint_queries=[_fingerprint(bookings, Booking),
                                     _fingerprint(signups, Signup), event_changes],
                items=items, private=True)


def booking_file(booking: Booking) -> bytes:
    """The .ics file of one booking (to import, not to subscribe to)."""
    return build_event_file([_booking_item(booking, booking.equipment.name)])


def signup_file(signup: Signup) -> bytes:
    """The .ics file of one course sign-up."""
    return build_event_file([_signup_item(signup)])


# -- secrets ------------------------------------------------------------------------------

def user_by_feed_token(token: str) -> User | None:
    return db.session.scalar(select(User).where(User.calendar_token == token))


def branch_by_feed_token(token: str) -> Branch | None:
    return db.session.scalar(select(Branch).where(Branch.staff_calendar_token == token))


def rotate_personal_token(user: User) -> str:
    """A new secret: the old feed URL stops working at once."""
    user.calendar_token = new_feed_token()
    db.session.flush()
    return user.calendar_token


def rotate_staff_token(branch: Branch) -> str:
    branch.staff_calendar_token = new_feed_token()
    db.session.flush()
    return branch.staff_calendar_token


def personal_feed_url(user: User) -> str:
    return absolute_url("calendar.personal_feed", token=user.calendar_token)


def staff_feed_url(branch: Branch) -> str:
    return absolute_url("calendar.staff_feed", token=branch.staff_calendar_token)


