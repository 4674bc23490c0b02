"""Check-in rules: reading a scanned code, the check-in window, no-shows and booking blocks.

A code may also be a kit loan's (makerspace/loans): the scan hands the kit over on its pick-up
day, and takes it back (with what staff noted) once it is out.

Functions here flush but never commit; the caller (a view, the API, the `tick` command)
commits once. A scan is one lookup through the unique index on `checkin_token` (bookings
first, then sign-ups); the no-show sweep reads bookings through the
(equipment_id, occupied_until) index, bounded on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.auth import manages_branch
from makerspace.booking import guardians
from makerspace.booking.models import (
    MAX_OCCUPIED_SPAN,
    Booking,
    BookingBlock,
    BookingStatus,
    Equipment,
)
from makerspace.booking.services import active_block
from makerspace.branches.hours import day_bounds
from makerspace.branches.models import Branch
from makerspace.checkin.codes import token_from_scan
from makerspace.checkin.qr import checkin_url, qr_payload
from makerspace.core import audit, signals
from makerspace.core.audit import AuditAction
from makerspace.database import locks_rows
from makerspace.errors import DomainError, Forbidden, NotFound
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.events.services import mark_attendance
from makerspace.extensions import db
from makerspace.i18n import local_datetime, local_time
from makerspace.loans import services as loans
from makerspace.loans.models import Loan, LoanStatus


def _setting(name: str) -> int:
    """The no-show policy (NO_SHOW_LIMIT, NO_SHOW_WINDOW_DAYS, BLOCK_DAYS) and the sweep's
    TICK_LOOKBACK_DAYS; defaults from PRODUCT.md are in makerspace/config.py."""
    return int(current_app.config[name])


# -- refusals -----------------------------------------------------------------------------

class CheckinRefused(DomainError):
    """Base of the reasons a scan does not check anyone in."""

    status = 409


class InvalidCode(CheckinRefused):
    code = "invalid_code"
    status = 400
    title = _l("This is not a valid check-in code.")


class WrongBranch(CheckinRefused):
    code = "wrong_branch"
    status = 403
    title = _l("This code is for another library.")


class CheckinCancelled(CheckinRefused):
    code = "cancelled"
    title = _l("This booking or sign-up has been cancelled.")


class OutsideWindow(CheckinRefused):
    """Too early or too late: staff may check in anyway, with a reason. `subject` says who
    and what (for the branch's staff only: the place was checked first)."""

    subject: Subject | None = None


class TooEarly(OutsideWindow):
    code = "too_early"
    title = _l("It is too early to check in.")


class TooLate(OutsideWindow):
    code = "too_late"
    title = _l("It is too late to check in.")


class NotConfirmed(CheckinRefused):
    code = "not_confirmed"
    title = _l("This person is on the waitlist and has no seat.")


class AwaitingGuardian(NotConfirmed):
    code = "guardian_consent_pending"
    title = _l("This booking waits for a guardian's consent and is not confirmed yet.")


class BlockNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such block.")


class PersonNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such person.")


# -- what a code stands for ---------------------------------------------------------------

@dataclass(frozen=True)
class Subject:
    """A booking or a sign-up, seen through what check-in needs of it."""

    item: Booking | Signup

    @property
    def id(self) -> int:
        return self.item.id

    @property
    def kind(self) -> str:
        return "booking" if isinstance(self.item, Booking) else "signup"

    @property
    def booking(self) -> Booking | None:
        return self.item if isinstance(self.item, Booking) else None

    @property
    def signup(self) -> Signup | None:
        return self.item if isinstance(self.item, Signup) else None

    @property
    def branch(self) -> Branch:
        if isinstance(self.item, Booking):
            return self.item.equipment.branch
        return self.item.event.branch

    @property
    def start(self) -> datetime:
        return self.item.start_at if isinstance(self.item, Booking) else self.item.event.start_at

    @property
    def end(self) -> datetime:
        return self.item.end_at if isinstance(self.item, Booking) else self.item.event.end_at

    @property
    def what(self) -> str:
        """The machine's name or the event's title."""
        if isinstance(self.item, Booking):
            return self.item.equipment.name
        return self.item.event.title

    @property
    def user(self) -> User | None:
        """The person's account; None for a guest booking."""
        return self.item.user

    @property
    def name(self) -> str:
        """Who it is for, as staff see it: the account's name or the guest's."""
        if isinstance(self.item, Booking):
            return self.item.person_name or ""
        return self.item.user.name if self.item.user is not None else ""

    @property
    def checked_in_at(self) -> datetime | None:
        if isinstance(self.item, Booking):
            return self.item.checked_in_at
        return self.item.attended_at

    @property
    def is_checked_in(self) -> bool:
        if isinstance(self.item, Booking):
            return self.item.status in (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)
        return self.item.attended_at is not None

    @property
    def is_cancelled(self) -> bool:
        if isinstance(self.item, Booking):
            return self.item.status == BookingStatus.CANCELLED
        return (self.item.status == SignupStatus.CANCELLED
                or self.item.event.status == EventStatus.CANCELLED)

    @property
    def settled(self) -> bool:
        """Whether a scan can only say what it is (checked in or cancelled: no change)."""
        return self.is_checked_in or self.is_cancelled

    @property
    def token(self) -> str:
        return self.item.checkin_token


def find_by_token(token: str) -> Subject | None:
    """The booking or sign-up with this token (one unique-index lookup each), or None.

    Loaded with the place, the person and the time the answer names, in the same query (the
    /c/ page; a scan itself reads `_scanned_booking` first)."""
    found = {"token": token}
    booking = db.session.scalar(_BOOKING, found)
    if booking is not None:
        return Subject(booking)
    signup = db.session.scalar(_SIGNUP, found)
    return Subject(signup) if signup is not None else None


def _locked(subject: Subject) -> Subject:
    """The same booking or sign-up read again, as it is now, and its row locked until the
    commit (only that row)."""
    query = _LOCKED_BOOKING if subject.booking is not None else _LOCKED_SIGNUP
    return Subject(db.session.scalar(query, {"token": subject.token}))


# Built once (building them cost a fifth of a scan).
_BOOKING = select(Booking).where(Booking.checkin_token == bindparam("token")).options(
    joinedload(Booking.equipment, innerjoin=True).joinedload(Equipment.branch, innerjoin=True),
    joinedload(Booking.user))
# Locked: read afresh (populate_existing), since the unlocked read may have loaded it.
_LOCKED_BOOKING = _BOOKING.with_for_update(of=Booking).execution_options(populate_existing=True)
_SIGNUP = select(Signup).where(Signup.checkin_token == bindparam("token")).options(
    joinedload(Signup.event, innerjoin=True).joinedload(Event.branch, innerjoin=True),
    joinedload(Signup.user))
_LOCKED_SIGNUP = _SIGNUP.with_for_update(of=Signup).execution_options(populate_existing=True)


@dataclass(frozen=True)
class Place:
    """The branch a scanned booking is at, as its answer names it."""

    id: int
    name: str
    slug: str
    timezone: str


@dataclass(frozen=True)
class SettledBooking:
    """A booking that is checked in or cancelled, read as one row: the answer to a scan of
    it is what it is, and changes nothing. The same names as Subject's, for the answer."""

    id: int
    status: BookingStatus
    start: datetime
    end: datetime
    checked_in_at: datetime | None
    name: str
    what: str
    branch: Place
    token: str
    kind = "booking"

    @property
    def is_checked_in(self) -> bool:
        return self.status in (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)

    @property
    def is_cancelled(self) -> bool:
        return self.status == BookingStatus.CANCELLED


# A scan station sends the same code again and again, and a repeat is answered from this
# one row without loading the booking, its machine, branch and person as objects (which
# cost three times as much). Everything else about a booking's scan reads `_BOOKING`.
_SCANNED_BOOKING = select(
    Booking.id, Booking.status, Booking.start_at, Booking.end_at, Booking.checked_in_at,
    func.coalesce(User.name, Booking.guest_name), Equipment.name,
    Branch.id, Branch.name, Branch.slug, Branch.timezone,
).join(Equipment, Equipment.id == Booking.equipment_id).join(
    Branch, Branch.id == Equipment.branch_id).outerjoin(User, User.id == Booking.user_id).where(
    Booking.checkin_token == bindparam("token"))
_SETTLED = frozenset({BookingStatus.CHECKED_IN, BookingStatus.COMPLETED,
                      BookingStatus.CANCELLED})


def _scanned_booking(token: str) -> SettledBooking | bool:
    """The booking with this token if it is settled; else whether there is one at all."""
    # On the session's connection: the ORM's layer would add more than the read costs.
    row = db.session.connection().execute(_SCANNED_BOOKING, {"token": token}).one_or_none()
    if row is None:
        return False
    (booking_id, status, start, end, checked_in_at, name, what,
     branch_id, branch_name, slug, zone) = row
    if status not in _SETTLED:
        return True
    return SettledBooking(booking_id, status, start, end, checked_in_at, name or "", what,
                          Place(branch_id, branch_name, slug, zone), token)


def find_scanned(scanned: str) -> Subject | None:
    """What a scanned or typed text points to, or None (read-only; for the /c/ page)."""
    token = token_from_scan(scanned)
    return find_by_token(token) if token is not None else None


def checkin_link(token: str) -> str:
    """The absolute check-in URL of a token (`<BASE_URL>/c/<token>`), for JSON and pages."""
    return checkin_url(current_app.config["BASE_URL"], token)


def qr_data(token: str) -> str:
    """What the QR code of a token holds (the check-in URL, upper-cased for alphanumeric mode)."""
    return qr_payload(current_app.config["BASE_URL"], token)


# -- checking in --------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckinResult:
    """The answer to a scan that found its booking or sign-up at the right place and time."""

    result: str  # "checked_in" or "already_checked_in"
    subject: Subject | SettledBooking
    checked_in_at: datetime | None

    @property
    def already(self) -> bool:
        return self.result == "already_checked_in"

    @property
    def kind(self) -> str:
        return self.subject.kind

    def as_dict(self) -> dict[str, Any]:
        """The API's JSON shape (a public contract)."""
        subject = self.subject
        return {
            "result": self.result,
            "kind": subject.kind,
            "id": subject.id,
            "name": subject.name,
            "what": subject.what,
            "start": subject.start.isoformat(),
            "end": subject.end.isoformat(),
            "checked_in_at": self.checked_in_at.isoformat() if self.checked_in_at else None,
        }


def _moment_text(moment: datetime, zone: str, now: datetime) -> str:
    """A time of day when it is today in the branch's zone, else date and time."""
    tz = ZoneInfo(zone)
    if moment.astimezone(tz).date() == now.astimezone(tz).date():
        return local_time(moment, zone)
    return local_datetime(moment, zone, "short")


@dataclass(frozen=True)
class LoanScan:
    """The answer to a scan of a kit loan's code: `picked_up` (handed over now),
    `return_ready` (it is out: the station asks what state it came back in) or `returned`."""

    result: str
    loan: Loan
    kind = "loan"

    @property
    def already(self) -> bool:
        return False

    def as_dict(self) -> dict[str, Any]:
        """The API's JSON shape, as for bookings: the loan's days as local day bounds."""
        loan, zone = self.loan, self.loan.equipment.branch.timezone
        user = loan.user
        moment = loan.returned_at if self.result == "returned" else loan.picked_up_at
        return {
            "result": self.result, "kind": "loan", "id": loan.id,
            "name": user.name if user is not None else "", "what": loan.equipment.name,
            "start": day_bounds(loan.pickup_date, zone)[0].astimezone(ZoneInfo(zone))
            .isoformat(),
            "end": day_bounds(loan.return_date, zone)[1].astimezone(ZoneInfo(zone))
            .isoformat(),
            "checked_in_at": moment.isoformat() if moment else None,
        }


def _check_place(subject: Subject | SettledBooking | Loan, *, by: User,
                 branch: Branch | None) -> None:
    here = subject.equipment.branch if isinstance(subject, Loan) else subject.branch
    allowed = (manages_branch(by, here) if branch is None
               else here.id == branch.id and manages_branch(by, branch))
    if not allowed:
        # Only the branch's name: staff elsewhere see no personal data.
        raise WrongBranch(_("This code is for %(branch)s.", branch=here.name), branch=here.slug)


def _too_late(subject: Subject, now: datetime) -> TooLate:
    branch = subject.branch
    closes = branch.checkin_window(subject.start)[1]
    refusal = TooLate(_("Too late: check-in closed at %(time)s.",
                        time=_moment_text(closes, branch.timezone, now)),
                      closed_at=closes.isoformat())
    refusal.subject = subject
    return refusal


def _check_time(subject: Subject, now: datetime) -> None:
    branch = subject.branch
    opens, closes = branch.checkin_window(subject.start)
    if now < opens:
        refusal = TooEarly(_("Too early: check-in opens at %(time)s.",
                             time=_moment_text(opens, branch.timezone, now)),
                           opens_at=opens.isoformat())
        refusal.subject = subject
        raise refusal
    if now >= closes:
        raise _too_late(subject, now)


class ReasonRequired(DomainError):
    code = "reason_required"
    status = 422
    title = _l("Please give a short reason for checking in outside the window.")


def check_in(scanned: str, *, by: User, branch: Branch | None = None,
             anyway: str | None = None, return_loans: bool = False,
             condition: str = "complete", note: str = "") -> CheckinResult | LoanScan:
    """Check in whoever the scanned text (a URL, mangled or not, or a bare token) points to.

    `branch`: the scan station's branch (the code must be for it); None for the API and the
    /c/ page, where any branch `by` manages will do. Scanning twice is harmless.
    `anyway`: staff check in someone early or late, for this reason (audited as such; a
    late booking already marked no-show gets the machine back if it is still free).
    A kit loan's code hands the kit over on its pick-up day; once it is out, the scan asks
    for its state (`return_ready`) or, with `return_loans` (the API), takes it back in the
    `condition` given, with `note`.
    """
    token = token_from_scan(scanned or "")
    if token is None:
        raise InvalidCode()
    # Bookings first (most scans), then sign-ups, then kit loans. Tokens are random, so no
    # two kinds share one. A repeated scan changes nothing and is answered from the first,
    # light read, without locking the row: a scan station sends the same code again and
    # again, and each would wait for the last one's commit. Anything else is read again,
    # whole and locked until the commit.
    seen = _scanned_booking(token)
    if isinstance(seen, SettledBooking) and (
            answer := _settled_answer(seen, by=by, branch=branch)) is not None:
        return answer
    found = {"token": token}
    subject: Subject | None = None
    if seen:
        booking = db.session.scalar(_LOCKED_BOOKING if locks_rows(db.session) else _BOOKING,
                                    found)
        subject = Subject(booking) if booking is not None else None
    else:
        signup = db.session.scalar(_SIGNUP, found)
        subject = Subject(signup) if signup is not None else None
        if subject is not None and not subject.settled and locks_rows(db.session):
            subject = _locked(subject)
    if subject is None:
        loan = loans.loan_by_token(token, lock=True)
        if loan is None:
            raise InvalidCode()
        _check_place(loan, by=by, branch=branch)
        if loan.status == LoanStatus.PICKED_UP:
            if not return_loans:
                return LoanScan("return_ready", loan)
            return LoanScan("returned", loans.return_loan(loan, by=by, condition=condition,
                                                          note=note))
        return LoanScan("picked_up", loans.pick_up(loan, by=by))
    try:
        return _check_in(subject, by=by, branch=branch, anyway=None)
    except OutsideWindow as refusal:
        if anyway is None:
            raise
        if not anyway.strip():
            raise ReasonRequired() from refusal
        return _check_in(subject, by=by, branch=branch, anyway=(refusal, anyway.strip()))


def _settled_answer(subject: Subject | SettledBooking, *, by: User,
                    branch: Branch | None) -> CheckinResult | None:
    """What a scan is told before anything could change: not here (the wrong branch), a
    cancelled booking or sign-up, or one checked in already (the time it was); else None."""
    _check_place(subject, by=by, branch=branch)
    if subject.is_cancelled:
        raise CheckinCancelled()
    if subject.is_checked_in:
        return CheckinResult("already_checked_in", subject, subject.checked_in_at)
    return None


def _check_in(subject: Subject, *, by: User, branch: Branch | None,
              anyway: tuple[OutsideWindow, str] | None) -> CheckinResult:
    """Check in a booking or sign-up found by its code (locked); the refusals come before
    anything changes, so a refused attempt can be made again `anyway`."""
    settled = _settled_answer(subject, by=by, branch=branch)
    if settled is not None:
        return settled
    now = clock.now()
    booking, signup = subject.booking, subject.signup
    if signup is not None and signup.status != SignupStatus.CONFIRMED:
        raise NotConfirmed()
    if booking is not None and booking.status == BookingStatus.HELD:
        raise NotConfirmed(_("This time is held for someone on the waitlist and is not "
                             "booked yet."))
    if booking is not None and guardians.is_pending(booking):
        raise AwaitingGuardian()
    if signup is not None and guardians.is_pending(signup):
        raise AwaitingGuardian(_("This sign-up waits for a guardian's consent and is not "
                                 "confirmed yet."))
    if anyway is None:
        if booking is not None and booking.status == BookingStatus.NO_SHOW:
            raise _too_late(subject, now)  # the sweep found the window closed
        _check_time(subject, now)
    if booking is not None:
        was_no_show = booking.status == BookingStatus.NO_SHOW
        booking.status = BookingStatus.CHECKED_IN
        booking.checked_in_at = now
        booking.checked_in_by_id = by.id
        if was_no_show:
            booking.sequence += 1
            _take_machine_back(booking)
        audit.record(AuditAction.CHECKED_IN, at=now, actor_id=by.id,
                     subject_user_id=booking.user_id, booking_id=booking.id,
                     detail=f"branch {subject.branch.slug}")
        db.session.flush()
    elif signup is not None:
        # audited there (ATTENDED); grants a certification
        mark_attendance(signup, by=by, early=anyway is not None)
    if anyway is not None:
        refusal, reason = anyway
        action = (AuditAction.CHECKED_IN_EARLY if isinstance(refusal, TooEarly)
                  else AuditAction.CHECKED_IN_LATE)
        audit.record(action, at=now, actor_id=by.id, subject_user_id=subject.item.user_id,
                     booking_id=booking.id if booking is not None else None,
                     signup_id=signup.id if signup is not None else None, detail=reason)
        db.session.flush()
    signals.checked_in.send(subject.item)
    return CheckinResult("checked_in", subject, subject.checked_in_at)


def find_loan(scanned: str) -> Loan | None:
    """The kit loan a scanned or typed text points to, or None (read-only)."""
    token = token_from_scan(scanned)
    return loans.loan_by_token(token) if token is not None else None


def return_scanned(scanned: str, *, by: User, branch: Branch, condition: str,
                   note: str) -> LoanScan:
    """Take back the kit of the loan with this code, at the scan station of `branch`, in
    the state staff noted."""
    token = token_from_scan(scanned or "")
    loan = loans.loan_by_token(token, lock=True) if token is not None else None
    if loan is None:
        raise InvalidCode()
    _check_place(loan, by=by, branch=branch)
    return LoanScan("returned", loans.return_loan(loan, by=by, condition=condition, note=note))
def check_in_from_machine(booking: Booking, *, at: datetime) -> bool:
    """A job started on the booked machine at `at`: check the booking in if it is still
    confirmed and `at` lies in its check-in window (audited "started on the machine", by
    nobody). False, and nothing changed, otherwise: outside the window the desk decides."""
    locked = db.session.scalar(select(Booking).where(Booking.id == booking.id)
                               .with_for_update())
    if locked is None or locked.status != BookingStatus.CONFIRMED:
        return False
    branch = locked.equipment.branch
    opens, closes = branch.checkin_window(locked.start_at)
    if not opens <= at < closes:
        return False
    locked.status = BookingStatus.CHECKED_IN
    locked.checked_in_at = at
    locked.checked_in_by_id = None
    audit.record(AuditAction.STARTED_ON_MACHINE, at=at, actor_id=None,
                 subject_user_id=locked.user_id, booking_id=locked.id,
                 detail=f"branch {branch.slug}")
    db.session.flush()
    signals.checked_in.send(locked)
    return True


def _take_machine_back(booking: Booking) -> None:
    """A no-show freed the machine; checking in late takes it back unless someone else has
    booked it since (the database refuses the overlap)."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise MachineTaken() from error


class MachineTaken(CheckinRefused):
    code = "conflict"
    title = _l("Someone else has booked the machine since; book a new time instead.")


# -- the every-minute sweep: no-shows, completed bookings, blocks ------------------------

@dataclass
class TickReport:
    no_shows: list[Booking] = field(default_factory=list)
    completed: list[Booking] = field(default_factory=list)
    blocks: list[BookingBlock] = field(default_factory=list)


def _open_bookings(now: datetime, *, full: bool) -> list[tuple[Booking, Branch]]:
    """Bookings that have started and are still confirmed or checked in, with their branch
    (read once for all machines). Every started booking has occupied_until <= now + 2 days
    (MAX_OCCUPIED_SPAN), which bounds the index range from above; the lookback bounds it from
    below, so a sweep reads about a week of bookings whatever the history."""
    branch_of = dict(db.session.execute(select(Equipment.id, Branch).join(Branch)).all())
    if not branch_of:
        return []
    query = select(Booking).where(
        Booking.equipment_id.in_(list(branch_of)),
        Booking.occupied_until <= now + MAX_OCCUPIED_SPAN,
        Booking.start_at <= now,
        Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)))
    if not full:
        lookback = timedelta(days=_setting("TICK_LOOKBACK_DAYS"))
        query = query.where(Booking.occupied_until > now - lookback)
    # A booking being checked in right now is skipped (PostgreSQL) and seen next minute.
    query = query.order_by(Booking.id).with_for_update(skip_locked=True)
    return [(b, branch_of[b.equipment_id]) for b in db.session.scalars(query)]


def sweep_bookings(now: datetime | None = None, *, full: bool = False) -> TickReport:
    """Mark confirmed bookings whose check-in window has closed as no-shows (which frees the
    rest of the slot: a no-show holds no machine), checked-in bookings that have ended as
    completed, and block people with too many no-shows. Idempotent: run it every minute."""
    now = now or clock.now()
    report = TickReport()
    for booking, branch in _open_bookings(now, full=full):
        if booking.status == BookingStatus.CONFIRMED:
            if branch.checkin_window(booking.start_at)[1] <= now:
                booking.status = BookingStatus.NO_SHOW
                booking.sequence += 1
                audit.record(AuditAction.NO_SHOW, at=now, actor_id=None,
                             subject_user_id=booking.user_id, booking_id=booking.id)
                signals.no_show_marked.send(booking)
                report.no_shows.append(booking)
        elif booking.end_at <= now:
            booking.status = BookingStatus.COMPLETED
            report.completed.append(booking)
    db.session.flush()
    report.blocks = block_repeat_no_shows({b.user_id for b in report.no_shows}, now)
    return report


def no_shows_counted(user_id: int, now: datetime) -> int:
    """No-shows within the window that count towards a block: those since the start of the
    person's latest block are not counted again after it ends or is lifted."""
    since = now - timedelta(days=_setting("NO_SHOW_WINDOW_DAYS"))
    latest = db.session.scalar(select(func.max(BookingBlock.starts_at))
                               .where(BookingBlock.user_id == user_id))
    if latest is not None and latest > since:
        since = latest
    return db.session.scalar(select(func.count(Booking.id)).where(
        Booking.user_id == user_id, Booking.start_at >= since, Booking.start_at <= now,
        Booking.status == BookingStatus.NO_SHOW)) or 0


def block_repeat_no_shows(user_ids: set[int], now: datetime) -> list[BookingBlock]:
    """Block, for BLOCK_DAYS, each of these people who has NO_SHOW_LIMIT no-shows within
    NO_SHOW_WINDOW_DAYS and no block in force."""
    limit = _setting("NO_SHOW_LIMIT")
    days = _setting("NO_SHOW_WINDOW_DAYS")
    blocks = []
    for user_id in sorted(user_ids):
        # Row lock: two sweeps at once cannot both block the same person.
        user = db.session.execute(select(User).where(User.id == user_id)
                                  .with_for_update()).scalar_one()
        if active_block(user, now) is not None:
            continue
        count = no_shows_counted(user_id, now)
        if count < limit:
            continue
        # Stored text: written in the default language (the sweep has no request).
        reason = _("%(count)s bookings without turning up within %(days)s days.",
                   count=count, days=days)
        block = BookingBlock(user_id=user_id, starts_at=now,
                             ends_at=now + timedelta(days=_setting("BLOCK_DAYS")),
                             reason=reason, created_by_id=None)
        db.session.add(block)
        db.session.flush()
        audit.record(AuditAction.BLOCKED, at=now, actor_id=None, subject_user_id=user_id,
                     detail=f"block {block.id}: {reason}")
        signals.block_started.send(block)
        blocks.append(block)
    db.session.flush()
    return blocks


# -- blocks, for staff and for the person -------------------------------------------------

def person_by_id(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise PersonNotFound()
    return user


def blocks_of(user: User) -> list[BookingBlock]:
    """A person's blocks, latest first."""
    return list(db.session.scalars(select(BookingBlock).where(BookingBlock.user_id == user.id)
                                   .order_by(BookingBlock.starts_at.desc())))


def block_of(user: User, block_id: int) -> BookingBlock:
    block = db.session.get(BookingBlock, block_id)
    if block is None or block.user_id != user.id:
        raise BlockNotFound()
    return block


def recent_no_shows(user: User, now: datetime) -> list[Booking]:
    """The person's no-shows within the counting window, latest first."""
    since = now - timedelta(days=_setting("NO_SHOW_WINDOW_DAYS"))
    return list(db.session.scalars(select(Booking).where(
        Booking.user_id == user.id, Booking.start_at >= since, Booking.start_at <= now,
        Booking.status == BookingStatus.NO_SHOW).order_by(Booking.start_at.desc())))


def block_in_force(block: BookingBlock, now: datetime) -> bool:
    return block.lifted_at is None and block.starts_at <= now < block.ends_at


def lift_block(block: BookingBlock, *, by: User) -> BookingBlock:
    """Staff end a block now (audited); lifting one that is no longer in force does nothing."""
    if not by.is_staff:
        raise Forbidden()
    now = clock.now()
    if block_in_force(block, now):
        block.lifted_at = now
        block.lifted_by_id = by.id
        audit.record(AuditAction.BLOCK_LIFTED, at=now, actor_id=by.id,
                     subject_user_id=block.user_id, detail=f"block {block.id}")
        db.session.flush()
    return block
