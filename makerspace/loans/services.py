"""Loan rules: kits lent for whole days from a pool of identical copies.

Functions here flush but never commit; the caller commits once. No overbooking: a new loan
locks its kit's equipment row (PostgreSQL `SELECT … FOR UPDATE`; SQLite's writing
transactions begin IMMEDIATE, so they are serialised already) and counts the copies out on
each of its days inside that lock, so two loans made at the same moment are counted one after
the other, never both against the same free copy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.auth import manages_branch
from makerspace.booking import errors as booking_errors
from makerspace.booking.models import Equipment, EquipmentKind
from makerspace.booking.services import address_unconfirmed, check_may_use, equipment_by_id
from makerspace.branches.hours import day_bounds, hours_for_days, local_today
from makerspace.branches.models import Branch
from makerspace.core import audit, signals
from makerspace.core.audit import AuditAction
from makerspace.core.pagination import PER_PAGE, Page, paginate
from makerspace.extensions import db
from makerspace.i18n import local_date
from makerspace.loans import errors
from makerspace.loans.models import Loan, LoanStatus, ReturnCondition

# An overdue copy counts as out on every day from today: nobody knows when it comes back.
_UNTIL_RETURNED = date.max


# -- kits ---------------------------------------------------------------------------------

def kit_by_id(equipment_id: int) -> Equipment:
    """The kit with this id; not found for other ids, `not_a_kit` for other equipment."""
    equipment = equipment_by_id(equipment_id)
    if not equipment.is_kit:
        raise errors.NotAKit()
    return equipment


def today_at(branch: Branch, now: datetime | None = None) -> date:
    return local_today(now or clock.now(), branch.timezone)


def _open_days(kit: Equipment, first: date, days: int) -> dict[date, bool]:
    """Whether the kit's branch is open (and the kit in service) on each day: pick-up and
    return happen at the desk, in opening hours."""
    branch = kit.branch
    found = {}
    for hours in hours_for_days(branch, first, days):
        start, end = day_bounds(hours.day, branch.timezone)
        found[hours.day] = (bool(hours.minutes) and not branch.closure_covers(start, end)
                            and not any(o.covers(start, end) for o in kit.outages))
    return found


def _out_per_day(kit: Equipment, first: date, last: date, today: date,
                 ignore: int | None = None) -> Counter[date]:
    """How many copies are out (lent or reserved) on each day from `first` to `last`."""
    loans = db.session.execute(select(Loan.id, Loan.pickup_date, Loan.return_date,
                                      Loan.status).where(
        Loan.equipment_id == kit.id, Loan.status.in_(LoanStatus.live()),
        Loan.pickup_date <= last,
        or_(Loan.return_date >= first, Loan.status == LoanStatus.PICKED_UP)))
    out: Counter[date] = Counter()
    for loan_id, pickup, back, status in loans:
        if loan_id == ignore:
            continue
        if status == LoanStatus.PICKED_UP and back < today:
            back = _UNTIL_RETURNED
        day = max(pickup, first)
        while day <= min(back, last):
            out[day] += 1
            day += timedelta(days=1)
    return out


# -- availability -------------------------------------------------------------------------

@dataclass(frozen=True)
class PickupDay:
    """A day the kit may be picked up: how many copies are free that day, and the longest
    loan from it (the latest return day that is open and has a copy free all the way)."""

    day: date
    open: bool
    free: int
    longest_days: int
    latest_return: date | None

    @property
    def can_pick_up(self) -> bool:
        return self.longest_days > 0


def pickup_days(kit: Equipment, now: datetime | None = None) -> list[PickupDay]:
    """Every day from today to the last bookable day: can the kit be picked up then, and for
    how long (the same counting the loan itself does)."""
    now = now or clock.now()
    today = today_at(kit.branch, now)
    span = kit.max_advance_days + 1
    total = span + kit.max_loan_days
    last = today + timedelta(days=total - 1)
    is_open = _open_days(kit, today, total)
    out = _out_per_day(kit, today, last, today)
    retired = kit.retired_at is not None
    found = []
    for offset in range(span):
        day = today + timedelta(days=offset)
        free = kit.quantity - out[day]
        longest, latest = 0, None
        if is_open[day] and free > 0 and not retired:
            for length in range(1, kit.max_loan_days + 1):
                back = day + timedelta(days=length)
                if kit.quantity - out[back] <= 0:
                    break
                if is_open[back]:
                    longest, latest = length, back
        found.append(PickupDay(day, is_open[day], max(free, 0), longest, latest))
    return found


# -- loans --------------------------------------------------------------------------------

def has_overdue(user: User, now: datetime | None = None) -> Loan | None:
    """The person's first loan that is past its return day and not back, if any."""
    now = now or clock.now()
    for loan in db.session.scalars(select(Loan).where(
            Loan.user_id == user.id, Loan.status == LoanStatus.PICKED_UP)
            .options(joinedload(Loan.equipment).joinedload(Equipment.branch))
            .order_by(Loan.return_date)):
        if loan.is_overdue(today_at(loan.equipment.branch, now)):
            return loan
    return None


def check_loan_rules(*, user: User, kit: Equipment, pickup: date, back: date,
                     now: datetime) -> None:
    """Raise the first rule the loan breaks; the pool's copies are counted by create_loan."""
    if not kit.is_kit:
        raise errors.NotAKit()
    today = today_at(kit.branch, now)
    if back <= pickup:
        raise errors.InvalidPeriod(field="return_date")
    if pickup < today:
        raise errors.InPast(field="pickup_date")
    if pickup > today + timedelta(days=kit.max_advance_days):
        raise errors.TooFarAhead(_("This kit can be borrowed at most %(days)s days ahead.",
                                   days=kit.max_advance_days), field="pickup_date")
    if (back - pickup).days > kit.max_loan_days:
        raise errors.TooLong(_("This kit may be borrowed for at most %(days)s days.",
                               days=kit.max_loan_days), field="return_date")
    if kit.retired_at is not None:
        raise errors.OutOfService(_("This kit is no longer lent out."))
    is_open = _open_days(kit, pickup, (back - pickup).days + 1)
    if not is_open[pickup]:
        raise errors.LibraryClosed(_("The library is closed on the pick-up day, or the kit "
                                     "is out of service then."), field="pickup_date")
    if not is_open[back]:
        raise errors.LibraryClosed(_("The library is closed on the return day, or the kit "
                                     "is out of service then."), field="return_date")
    _check_person(user, kit, pickup, now)


def _check_person(user: User, kit: Equipment, pickup: date, now: datetime) -> None:
    if address_unconfirmed(user):
        raise booking_errors.EmailNotVerified()
    overdue = has_overdue(user, now)
    if overdue is not None:
        raise errors.OverdueLoan(
            _("Please return “%(name)s” first: it was due back %(day)s.",
              name=overdue.equipment.name, day=local_date(overdue.return_date, fmt="long")),
            loan=overdue.id)
    # The same rules as booking a machine: a block, a blocked card, the age limit.
    check_may_use(user=user, equipment=kit, now=now,
                  at=datetime.combine(pickup, datetime.min.time(), tzinfo=now.tzinfo))


def _lock_kit(kit: Equipment) -> int:
    """Lock the kit's row until the transaction ends; its quantity as it is now."""
    return db.session.execute(select(Equipment.quantity).where(Equipment.id == kit.id)
                              .with_for_update()).scalar_one()


def create_loan(*, user: User, kit: Equipment, pickup: date, back: date) -> Loan:
    """Reserve a copy of a kit from `pickup` to `back` (both days count). Raises the rule
    that refuses it; `no_copies_left` when every copy is out on one of the days, counted
    inside the kit's row lock."""
    now = clock.now()
    check_loan_rules(user=user, kit=kit, pickup=pickup, back=back, now=now)
    quantity = _lock_kit(kit)
    out = _out_per_day(kit, pickup, back, today_at(kit.branch, now))
    if any(out[pickup + timedelta(days=n)] >= quantity
           for n in range((back - pickup).days + 1)):
        raise errors.NoCopiesLeft()
    loan = Loan(equipment=kit, user=user, pickup_date=pickup, return_date=back,
                status=LoanStatus.RESERVED)
    db.session.add(loan)
    db.session.flush()
    signals.loan_confirmed.send(loan)
    return loan


def kits_at(branch: Branch) -> list[Equipment]:
    """A branch's kits still lent out, by name (the desk's lending form)."""
    return list(db.session.scalars(select(Equipment).where(
        Equipment.branch_id == branch.id, Equipment.kind == EquipmentKind.KIT,
        Equipment.retired_at.is_(None)).order_by(Equipment.name)))


def lend_at_desk(*, person: User, kit: Equipment, pickup: date, back: date,
                 by: User) -> Loan:
    """Staff lend a kit to someone their library knows, by the same rules and pool as the
    person's own loan; lent for today, it is handed over at once (as the scan station would)."""
    if not manages_branch(by, kit.branch):
        raise errors.LoanNotFound()
    loan = create_loan(user=person, kit=kit, pickup=pickup, back=back)
    audit.record(AuditAction.LOAN_LENT_AT_DESK, actor_id=by.id, subject_user_id=person.id,
                 detail=f"loan {loan.id}")
    if pickup == today_at(kit.branch):
        pick_up(loan, by=by)
    return loan


def loan_visible_to(loan_id: int, user: User) -> Loan:
    """The loan if `user` borrowed it or is staff of its branch; otherwise not found."""
    loan = db.session.get(Loan, loan_id)
    if loan is None or not (loan.user_id == user.id
                            or manages_branch(user, loan.equipment.branch)):
        raise errors.LoanNotFound()
    return loan


def cancel_refusal(loan: Loan, *, by: User) -> errors.LoanRefused | None:
    """Why `by` may not cancel the loan: only a reserved loan, by its borrower or staff."""
    if loan.user_id != by.id and not manages_branch(by, loan.equipment.branch):
        return errors.LoanNotFound()  # type: ignore[return-value]
    if loan.status != LoanStatus.RESERVED:
        return errors.NotCancellable()
    return None


def cancel_loan(loan: Loan, *, by: User) -> Loan:
    """Cancel a loan before it is picked up; the copy goes back to the pool."""
    refusal = cancel_refusal(loan, by=by)
    if refusal is not None:
        raise refusal
    loan.status = LoanStatus.CANCELLED
    loan.cancelled_at = clock.now()
    db.session.flush()
    return loan


def loans_of(user: User, *, page: int = 1, per_page: int = PER_PAGE) -> Page[Loan]:
    """A person's loans: those still live first (soonest pick-up first), then the rest."""
    query = (select(Loan).where(Loan.user_id == user.id)
             .options(joinedload(Loan.equipment).joinedload(Equipment.branch))
             .order_by(Loan.status.not_in(LoanStatus.live()), Loan.pickup_date.desc(),
                       Loan.id.desc()))
    return paginate(query, page=page, per_page=per_page)


def loan_by_token(token: str, *, lock: bool = False) -> Loan | None:
    """The loan with this check-in code (one unique-index lookup), or None."""
    return db.session.scalar(_LOCKED_LOAN if lock else _LOAN, {"token": token})


# Built once, as the scan station's other lookups (checkin/services.py).
_LOAN = select(Loan).where(Loan.checkin_token == bindparam("token")).options(
    joinedload(Loan.equipment, innerjoin=True).joinedload(Equipment.branch, innerjoin=True),
    joinedload(Loan.user))
_LOCKED_LOAN = _LOAN.with_for_update(of=Loan)


# -- at the desk --------------------------------------------------------------------------

def pick_up(loan: Loan, *, by: User) -> Loan:
    """Hand the kit over (the scan station): on the pick-up day, a reserved loan."""
    now = clock.now()
    today = today_at(loan.equipment.branch, now)
    if loan.status == LoanStatus.CANCELLED:
        raise errors.LoanCancelled()
    if loan.status == LoanStatus.NOT_PICKED_UP or (loan.status == LoanStatus.RESERVED
                                                   and loan.pickup_date < today):
        raise errors.PickupMissed()
    if loan.status == LoanStatus.RETURNED:
        raise errors.AlreadyReturned()
    if loan.status != LoanStatus.RESERVED:
        return loan  # picked up already: handing it over twice changes nothing
    if loan.pickup_date > today:
        raise errors.PickupNotYet(_("This kit is to be picked up on %(day)s.",
                                    day=local_date(loan.pickup_date, fmt="long")),
                                  pickup_date=loan.pickup_date.isoformat())
    loan.status = LoanStatus.PICKED_UP
    loan.picked_up_at = now
    loan.picked_up_by_id = by.id
    audit.record(AuditAction.LOAN_PICKED_UP, at=now, actor_id=by.id,
                 subject_user_id=loan.user_id, detail=f"loan {loan.id}")
    db.session.flush()
    return loan


def return_loan(loan: Loan, *, by: User, condition: str | ReturnCondition = "complete",
                note: str = "") -> Loan:
    """Take the kit back, with what staff noticed (damage, missing parts). Late is fine:
    the overdue loan stops blocking its borrower."""
    try:
        state = ReturnCondition(condition)
    except ValueError as error:
        raise errors.InvalidCondition(field="condition") from error
    text = " ".join(note.split())
    if len(text) > 1000:
        raise errors.InvalidCondition(_("The note is too long."), field="note")
    if state != ReturnCondition.COMPLETE and not text:
        raise errors.InvalidCondition(_("Please note what is damaged or missing."),
                                      field="note")
    if loan.status == LoanStatus.RETURNED:
        raise errors.AlreadyReturned()
    if loan.status != LoanStatus.PICKED_UP:
        raise errors.NotPickedUp()
    now = clock.now()
    loan.status = LoanStatus.RETURNED
    loan.returned_at = now
    loan.returned_by_id = by.id
    loan.condition = state
    loan.return_note = text
    audit.record(AuditAction.LOAN_RETURNED, at=now, actor_id=by.id,
                 subject_user_id=loan.user_id,
                 detail=f"loan {loan.id}: {state.value}" + (f": {text}" if text else ""))
    db.session.flush()
    return loan


@dataclass(frozen=True)
class DeskLists:
    """A branch's loans for the desk today."""

    pickups: list[Loan]
    returns: list[Loan]
    overdue: list[Loan]
    today: date


def desk_lists(branch: Branch, now: datetime | None = None) -> DeskLists:
    """To pick up today, due back today, and overdue, at a branch."""
    today = today_at(branch, now)
    rows = list(db.session.scalars(
        select(Loan).join(Equipment).where(
            Equipment.branch_id == branch.id,
            or_((Loan.status == LoanStatus.RESERVED) & (Loan.pickup_date == today),
                (Loan.status == LoanStatus.PICKED_UP) & (Loan.return_date <= today)))
        .options(joinedload(Loan.user), joinedload(Loan.equipment))
        .order_by(Loan.return_date, Loan.id)))
    return DeskLists(
        pickups=[r for r in rows if r.status == LoanStatus.RESERVED],
        returns=[r for r in rows if r.status == LoanStatus.PICKED_UP and r.return_date == today],
        overdue=[r for r in rows if r.is_overdue(today)], today=today)


# -- the sweep: reminders, overdue notices, pick-ups missed -------------------------------

@dataclass
class LoanSweep:
    reminded: list[Loan] = field(default_factory=list)
    overdue: list[Loan] = field(default_factory=list)
    missed: list[Loan] = field(default_factory=list)


def sweep_loans(now: datetime | None = None) -> LoanSweep:
    """Remind borrowers the day before the return, tell them once when the kit is overdue,
    and give the copies of loans nobody picked up back to the pool. Idempotent (each loan is
    reminded and noticed once; rows locked, so two sweeps never do it twice)."""
    now = now or clock.now()
    report = LoanSweep()
    # Every branch's today is within a day of UTC's.
    horizon = now.date() + timedelta(days=2)
    rows = list(db.session.scalars(
        select(Loan).where(or_(
            (Loan.status == LoanStatus.RESERVED) & (Loan.pickup_date <= horizon),
            (Loan.status == LoanStatus.PICKED_UP) & (Loan.return_date <= horizon)
            & (Loan.overdue_noticed_at.is_(None))))
        .options(joinedload(Loan.equipment).joinedload(Equipment.branch))
        .order_by(Loan.id).with_for_update(of=Loan, skip_locked=True)))
    for loan in rows:
        today = today_at(loan.equipment.branch, now)
        if loan.status == LoanStatus.RESERVED:
            if loan.pickup_date < today:
                loan.status = LoanStatus.NOT_PICKED_UP
                report.missed.append(loan)
        elif loan.return_date < today:
            loan.overdue_noticed_at = now
            loan.reminded_at = loan.reminded_at or now
            if loan.user_id is not None:
                signals.loan_overdue.send(loan)
            report.overdue.append(loan)
        elif loan.return_date == today + timedelta(days=1) and loan.reminded_at is None:
            loan.reminded_at = now
            if loan.user_id is not None:
                signals.loan_return_due.send(loan)
            report.reminded.append(loan)
    db.session.flush()
    return report

