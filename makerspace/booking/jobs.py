"""Jobs on machines: started at check-in (or when the machine reports it), ended as finished,
failed or stopped early (which frees the machine at once), and the material used with what it
costs. Flush, never commit; every action is audited (core/audit.py).

`by` None with `via="machine"`: a printer connection reported it (no person)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.auth import manages_branch
from makerspace.booking import errors
from makerspace.booking.models import (
    Booking,
    BookingJob,
    BookingStatus,
    Equipment,
    JobOutcome,
    MaterialPrice,
)
from makerspace.branches.models import Branch
from makerspace.core import audit
from makerspace.core.audit import AuditAction
from makerspace.extensions import db

__all__ = ["JobOutcome", "MaterialTotal", "end_job", "material_price", "material_totals",
           "record_material", "set_material_price", "start_job"]

VIAS = ("desk", "web", "api", "machine")
MAX_AMOUNT = Decimal(100_000)


def _check_actor(booking: Booking, by: User | None, via: str) -> None:
    if via not in VIAS:
        raise ValueError(f"via must be one of {VIAS}")
    if by is None:
        if via != "machine":
            raise ValueError("only a machine reports a job without a person")
        return
    if booking.user_id != by.id and not manages_branch(by, booking.equipment.branch):
        raise errors.BookingNotFound()


def _job(booking: Booking) -> BookingJob:
    if booking.job is None:
        booking.job = BookingJob(booking_id=booking.id)
    return booking.job


def start_job(booking: Booking, *, at: datetime, by: User | None, via: str = "desk"
              ) -> Booking:
    """Start the booking's job (checking the booking in if it was not); starting it again
    changes nothing."""
    _check_actor(booking, by, via)
    job = booking.job
    if job is not None and job.started_at is not None:
        return booking
    if booking.status not in BookingStatus.upcoming():
        raise errors.JobNotStartable()
    if booking.status == BookingStatus.CONFIRMED:
        booking.status = BookingStatus.CHECKED_IN
        booking.checked_in_at = at
        booking.checked_in_by_id = by.id if by is not None else None
    job = _job(booking)
    job.started_at, job.started_by_id, job.started_via = at, by.id if by else None, via
    audit.record(AuditAction.JOB_STARTED, at=at, actor_id=by.id if by else None,
                 subject_user_id=booking.user_id, booking_id=booking.id, detail=via)
    db.session.flush()
    return booking


def end_job(booking: Booking, outcome: JobOutcome, *, at: datetime, by: User | None,
            via: str = "desk") -> Booking:
    """End the job as finished, failed or stopped early: the booking is completed and the
    machine is free from `at` on (no buffer). Ending it again the same way changes nothing."""
    outcome = JobOutcome(outcome)
    _check_actor(booking, by, via)
    job = booking.job
    if job is not None and job.ended_at is not None:
        if job.outcome == outcome:
            return booking
        raise errors.JobAlreadyEnded()
    if booking.status not in (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED):
        raise errors.JobNotStarted()
    job = _job(booking)
    if job.started_at is None:
        job.started_at = booking.checked_in_at or booking.start_at
    job.ended_at, job.ended_by_id, job.ended_via = at, by.id if by else None, via
    job.outcome = outcome
    booking.status = BookingStatus.COMPLETED
    # The machine is free from `at`: the booking ends there (never before it starts).
    freed = max(at, booking.start_at + timedelta(seconds=1))
    if freed < booking.occupied_until:
        booking.end_at = min(booking.end_at, freed)
        booking.occupied_until = max(booking.end_at, freed)
        booking.sequence += 1  # calendar clients see the new end
    audit.record(AuditAction.JOB_ENDED, at=at, actor_id=by.id if by else None,
                 subject_user_id=booking.user_id, booking_id=booking.id,
                 detail=f"{outcome.value} via {via}")
    db.session.flush()
    return booking


def material_price(branch: Branch, kind: object) -> int:
    """The branch's price per unit for a kind of machine, in øre (0: free, the default)."""
    return db.session.scalar(select(MaterialPrice.price_ore).where(
        MaterialPrice.branch_id == branch.id, MaterialPrice.kind == kind)) or 0


def set_material_price(branch: Branch, kind: object, price_ore: int, *, by: User
                       ) -> MaterialPrice:
    """Set the branch's price per unit for a kind of machine (øre, 0 allowed). Audited."""
    if not manages_branch(by, branch):
        raise errors.NotStaff()
    if not isinstance(price_ore, int) or not 0 <= price_ore <= 1_000_000:
        raise errors.InvalidMaterial(field="price")
    row = db.session.scalar(select(MaterialPrice).where(
        MaterialPrice.branch_id == branch.id, MaterialPrice.kind == kind).with_for_update())
    if row is None:
        row = MaterialPrice(branch_id=branch.id, kind=kind, price_ore=price_ore)
        db.session.add(row)
    row.price_ore = price_ore
    audit.record(AuditAction.MATERIAL_PRICE_SET, actor_id=by.id,
                 detail=f"branch {branch.slug} {kind}: {price_ore} øre")
    db.session.flush()
    return row


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation as error:
        raise errors.InvalidMaterial(field="amount") from error
    if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
        raise errors.InvalidMaterial(field="amount")
    return amount


def record_material(booking: Booking, *, amount: object, material: str | None = None,
                    colour: str | None = None, by: User | None, via: str = "desk",
                    at: datetime | None = None) -> BookingJob:
    """Record the material a booking used (in its machine's unit; filament type and colour
    where relevant) and what it costs at the branch's price now. Recording again corrects it.
    Audited."""
    _check_actor(booking, by, via)
    unit = booking.equipment.material_unit
    if unit is None:
        raise errors.NoMaterialUnit()
    if booking.status not in (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED):
        raise errors.JobNotStarted()
    value = _amount(amount)
    name, shade = " ".join((material or "").split()), " ".join((colour or "").split())
    if len(name) > 60 or len(shade) > 60:
        raise errors.InvalidMaterial(field="material" if len(name) > 60 else "colour")
    price = material_price(booking.equipment.branch, booking.equipment.kind)
    job = _job(booking)
    job.material_amount = float(value)
    job.material_unit = unit
    job.material_name, job.material_colour = name, shade
    job.material_price_ore = price
    job.material_cost_ore = int((value * price).quantize(Decimal(1)))
    job.material_recorded_at = at or clock.now()
    job.material_recorded_by_id = by.id if by else None
    audit.record(AuditAction.MATERIAL_RECORDED, at=job.material_recorded_at,
                 actor_id=by.id if by else None, subject_user_id=booking.user_id,
                 booking_id=booking.id, detail=f"{value} {unit.value} {name} {shade}".strip())
    db.session.flush()
    return job


@dataclass(frozen=True)
class MaterialTotal:
    """A machine's material over a period: jobs with material recorded, amount and cost."""

    equipment_id: int
    name: str
    unit: str
    jobs: int
    amount: float
    cost_ore: int


def material_totals(branch: Branch, start: datetime, end: datetime) -> list[MaterialTotal]:
    """Per machine of the branch, the material recorded for bookings starting in
    [start, end): the staff's day totals, and what the desk collects."""
    rows = db.session.execute(
        select(Equipment.id, Equipment.name, BookingJob.material_unit,
               func.count(BookingJob.booking_id), func.sum(BookingJob.material_amount),
               func.sum(BookingJob.material_cost_ore))
        .join(Booking, Booking.id == BookingJob.booking_id)
        .join(Equipment, Equipment.id == Booking.equipment_id)
        .where(Equipment.branch_id == branch.id, Booking.start_at >= start,
               Booking.start_at < end, BookingJob.material_amount.is_not(None))
        .group_by(Equipment.id, Equipment.name, BookingJob.material_unit)
        .order_by(Equipment.name, Equipment.id))
    return [MaterialTotal(i, n, u.value if hasattr(u, "value") else str(u), c,
                          round(float(a or 0), 3), int(t or 0))
            for i, n, u, c, a, t in rows]
