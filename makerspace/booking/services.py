"""Booking rules: equipment, outages, creating and cancelling bookings.

Functions here flush but never commit; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import bindparam, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.auth import manages_branch
from makerspace.booking import errors, guardians
from makerspace.booking.availability import (
    FreeStart,
    bookable_window,
    busy_intervals,
    free_starts_across,
    nearest_free_starts,
    next_free_today,
)
from makerspace.booking.models import (
    Booking,
    BookingBlock,
    BookingStatus,
    Cancellation,
    Equipment,
    EquipmentKind,
    EquipmentOutage,
)
from makerspace.booking.rules import RULE_DEFAULTS, check_rules
from makerspace.branches.hours import (
    day_bounds,
    hours_for_days,
    local_moment,
    opening_intervals,
    staffed_for_days,
    starts_in_staffed_hours,
)
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification
from makerspace.certifications.services import holds_certification
from makerspace.core import audit, signals
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.core.pagination import PER_PAGE, Page, paginate
from makerspace.errors import DomainError
from makerspace.extensions import db
from makerspace.i18n import local_datetime
from makerspace.identity.services import card_block_message

# -- equipment ----------------------------------------------------------------------------

EQUIPMENT_DEFAULTS: dict[str, Any] = {
    "name": "", "kind": EquipmentKind.OTHER, "description": "", **RULE_DEFAULTS}


def _checked_fields(current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The changes, converted and validated against the whole set of rules, before anything
    is written to the machine (a refused change leaves it untouched)."""
    changes = dict(fields)
    for name, value in fields.items():
        if name == "kind":
            try:
                changes[name] = EquipmentKind(value)
            except ValueError as error:
                raise errors.InvalidEquipmentRules(_("Unknown kind of equipment."),
                                                   field="kind") from error
        elif name == "requires_certification":
            if value is not None and not isinstance(value, Certification):
                raise TypeError("requires_certification must be a Certification or None")
        elif name not in RULE_DEFAULTS and name not in ("name", "description"):
            raise TypeError(f"unknown equipment field {name}")
    check_rules({**current, **changes})
    return changes


def create_equipment(branch: Branch, **fields: Any) -> Equipment:
    """Add a machine to a branch; unspecified rules take the defaults of PRODUCT.md."""
    equipment = Equipment(branch=branch, **{**EQUIPMENT_DEFAULTS,
                                            **_checked_fields(EQUIPMENT_DEFAULTS, fields)})
    db.session.add(equipment)
    db.session.flush()
    return equipment


def update_equipment(equipment: Equipment, **fields: Any) -> Equipment:
    """Change a machine's description or rules; existing bookings keep their times."""
    current = {name: getattr(equipment, name) for name in EQUIPMENT_DEFAULTS}
    for name, value in _checked_fields(current, fields).items():
        setattr(equipment, name, value)
    db.session.flush()
    return equipment


# Built once, with bind parameters: every machine page asks it, and building it cost as
# much as running it.
_OUTAGE_COVERING = select(EquipmentOutage).where(
    EquipmentOutage.equipment_id == bindparam("equipment_id"),
    EquipmentOutage.covers(bindparam("start"), bindparam("end")),
).order_by(EquipmentOutage.start_at, EquipmentOutage.id).limit(1)


def outage_covering(equipment: Equipment, start: datetime, end: datetime
                    ) -> EquipmentOutage | None:
    """The machine's first outage that takes any of [start, end), if any: one indexed query,
    whatever the machine's history of outages."""
    return db.session.scalar(_OUTAGE_COVERING, {"equipment_id": equipment.id, "start": start,
                                                "end": end})


def current_outage(equipment: Equipment, at: datetime) -> EquipmentOutage | None:
    """The outage in force at `at`, if any."""
    return outage_covering(equipment, at, at + timedelta(seconds=1))


def check_in_service(equipment: Equipment, start: datetime, end: datetime) -> None:
    """Refuse [start, end) when the library is closed for a while then, the machine is
    retired, or an outage takes any of it."""
    branch = equipment.branch
    if branch.closure_covers(start, end):
        raise errors.OutsideOpeningHours(_("The library is closed for a while: %(notice)s",
                                           notice=branch.closure_notice))
    if equipment.retired_at is not None:
        raise errors.OutOfService(_("This machine is no longer in use."))
    outage = outage_covering(equipment, start, end)
    if outage is not None:
        raise errors.OutOfService(_("The machine is out of service: %(reason)s",
                                    reason=outage.reason))


def take_out_of_service(equipment: Equipment, *, start: datetime, end: datetime | None,
                        reason: str, by: User) -> tuple[EquipmentOutage, list[Booking]]:
    """Mark a period out of service and cancel the bookings in it (the citizens are told)."""
    if not reason.strip():
        raise errors.ReasonRequired()
    if end is not None and end <= start:
        raise errors.InvalidEquipmentRules(_("The period must end after it starts."))
    outage = EquipmentOutage(equipment=equipment, start_at=start, end_at=end,
                             reason=reason.strip(), created_by_id=by.id)
    db.session.add(outage)
    query = select(Booking).where(
        Booking.equipment_id == equipment.id, Booking.status == BookingStatus.CONFIRMED,
        Booking.occupied_until > start)
    if end is not None:
        query = query.where(Booking.start_at < end)
    cancelled = list(db.session.scalars(query.with_for_update()))
    for booking in cancelled:
        _mark_cancelled(booking, by=by, reason=reason.strip(),
                        cancellation=Cancellation.OUT_OF_SERVICE)
    db.session.flush()
    signals.bookings_cancelled_out_of_service.send(outage, bookings=cancelled)
    return outage, cancelled


def return_to_service(equipment: Equipment, *, by: User) -> None:
    """End every outage of the machine that is in force or planned, from now."""
    now = clock.now()
    for outage in equipment.outages:
        if outage.end_at is None or outage.end_at > now:
            if outage.start_at >= now:
                db.session.delete(outage)
            else:
                outage.end_at = now
    db.session.flush()


# -- who may see what ---------------------------------------------------------------------

def booking_visible_to(booking_id: int, user: User) -> Booking:
    """The booking if `user` owns it or is staff of its branch; otherwise not found."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not (booking.user_id == user.id
                               or manages_branch(user, booking.equipment.branch)):
        raise errors.BookingNotFound()
    return booking


# With its branch: every caller needs the zone, the hours or the name.
_WITH_BRANCH = [joinedload(Equipment.branch, innerjoin=True)]


# Built once: Session.get() builds its statement again on every call, which cost as much
# as running it (every machine page, every availability answer made).
_EQUIPMENT = select(Equipment).options(*_WITH_BRANCH).where(
    Equipment.id == bindparam("equipment_id"))


def equipment_by_id(equipment_id: int) -> Equipment:
    equipment = db.session.scalar(_EQUIPMENT, {"equipment_id": equipment_id})
    if equipment is None:
        raise errors.EquipmentNotFound()
    return equipment


# -- the rules ----------------------------------------------------------------------------

# The rules' statements are built once, with bind parameters (building them cost as much
# as running them, on every booking).
_ACTIVE_BLOCK = select(BookingBlock).where(
    BookingBlock.user_id == bindparam("user_id"), BookingBlock.lifted_at.is_(None),
    BookingBlock.starts_at <= bindparam("at"), BookingBlock.ends_at > bindparam("at"),
).order_by(BookingBlock.ends_at.desc()).limit(1)
_UPCOMING_COUNT = select(func.count(Booking.id)).join(Equipment).where(
    Booking.user_id == bindparam("user_id"), Equipment.branch_id == bindparam("branch_id"),
    Booking.status.in_(BookingStatus.upcoming()), Booking.end_at > bindparam("now"))


def active_block(user: User, at: datetime) -> BookingBlock | None:
    """The block that keeps this person from booking at `at`, if any."""
    return db.session.scalar(_ACTIVE_BLOCK, {"user_id": user.id, "at": at})


def upcoming_count(user: User, branch: Branch, now: datetime) -> int:
    """How many bookings the person holds at the branch that have not ended."""
    return db.session.scalar(_UPCOMING_COUNT, {"user_id": user.id, "branch_id": branch.id,
                                               "now": now}) or 0


def check_booking_rules(*, user: User, equipment: Equipment, start: datetime, end: datetime,
                        now: datetime, over_quota: bool = False) -> None:
    """Raise the first rule the booking breaks; overlap is left to the database.
    `over_quota`: staff set the quota aside (with a reason, audited by the caller)."""
    check_time_rules(equipment=equipment, start=start, end=end, now=now)
    check_person_rules(user=user, equipment=equipment, start=start, now=now,
                       over_quota=over_quota)


def check_time_rules(*, equipment: Equipment, start: datetime, end: datetime,
                     now: datetime) -> None:
    """The rules about the machine and the time, the same for everyone (guests too)."""
    if equipment.is_kit:
        raise errors.LentForDays()
    zone = ZoneInfo(equipment.branch.timezone)
    minutes = (end - start).total_seconds() / 60
    if start < now:
        raise errors.InPast()
    step = equipment.slot_minutes
    for moment in (start, end):
        local = moment.astimezone(zone)
        if local.second or local.microsecond or (local.hour * 60 + local.minute) % step:
            raise errors.OffGrid(_("Bookings of this machine start and end on whole "
                                   "%(step)s-minute steps.", step=step))
    if minutes < equipment.min_minutes:
        raise errors.TooShort(_("A booking of this machine must last at least %(minutes)s "
                                "minutes.", minutes=equipment.min_minutes))
    if minutes > equipment.max_minutes:
        raise errors.TooLong(_("A booking of this machine may last at most %(minutes)s "
                               "minutes.", minutes=equipment.max_minutes))
    window = bookable_window(equipment, now)
    if end > window.end:
        raise errors.TooFarAhead(_("This machine can be booked at most %(days)s days ahead.",
                                   days=equipment.max_advance_days))
    first_day = start.astimezone(zone).date()
    days = (end.astimezone(zone).date() - first_day).days + 1
    if not any(i.contains(start, end) for i in opening_intervals(equipment.branch, first_day,
                                                                 days)):
        raise errors.OutsideOpeningHours()
    check_in_service(equipment, start, end)


def address_unconfirmed(user: User) -> bool:
    """Whether the person must confirm their e-mail address before booking or borrowing.
    People who log in only with a library card or ID-porten may have no address at all."""
    return user.email is not None and user.email_verified_at is None


def confirm_address_first() -> errors.EmailNotVerified:
    """The refusal for a person whose address is not confirmed (booking, waiting)."""
    return errors.EmailNotVerified(_(
        "Please confirm your e-mail address first: follow the link in the e-mail we sent "
        "you when you registered. No e-mail? Ask for a new link at the top of the page."))


def check_may_use(*, user: User, equipment: Equipment, at: datetime, now: datetime) -> None:
    """The rules about the person that booking a machine and borrowing a kit share: no
    block, no blocked library card, old enough at `at` (the start, the pick-up day)."""
    block = active_block(user, now)
    if block is not None:
        raise errors.Blocked(
            _("You may not make new bookings until %(until)s: %(reason)s",
              until=local_datetime(block.ends_at, equipment.branch.timezone, "short"),
              reason=block.reason), until=block.ends_at.isoformat())
    card_block = card_block_message(user)
    if card_block is not None:
        raise errors.CardBlocked(
            _("Your library card is blocked, so you cannot borrow either: %(reason)s",
              reason=card_block) if equipment.is_kit else
            _("Your library card is blocked, so you cannot book either: %(reason)s",
              reason=card_block))
    if equipment.min_age is not None:
        age = user.age_in(at)
        if age is None or age < equipment.min_age:
            raise errors.TooYoung(
                _("This kit is for people who turn %(age)s this year or are older.",
                  age=equipment.min_age) if equipment.is_kit else
                _("This machine is for people who turn %(age)s this year or are older.",
                  age=equipment.min_age))


def check_person_rules(*, user: User, equipment: Equipment, start: datetime, now: datetime,
                       over_quota: bool = False) -> None:
    """The rules about the person: blocks, age, certification, quota."""
    check_may_use(user=user, equipment=equipment, at=start, now=now)
    certification = equipment.requires_certification
    if certification is not None and not holds_certification(user, certification, start):
        raise errors.NotCertified(
            _("This machine needs the certification “%(name)s”. Take the course at the "
              "library to get it.", name=certification.name),
            certification=certification.slug)
    if not over_quota and (upcoming_count(user, equipment.branch, now)
                           >= equipment.branch.max_upcoming_bookings):
        raise errors.QuotaExceeded(
            _("You can have at most %(count)s upcoming bookings at this library.",
              count=equipment.branch.max_upcoming_bookings))


# -- unattended jobs (docs/booking.md) ------------------------------------------------------

def next_staffed_opening(branch: Branch, start: datetime) -> datetime | None:
    """When staff are next at the branch after the staffed period `start` lies in (a gap, not
    a break that touches); None when not within a fortnight."""
    zone = ZoneInfo(branch.timezone)
    first = start.astimezone(zone).date()
    periods = sorted((local_moment(d.day, o, zone), local_moment(d.day, c, zone))
                     for d in staffed_for_days(branch, first, 15) for o, c in d.minutes)
    current_end = None
    for opens, closes in periods:
        if current_end is None:
            if opens <= start < closes:
                current_end = closes
        elif opens > current_end:
            return opens
        else:
            current_end = max(current_end, closes)
    return None


def pickup_from(booking: Booking) -> datetime:
    """When an unattended job can be picked up: its end, or the next staffed opening if it
    ends while nobody is there."""
    return pickup_time(booking.equipment.branch, booking.start_at, booking.end_at)


def pickup_time(branch: Branch, start: datetime, end: datetime) -> datetime:
    """When a job from `start` to `end` can be picked up (pickup_from, before it is booked:
    the confirmation step shows it)."""
    if starts_in_staffed_hours(branch, end):
        return end
    return next_staffed_opening(branch, start) or end


def check_unattended_rules(*, equipment: Equipment, start: datetime, minutes: int,
                           now: datetime) -> datetime:
    """The rules of an unattended job of `minutes` (the estimated print time) from `start`;
    returns its end. The night limit is checked under the branch's lock (create_booking)."""
    if not equipment.allows_unattended:
        raise errors.UnattendedNotAllowed()
    if not 1 <= minutes <= equipment.unattended_max_minutes:
        raise errors.UnattendedTooLong(_(
            "An unattended job on this machine may last at most %(minutes)s minutes.",
            minutes=equipment.unattended_max_minutes))
    if start < now:
        raise errors.InPast()
    branch = equipment.branch
    zone = ZoneInfo(branch.timezone)
    local = start.astimezone(zone)
    if local.second or local.microsecond or (local.hour * 60 + local.minute) \
            % equipment.slot_minutes:
        raise errors.OffGrid(_("Bookings of this machine start and end on whole "
                               "%(step)s-minute steps.", step=equipment.slot_minutes))
    if start >= bookable_window(equipment, now).end:
        raise errors.TooFarAhead(_("This machine can be booked at most %(days)s days ahead.",
                                   days=equipment.max_advance_days))
    if not starts_in_staffed_hours(branch, start):
        raise errors.UnattendedStartUnstaffed()
    end = start + timedelta(minutes=minutes)
    reopens = next_staffed_opening(branch, start)
    if reopens is None or end > reopens + timedelta(minutes=branch.unattended_pickup_minutes):
        raise errors.UnattendedEndsTooLate()
    if not branch.unattended_before_closed_day:
        [tomorrow] = hours_for_days(branch, local.date() + timedelta(days=1), 1)
        if tomorrow.closed:
            raise errors.UnattendedBeforeClosedDay(
                _("No unattended jobs on the day before the library is closed (%(why)s).",
                  why=tomorrow.holiday or tomorrow.exception or _("closed")))
    check_in_service(equipment, start, end)
    return end


def check_night_limit(equipment: Equipment, start: datetime) -> None:
    """At most `unattended_per_night` unattended jobs at the branch starting on that local
    date. Call with the branch's row locked (create_booking does)."""
    branch = equipment.branch
    if branch.unattended_per_night is None:
        return
    first, last = day_bounds(start.astimezone(ZoneInfo(branch.timezone)).date(),
                             branch.timezone)
    taken = db.session.scalar(select(func.count(Booking.id)).join(Equipment).where(
        Equipment.branch_id == branch.id, Booking.unattended.is_(True),
        Booking.start_at >= first, Booking.start_at < last,
        Booking.status.in_(BookingStatus.active()))) or 0
    if taken >= branch.unattended_per_night:
        raise errors.UnattendedNightFull(_(
            "The library takes at most %(count)s unattended jobs a night, and that night is "
            "full.", count=branch.unattended_per_night))


def _lock_branch(branch: Branch) -> None:
    # Serialises unattended bookings at a branch so the night limit cannot be overrun.
    db.session.execute(select(Branch.id).where(Branch.id == branch.id).with_for_update())


_LOCK_USER = select(User.id).where(User.id == bindparam("user_id")).with_for_update()


def _lock_user(user: User) -> None:
    # Serialises one person's concurrent bookings so the quota cannot be overrun
    # (PostgreSQL row lock; SQLite transactions are serialised already).
    db.session.execute(_LOCK_USER, {"user_id": user.id})


def _is_overlap(error: IntegrityError) -> bool:
    original = error.orig
    return getattr(original, "sqlstate", None) == "23P01" or "booking_overlap" in str(original)


_TIME_REFUSALS = (errors.OutsideOpeningHours, errors.OffGrid, errors.TooShort, errors.TooLong,
                  errors.TooFarAhead, errors.OutOfService, errors.InPast)


def create_booking(*, user: User, equipment: Equipment, start: datetime,
                   end: datetime | None = None, booked_by: User | None = None,
                   quota_override: str = "", guardian_email: str | None = None,
                   unattended: bool = False, estimated_minutes: int | None = None,
                   rerun_of: Booking | None = None) -> Booking:
    """Book a machine for a person; raises the rule that refuses it. The database, not this
    function, guarantees that two active bookings never overlap. `quota_override`: the
    reason the branch's staff (`booked_by`) give for booking past the quota (audited).
    `guardian_email`: where to ask for consent when the machine needs it at the person's age
    (booking/guardians.py); the booking is then pending until the guardian agrees.
    `unattended`: a job of `estimated_minutes` that may run past closing (its end is worked
    out, `end` is ignored). `rerun_of`: a failed job booked again, outside the quota."""
    end = _booking_end(equipment=equipment, start=start, end=end, unattended=unattended,
                       estimated_minutes=estimated_minutes, now=clock.now())
    reason = quota_override.strip()
    if reason and (booked_by is None or not manages_branch(booked_by, equipment.branch)):
        raise errors.NotStaff()
    now = clock.now()
    _lock_user(user)
    if unattended:
        _lock_branch(equipment.branch)
    _refuse_unless_allowed(user=user, equipment=equipment, start=start, end=end,
                           booked_by=booked_by, now=now,
                           over_quota=bool(reason) or rerun_of is not None,
                           unattended=unattended)
    consent = guardians.ask_for_booking(user=user, equipment=equipment, start=start,
                                        guardian_email=guardian_email, now=now)
    over = bool(reason) and (upcoming_count(user, equipment.branch, now)
                             >= equipment.branch.max_upcoming_bookings)
    booking = Booking(
        equipment=equipment, user=user, start_at=start, end_at=end,
        occupied_until=end + timedelta(minutes=equipment.buffer_minutes),
        status=BookingStatus.CONFIRMED, age_band=user.age_band(start),
        created_by_id=booked_by.id if booked_by is not None else user.id,
        unattended=unattended, estimated_minutes=estimated_minutes if unattended else None,
        rerun_of_id=rerun_of.id if rerun_of is not None else None,
        job=None,  # none yet: said, so the answer asks no query for it
    )
    _insert(booking, now)
    if over:
        audit.record(AuditAction.QUOTA_OVERRIDDEN, at=now, actor_id=booked_by.id,  # type: ignore[union-attr]
                     subject_user_id=user.id, booking_id=booking.id, detail=reason)
    if consent is None or consent.status == guardians.ConsentStatus.GIVEN:
        signals.booking_confirmed.send(booking)  # else the guardian's consent confirms it
    return booking


def _booking_end(*, equipment: Equipment, start: datetime, end: datetime | None,
                 unattended: bool, estimated_minutes: int | None, now: datetime) -> datetime:
    """The end asked for, or an unattended job's end after its time rules (one place for
    create_booking and preview_booking)."""
    if unattended:
        if start.tzinfo is None or not isinstance(estimated_minutes, int):
            raise ValueError("an unattended job needs an aware start and estimated_minutes")
        return check_unattended_rules(equipment=equipment, start=start,
                                      minutes=estimated_minutes, now=now)
    if end is None:
        raise ValueError("end is required (unless unattended)")
    return end


def check_rebookable(booking: Booking, *, by: User) -> None:
    """Refuse unless `by` (the booker or the branch's staff) may book this failed job again."""
    if booking.user_id != by.id and not manages_branch(by, booking.equipment.branch):
        raise errors.BookingNotFound()
    job = booking.job
    if job is None or job.outcome != "failed" or booking.user is None:
        raise errors.NotRebookable()


def rebook_refusal(booking: Booking, *, by: User) -> DomainError | None:
    """Why `by` may not book this job again, or None (the pages ask this to offer a link)."""
    try:
        check_rebookable(booking, by=by)
    except DomainError as refusal:
        return refusal
    return None


def rebook_failed_job(booking: Booking, *, start: datetime, by: User,
                      end: datetime | None = None) -> Booking:
    """Book a failed job again, with priority: outside the person's quota. An unattended job
    keeps its estimate (`end` is ignored); another booking needs `end`."""
    check_rebookable(booking, by=by)
    return create_booking(user=booking.user, equipment=booking.equipment, start=start,
                          end=end, booked_by=by, unattended=booking.unattended,
                          estimated_minutes=booking.estimated_minutes, rerun_of=booking)


def _insert(booking: Booking, now: datetime) -> None:
    """Add the booking; the database refuses an overlap (BookingConflict, with suggestions)."""
    try:
        with db.session.begin_nested():
            db.session.add(booking)
    except IntegrityError as error:
        if not _is_overlap(error):
            raise
        raise errors.BookingConflict(suggestions=_suggestions(
            booking.equipment, booking.start_at, booking.end_at, now)) from error


def create_guest_booking(*, equipment: Equipment, start: datetime, end: datetime, name: str,
                         phone: str = "", by: User) -> Booking:
    """Book a machine for a walk-in without an account, by name (and phone) only: the
    booking belongs to the branch, refused by the same time rules and codes as any other
    booking, and anonymised by the retention sweep. A machine that needs a certification is
    not for guests (no record of one can be theirs). Audited."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if not manages_branch(by, equipment.branch):
        raise errors.NotStaff()
    guest = " ".join(name.split())
    if not guest:
        raise errors.GuestNameRequired(field="name")
    number = " ".join(phone.split())
    if len(guest) > 200 or len(number) > 40:
        raise errors.GuestNameRequired(_("The name or the phone number is too long."),
                                       field="name" if len(guest) > 200 else "phone")
    now = clock.now()
    try:
        check_time_rules(equipment=equipment, start=start, end=end, now=now)
    except _TIME_REFUSALS as refusal:
        refusal.extra["suggestions"] = _suggestions(equipment, start, end, now)
        raise
    certification = equipment.requires_certification
    if certification is not None:
        raise errors.NotCertified(
            _("This machine needs the certification “%(name)s”: guests without an account "
              "cannot book it.", name=certification.name), certification=certification.slug)
    booking = Booking(
        equipment=equipment, user=None, guest_name=guest, guest_phone=number or None,
        is_guest=True, start_at=start, end_at=end,
        occupied_until=end + timedelta(minutes=equipment.buffer_minutes),
        status=BookingStatus.CONFIRMED, age_band=None, created_by_id=by.id, job=None)
    _insert(booking, now)
    audit.record(AuditAction.GUEST_BOOKED, at=now, actor_id=by.id, booking_id=booking.id,
                 detail=f"branch {equipment.branch.slug}")
    signals.booking_confirmed.send(booking)
    return booking


def _refuse_unless_allowed(*, user: User, equipment: Equipment, start: datetime,
                           end: datetime, booked_by: User | None, now: datetime,
                           over_quota: bool = False, unattended: bool = False) -> None:
    """Everything create_booking checks before it inserts: the address, then the rules (with
    the nearest free times where another time would do). `unattended`: the time rules were
    checked already (check_unattended_rules); the person's and the night limit's remain (the
    caller holds the branch's lock)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if address_unconfirmed(user) and (booked_by is None or booked_by.id == user.id):
        raise confirm_address_first()
    if unattended:
        check_person_rules(user=user, equipment=equipment, start=start, now=now,
                           over_quota=over_quota)
        check_night_limit(equipment, start)
        return
    try:
        check_booking_rules(user=user, equipment=equipment, start=start, end=end, now=now,
                            over_quota=over_quota)
    except _TIME_REFUSALS as refusal:
        refusal.extra["suggestions"] = _suggestions(equipment, start, end, now)
        raise


def preview_booking(*, user: User, equipment: Equipment, start: datetime,
                    end: datetime | None = None, guardian_email: str | None = None,
                    unattended: bool = False, estimated_minutes: int | None = None,
                    rerun_of: Booking | None = None) -> datetime:
    """Raise what create_booking would refuse now (a time someone holds as BookingConflict),
    changing nothing: the confirmation step asks this before the person confirms. Returns
    the booking's end (an unattended job's is worked out from `estimated_minutes`, as
    create_booking does). `rerun_of`: a failed job booked again (rebook_failed_job): outside
    the quota."""
    now = clock.now()
    if rerun_of is not None:
        check_rebookable(rerun_of, by=user)
    end = _booking_end(equipment=equipment, start=start, end=end, unattended=unattended,
                       estimated_minutes=estimated_minutes, now=now)
    _refuse_unless_allowed(user=user, equipment=equipment, start=start, end=end,
                           booked_by=None, now=now, unattended=unattended,
                           over_quota=rerun_of is not None)
    guardians.check_guardian_email(user=user, equipment=equipment, start=start,
                                   guardian_email=guardian_email)
    held_until = end + timedelta(minutes=equipment.buffer_minutes)
    if any(p.overlaps(start, held_until)
           for p in busy_intervals(equipment, start, held_until)):
        raise errors.BookingConflict(suggestions=_suggestions(equipment, start, end, now))
    return end


def next_free_times(equipment: Equipment, minutes: int, now: datetime
                    ) -> list[dict[str, str]]:
    """The next free periods of about `minutes` from now (a failed job booked again is offered
    these first), in the form of a refusal's `suggestions`."""
    return _suggestions(equipment, now, now + timedelta(minutes=minutes), now)


def _suggestions(equipment: Equipment, start: datetime, end: datetime, now: datetime
                 ) -> list[dict[str, str]]:
    minutes = int((end - start).total_seconds() // 60)
    minutes = min(max(minutes, equipment.min_minutes), equipment.max_minutes)
    minutes -= minutes % equipment.slot_minutes
    return [{"start": i.start.isoformat(), "end": i.end.isoformat()}
            for i in nearest_free_starts(equipment, start, minutes, now)]


def _mark_cancelled(booking: Booking, *, by: User, reason: str,
                    cancellation: Cancellation) -> None:
    booking.status = BookingStatus.CANCELLED
    booking.sequence += 1  # calendar clients must see the change
    booking.cancelled_at = clock.now()
    booking.cancelled_by_id = by.id
    booking.cancel_reason = reason
    booking.cancellation = cancellation


def cancel_refusal(booking: Booking, *, by: User) -> DomainError | None:
    """Why `by` may not cancel this booking now, or None. Citizens cancel their own until the
    start; staff cancel any at their branches, any time (the pages ask this to offer a button)."""
    is_staff = manages_branch(by, booking.equipment.branch)
    if booking.user_id != by.id and not is_staff:
        return errors.BookingNotFound()
    if not booking.status.is_upcoming or (booking.status == BookingStatus.CHECKED_IN
                                          and not is_staff):
        return errors.NotCancellable()
    if not is_staff and clock.now() >= booking.start_at:
        return errors.CancelTooLate()
    return None


def cancel_booking(booking: Booking, *, by: User, reason: str = "") -> Booking:
    """Cancel, if `cancel_refusal` allows; staff give a reason when it is someone else's."""
    refusal = cancel_refusal(booking, by=by)
    if refusal is not None:
        raise refusal
    if booking.user_id != by.id and not reason.strip():
        raise errors.ReasonRequired()
    own = booking.user_id == by.id
    _mark_cancelled(booking, by=by, reason=reason.strip(),
                    cancellation=Cancellation.BY_CITIZEN if own else Cancellation.BY_STAFF)
    db.session.flush()
    signals.booking_cancelled.send(booking, by_staff=not own)
    return booking


def _is_upcoming(now: datetime) -> Any:
    return (Booking.end_at > now) & Booking.status.in_(BookingStatus.active())


def bookings_of(user: User, *, upcoming: bool | None, now: datetime, page: int = 1,
                per_page: int = PER_PAGE) -> Page[Booking]:
    """A page of a person's bookings: upcoming (not ended, soonest first), past (latest
    first), or both (None: upcoming first, then past)."""
    query = select(Booking).where(Booking.user_id == user.id,
                                  Booking.status != BookingStatus.HELD).options(
        joinedload(Booking.equipment).joinedload(Equipment.branch))
    ahead = _is_upcoming(now)
    if upcoming is True:
        query = query.where(ahead).order_by(Booking.start_at, Booking.id)
    elif upcoming is False:
        query = query.where(~ahead).order_by(Booking.start_at.desc(), Booking.id.desc())
    else:
        query = query.order_by(case((ahead, 0), else_=1),
                               case((ahead, Booking.start_at)).asc(),
                               Booking.start_at.desc(), Booking.id)
    return paginate(query, page=page, per_page=per_page)


def bookings_at_branch(branch: Branch, start: datetime, end: datetime) -> list[Booking]:
    """Every booking at a branch that overlaps [start, end), for staff."""
    return list(db.session.scalars(
        select(Booking).join(Equipment).options(
            contains_eager(Booking.equipment), joinedload(Booking.user)).where(
            Equipment.branch_id == branch.id, Booking.start_at < end, Booking.end_at > start)
        .order_by(Booking.start_at)))


def equipment_at(branch: Branch, *, retired: bool = False) -> list[Equipment]:
    """A branch's machines in use, by name (`retired`: the retired ones instead)."""
    query = select(Equipment).where(Equipment.branch_id == branch.id)
    query = query.where(Equipment.retired_at.is_not(None) if retired
                        else Equipment.retired_at.is_(None))
    return list(db.session.scalars(query.order_by(Equipment.name)))


def overrides_of(booking_ids: list[int]) -> dict[int, list[AuditEntry]]:
    """The rules staff set aside for these bookings (audit entries), by booking."""
    found: dict[int, list[AuditEntry]] = {}
    if booking_ids:
        for entry in db.session.scalars(select(AuditEntry).where(
                AuditEntry.booking_id.in_(booking_ids),
                AuditEntry.action.in_(AuditAction.overrides())).order_by(AuditEntry.at)):
            found.setdefault(entry.booking_id, []).append(entry)  # type: ignore[arg-type]
    return found


# -- before a machine goes out of service, and retiring it ---------------------------------

def affected_bookings(equipment: Equipment, *, start: datetime,
                      end: datetime | None) -> list[Booking]:
    """The bookings an outage from `start` to `end` would cancel (what staff are shown before
    they confirm), soonest first."""
    query = select(Booking).where(
        Booking.equipment_id == equipment.id, Booking.status == BookingStatus.CONFIRMED,
        Booking.occupied_until > start)
    if end is not None:
        query = query.where(Booking.start_at < end)
    return list(db.session.scalars(query.options(joinedload(Booking.user))
                                   .order_by(Booking.start_at)))


@dataclass(frozen=True)
class Alternative:
    """A free period on another machine of the same kind, for someone whose booking went."""

    equipment: Equipment
    start: datetime
    end: datetime


def alternatives_for(booking: Booking, *, limit: int = 3) -> list[Alternative]:
    """The nearest free times of the same length on the branch's other machines of the same
    kind (in service, not retired), nearest to the booking's start first."""
    now = clock.now()
    minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
    found = []
    for other in equipment_at(booking.equipment.branch):
        if other.id == booking.equipment_id or other.kind != booking.equipment.kind:
            continue
        if not other.min_minutes <= minutes <= other.max_minutes or minutes % other.slot_minutes:
            continue
        for free in nearest_free_starts(other, booking.start_at, minutes, now, limit=limit):
            found.append(Alternative(other, free.start, free.end))
    found.sort(key=lambda a: (abs(a.start - booking.start_at), a.start, a.equipment.name))
    return sorted(found[:limit], key=lambda a: a.start)


def retire_equipment(equipment: Equipment, *, reason: str, by: User) -> list[Booking]:
    """Retire a machine instead of deleting it: it keeps its history, takes no new bookings
    and leaves the public lists; its coming bookings are cancelled as for an outage (the
    people are told). Audited. Returns the cancelled bookings."""
    if not manages_branch(by, equipment.branch):
        raise errors.NotStaff()
    if equipment.retired_at is not None:
        return []
    if not reason.strip():
        raise errors.ReasonRequired()
    now = clock.now()
    _outage, cancelled = take_out_of_service(equipment, start=now, end=None, reason=reason,
                                             by=by)
    equipment.retired_at = now
    audit.record(AuditAction.EQUIPMENT_RETIRED, at=now, actor_id=by.id,
                 detail=f"equipment {equipment.id}: {reason.strip()}")
    db.session.flush()
    return cancelled
def machines_of(*, kind: EquipmentKind | None = None, branches: list[Branch] | None = None
                ) -> list[Equipment]:
    """Machines in use (not retired) of a kind (all kinds: None) at these branches (all: None
    or empty), each with its branch, by branch and name. Kits are lent for days, not booked
    by the slot: never among them."""
    query = (select(Equipment).join(Equipment.branch).where(Equipment.retired_at.is_(None),
                                                             Equipment.kind != EquipmentKind.KIT)
             .options(contains_eager(Equipment.branch))
             .order_by(Branch.name, Equipment.name, Equipment.id))
    if kind is not None:
        query = query.where(Equipment.kind == kind)
    if branches:
        query = query.where(Equipment.branch_id.in_([b.id for b in branches]))
    return list(db.session.scalars(query))


def search_free_time(*, now: datetime, kind: EquipmentKind | None = None,
                     branches: list[Branch] | None = None, day: date | None = None,
                     earliest: int = 0, latest: int = 24 * 60, minutes: int | None = None
                     ) -> list[FreeStart]:
    """Free time across machines: every bookable period of `minutes` (each machine's
    shortest booking when None) on `day` (each branch's today when None) between `earliest`
    and `latest` minutes after local midnight, soonest first. The page and the API ask this."""
    if not 0 <= earliest < latest <= 24 * 60:
        raise errors.InvalidTimeRange()
    return free_starts_across(machines_of(kind=kind, branches=branches), now, day=day,
                              earliest=earliest, latest=latest, minutes=minutes)


def free_today(branches: list[Branch] | None, now: datetime,
               machines: list[Equipment] | None = None
               ) -> list[tuple[EquipmentKind, FreeStart | None]]:
    """Per kind of machine at these branches (all: None), the soonest start still free today
    (None: nothing more today), in the order of EquipmentKind. `machines`: those branches'
    machines in use, when the caller has them already (one query less)."""
    if machines is None:
        machines = machines_of(branches=branches)
    else:
        machines = [m for m in machines if m.retired_at is None and m.kind != EquipmentKind.KIT]
    soonest = next_free_today(machines, now)
    present = {m.kind for m in machines}
    return [(kind, soonest.get(kind.value)) for kind in EquipmentKind if kind in present]
