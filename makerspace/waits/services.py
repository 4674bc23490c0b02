"""Waiting for a taken slot, holds for the first in line, taking a hold, and the sweep.

Functions here flush but never commit; the caller commits once.

How a slot goes round: someone waits for [start, end) on a machine that is taken then
(`create_wait`). When a booking there is cancelled or becomes a no-show, `offer_holds` (a
receiver of those signals, in the same transaction) writes a booking row in the status
`held` for the first waiter who could book it: the overlap guarantee of the database covers
held rows, so nobody else can book the slot meanwhile, and a second hold on it is refused.
They get an e-mail with a link (`hold_token`) and take it (`take_hold`: the row becomes a
confirmed booking) before `hold_expires_at`; else `sweep_waits` deletes the held row and
offers the slot to the next in line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, event, exists, func, inspect, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, joinedload

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.accounts.tokens import ExpiredLink, InvalidLink
from makerspace.booking import errors as booking_errors
from makerspace.booking.availability import busy_intervals
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.booking.services import (
    address_unconfirmed,
    check_person_rules,
    check_time_rules,
    confirm_address_first,
)
from makerspace.checkin.codes import new_checkin_token
from makerspace.core import signals
from makerspace.database import utcnow
from makerspace.extensions import db
from makerspace.waits import errors
from makerspace.waits.models import SlotWait

HOLD_SALT = "folkeverksted.slot-hold"
# The link in the e-mail stops working after this long whatever happens; the hold itself
# ends sooner (SLOT_HOLD_MINUTES), and the page says so.
HOLD_LINK_DAYS = 2
# PostgreSQL: a deadlock or a lock timeout while inserting a hold (not expected, see
# `_lock_freed_machines`); the savepoint is rolled back and the waiter skipped (the next tick
# offers the slot again).
_LOCK_TROUBLE = {"40P01", "55P03"}
# pg_advisory_xact_lock(FREEING_LOCK, equipment id): "hold" in ASCII.
FREEING_LOCK = 0x686F6C64


def _setting(name: str) -> int:
    return int(current_app.config[name])


def hold_minutes() -> int:
    return _setting("SLOT_HOLD_MINUTES")


def max_waits() -> int:
    return _setting("MAX_SLOT_WAITS")


# -- waiting ------------------------------------------------------------------------------

def _lock_user(user: User) -> None:
    # One person's waits are counted one request at a time (PostgreSQL row lock; SQLite
    # transactions are serialised already).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())


def open_wait_count(user: User, now: datetime) -> int:
    return db.session.scalar(select(func.count(SlotWait.id)).where(
        SlotWait.user_id == user.id, SlotWait.start_at > now)) or 0


def slot_is_taken(equipment: Equipment, start: datetime, end: datetime) -> bool:
    """Whether a booking, a hold or an outage keeps [start, end) (with the buffer after it)
    from being booked now."""
    until = end + timedelta(minutes=equipment.buffer_minutes)
    return any(p.overlaps(start, until) for p in busy_intervals(equipment, start, until))


def create_wait(*, user: User, equipment: Equipment, start: datetime, end: datetime
                ) -> SlotWait:
    """Wait for a taken slot; refused with the booking's own codes when the time could not be
    booked at all (off the grid, closed, past, …) or the person may not book the machine
    (`too_young`, `not_certified`, `blocked`, …; the quota is asked when the slot is held),
    `slot_free` when nothing keeps it, `already_waiting`, or `too_many_waits` (MAX_SLOT_WAITS
    open waits per person)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if address_unconfirmed(user):
        raise confirm_address_first()
    now = clock.now()
    _lock_user(user)
    check_time_rules(equipment=equipment, start=start, end=end, now=now)
    check_person_rules(user=user, equipment=equipment, start=start, now=now, over_quota=True)
    if not slot_is_taken(equipment, start, end):
        raise errors.SlotFree()
    if db.session.scalar(select(SlotWait.id).where(
            SlotWait.user_id == user.id, SlotWait.equipment_id == equipment.id,
            SlotWait.start_at == start, SlotWait.end_at == end)) is not None:
        raise errors.AlreadyWaiting()
    limit = max_waits()
    if open_wait_count(user, now) >= limit:
        raise errors.TooManyWaits(_("You can wait for at most %(count)s times at once.",
                                    count=limit))
    wait = SlotWait(user=user, equipment=equipment, start_at=start, end_at=end, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(wait)
    except IntegrityError as error:  # the same wait from a second request at once
        raise errors.AlreadyWaiting() from error
    return wait


def waits_of(user: User, now: datetime) -> list[SlotWait]:
    """A person's waits and holds whose slot is still ahead, soonest first."""
    return list(db.session.scalars(select(SlotWait).where(
        SlotWait.user_id == user.id, SlotWait.start_at > now)
        .options(joinedload(SlotWait.equipment).joinedload(Equipment.branch))
        .order_by(SlotWait.start_at, SlotWait.id)))


def wait_of(user: User, wait_id: int) -> SlotWait:
    """The person's own wait; anyone else's is not found."""
    wait = db.session.get(SlotWait, wait_id)
    if wait is None or wait.user_id != user.id:
        raise errors.WaitNotFound()
    return wait


def position_of(wait: SlotWait) -> int:
    """Where the person stands among those waiting for a slot overlapping theirs (1: first)."""
    return 1 + (db.session.scalar(select(func.count(SlotWait.id)).where(
        SlotWait.equipment_id == wait.equipment_id, SlotWait.start_at < wait.end_at,
        SlotWait.end_at > wait.start_at, SlotWait.id != wait.id,
        (SlotWait.created_at < wait.created_at)
        | ((SlotWait.created_at == wait.created_at) & (SlotWait.id < wait.id)))) or 0)


def cancel_wait(wait: SlotWait) -> None:
    """Stop waiting; a hold the person had goes to the next in line at once."""
    now = clock.now()
    if wait.booking is not None and wait.booking.status == BookingStatus.HELD:
        _release(wait, now)
    else:
        db.session.delete(wait)
        db.session.flush()


# -- holds --------------------------------------------------------------------------------

def _is_overlap(error: IntegrityError) -> bool:
    original = error.orig
    return getattr(original, "sqlstate", None) == "23P01" or "booking_overlap" in str(original)


def _hold(wait: SlotWait, now: datetime) -> bool:
    """Hold the wait's slot for its person if they could book it now; False when a rule or
    the database (the slot is taken) says no."""
    equipment, user = wait.equipment, wait.user
    try:
        check_time_rules(equipment=equipment, start=wait.start_at, end=wait.end_at, now=now)
        check_person_rules(user=user, equipment=equipment, start=wait.start_at, now=now)
    except booking_errors.BookingRefused:
        return False  # they could not take it; the next one may
    held = Booking(
        equipment=equipment, user=user, start_at=wait.start_at, end_at=wait.end_at,
        occupied_until=wait.end_at + timedelta(minutes=equipment.buffer_minutes),
        status=BookingStatus.HELD, age_band=user.age_band(wait.start_at),
        created_by_id=user.id)
    try:
        with db.session.begin_nested():
            db.session.add(held)
            db.session.flush()
            wait.booking_id = held.id
            wait.hold_expires_at = min(now + timedelta(minutes=hold_minutes()), wait.start_at)
            db.session.flush()
    except IntegrityError as error:
        if not _is_overlap(error):
            raise
        return False
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) not in _LOCK_TROUBLE:
            raise
        return False
    signals.slot_held.send(wait)
    return True


def offer_holds(equipment: Equipment, start: datetime, end: datetime,
                now: datetime | None = None) -> list[SlotWait]:
    """[start, end) of the machine came free: hold it for the people waiting for a slot in
    it, first come first served, as far as the slots fit (the database refuses a hold that
    overlaps a booking or another hold). Returns the waits now held."""
    now = now or clock.now()
    buffer = timedelta(minutes=equipment.buffer_minutes)
    candidates = list(db.session.scalars(select(SlotWait).where(
        SlotWait.equipment_id == equipment.id, SlotWait.booking_id.is_(None),
        SlotWait.start_at > now, SlotWait.start_at < end, SlotWait.end_at > start - buffer)
        .order_by(SlotWait.created_at, SlotWait.id)))
    return [wait for wait in candidates if _hold(wait, now)]


def _release(wait: SlotWait, now: datetime) -> list[SlotWait]:
    """End a hold (and the wait with it) and offer the slot to the next in line."""
    held = wait.booking
    equipment, start, until = wait.equipment, wait.start_at, wait.end_at
    if held is not None:
        until = held.occupied_until
    db.session.delete(wait)
    if held is not None and held.status == BookingStatus.HELD:
        db.session.delete(held)
    db.session.flush()
    return offer_holds(equipment, start, until, now)


def hold_token_for(booking_id: int, user_id: int) -> str:
    """The secret of the link in the e-mail: which held row, and whose."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=HOLD_SALT).dumps(
        {"b": booking_id, "u": user_id})


def hold_token(booking: Booking) -> str:
    return hold_token_for(booking.id, booking.user_id)  # type: ignore[arg-type]


def booking_for_hold_token(token: str) -> Booking:
    """The booking row a hold link names (held, or since taken); raises InvalidLink,
    ExpiredLink, or HoldExpired when the hold lapsed and went to the next person."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=HOLD_SALT)
    try:
        data = serializer.loads(token, max_age=HOLD_LINK_DAYS * 86400)
    except SignatureExpired as error:
        raise ExpiredLink() from error
    except BadSignature as error:
        raise InvalidLink() from error
    if not (isinstance(data, dict) and isinstance(data.get("b"), int)
            and isinstance(data.get("u"), int)):
        raise InvalidLink()
    booking = db.session.get(Booking, data["b"])
    if booking is None:
        raise errors.HoldExpired()
    if booking.user_id != data["u"]:
        raise InvalidLink()
    return booking


def wait_holding(booking: Booking) -> SlotWait | None:
    return db.session.scalar(select(SlotWait).where(SlotWait.booking_id == booking.id))


def take_hold(booking: Booking, *, user: User) -> Booking:
    """The person takes the slot held for them: the held row becomes their confirmed booking
    (the same rules as booking it, but no overlap can refuse it). `hold_expired` when the
    hold ran out, `not_held` when nothing is held."""
    if booking.status != BookingStatus.HELD:
        raise errors.HoldExpired() if booking.status != BookingStatus.CONFIRMED \
            else errors.NotHeld(_("You have booked this time already."))
    # The row lock makes the sweep (which skips locked rows) and a second click wait.
    wait = db.session.scalar(select(SlotWait).where(SlotWait.booking_id == booking.id)
                             .with_for_update())
    if wait is None:
        raise errors.HoldExpired()
    db.session.refresh(booking)
    now = clock.now()
    if (booking.status != BookingStatus.HELD or booking.user_id != user.id
            or wait.hold_expires_at is None or wait.hold_expires_at <= now):
        raise errors.HoldExpired()
    check_person_rules(user=user, equipment=booking.equipment, start=booking.start_at, now=now)
    booking.status = BookingStatus.CONFIRMED
    # made now, as if booked now (the statistics count an open period's bookings by when
    # they were made: stats/rollup.py); stamped like the column's default
    booking.created_at = utcnow()
    booking.checkin_token = new_checkin_token()  # nothing seen while held opens it
    db.session.delete(wait)
    db.session.flush()
    signals.booking_confirmed.send(booking)
    return booking


def take_hold_of_wait(wait: SlotWait, *, user: User) -> Booking:
    """The same, from the person's own list (logged in)."""
    if wait.booking is None:
        raise errors.NotHeld()
    return take_hold(wait.booking, user=user)


# -- the sweep ----------------------------------------------------------------------------

@dataclass
class WaitSweepReport:
    lapsed: int = 0
    passed: int = 0
    held: list[SlotWait] = field(default_factory=list)


def sweep_waits(now: datetime | None = None) -> WaitSweepReport:
    """Every minute (`flask tick`): holds that ran out go to the next in line, held rows
    whose wait is gone (the person deleted their account) are freed the same way, waits whose
    slot has begun vanish, and a waited-for slot that is free (however it came free) is held
    for the first in line. Rows another transaction is changing are left for the next tick."""
    now = now or clock.now()
    report = WaitSweepReport()
    for wait in db.session.scalars(select(SlotWait).where(SlotWait.hold_expires_at <= now)
                                   .order_by(SlotWait.id).with_for_update(skip_locked=True)
                                   ).all():
        report.held += _release(wait, now)
        report.lapsed += 1
    for orphan in db.session.scalars(select(Booking).where(
            Booking.status == BookingStatus.HELD,
            ~exists().where(SlotWait.booking_id == Booking.id))
            .with_for_update(skip_locked=True)).all():
        equipment, start, until = orphan.equipment, orphan.start_at, orphan.occupied_until
        db.session.delete(orphan)
        db.session.flush()
        report.held += offer_holds(equipment, start, until, now)
    report.passed = db.session.execute(delete(SlotWait).where(
        SlotWait.booking_id.is_(None), SlotWait.start_at <= now)
        .execution_options(synchronize_session=False)).rowcount or 0
    occupied = exists().where(
        Booking.equipment_id == SlotWait.equipment_id,
        Booking.status.in_(BookingStatus.occupying()),
        Booking.start_at < SlotWait.end_at, Booking.occupied_until > SlotWait.start_at)
    for wait in db.session.scalars(select(SlotWait).where(
            SlotWait.booking_id.is_(None), SlotWait.start_at > now, ~occupied)
            .order_by(SlotWait.created_at, SlotWait.id).with_for_update(skip_locked=True)
            ).all():
        if wait.booking_id is None and _hold(wait, now):
            report.held.append(wait)
    db.session.flush()
    return report


def forget_waits_of(user: User) -> None:
    """Before an account is deleted: its holds go to the next in line, its waits go."""
    for wait in db.session.scalars(select(SlotWait).where(SlotWait.user_id == user.id)).all():
        cancel_wait(wait)
    db.session.flush()


# -- listening to the booking area --------------------------------------------------------

def _freed(booking: Booking, **_: Any) -> None:
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW):
        offer_holds(booking.equipment, booking.start_at, booking.occupied_until)


def _lock_freed_machines(session: Session, _context: Any, _instances: Any) -> None:
    """PostgreSQL: order the transactions that free a machine against those that take it.

    Before a flush frees a machine (a booking or hold stops occupying it, or a held row is
    deleted), the transaction takes the machine's advisory lock exclusively; before one takes
    it (a new booking or hold, a no-show checked in late), shared. So a cancellation waits
    for bookings of the machine in flight to end, and bookings wait for the cancellation,
    which holds the freed slot for the first in line before anyone else sees it free.

    Without it, the exclusion constraint makes the hold wait for a booker's uncommitted row
    while the booker waits for the cancellation's uncommitted change: a deadlock, after which
    the slot could go to the booker, or (two cancellations at once) to the second in line.
    Bookers still do not wait for one another. SQLite serialises writers anyway."""
    occupying = set(BookingStatus.occupying())
    freeing: set[int] = set()
    taking: set[int] = set()
    for obj in session.deleted:
        if isinstance(obj, Booking) and obj.status in occupying:
            freeing.add(obj.equipment_id)
    for obj in session.new:
        if isinstance(obj, Booking) and obj.status in occupying:
            taking.add(obj.equipment_id if obj.equipment_id is not None
                       else obj.equipment.id)
    for obj in session.dirty:
        if isinstance(obj, Booking):
            before = inspect(obj).attrs.status.history.deleted
            if not before:
                continue
            if obj.status in occupying and not any(s in occupying for s in before):
                taking.add(obj.equipment_id)
            elif obj.status not in occupying and any(s in occupying for s in before):
                freeing.add(obj.equipment_id)
    if not (freeing or taking) or session.get_bind().dialect.name != "postgresql":
        return
    for equipment_id in sorted(freeing):
        session.execute(select(func.pg_advisory_xact_lock(FREEING_LOCK, equipment_id)))
    for equipment_id in sorted(taking - freeing):
        session.execute(select(func.pg_advisory_xact_lock_shared(FREEING_LOCK, equipment_id)))


def connect() -> None:
    """Offer the slot of a cancelled booking or a no-show to those waiting, in the same
    transaction, and order the transactions that free one machine (called once by
    create_app; idempotent)."""
    signals.booking_cancelled.connect(_freed, weak=False)
    signals.no_show_marked.connect(_freed, weak=False)
    if not event.contains(Session, "before_flush", _lock_freed_machines):
        event.listen(Session, "before_flush", _lock_freed_machines)
