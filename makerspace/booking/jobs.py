"""Jobs on machines: started at check-in (or when the machine reports it), ended as finished,
failed or stopped early (which frees the machine at once), and the material used with what it
costs. Flush, never commit; every action is audited (core/audit.py).

`by` None with `via="machine"`: a printer connection reported it (no person)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.auth import manages_branch
from makerspace.booking import errors
from makerspace.booking.models import (
    MATERIAL_UNITS,
    Booking,
    BookingJob,
    BookingStatus,
    Equipment,
    EquipmentKind,
    JobOutcome,
    MaterialPrice,
)
from makerspace.branches.hours import day_bounds
from makerspace.branches.models import Branch
from makerspace.core import audit
from makerspace.core.audit import AuditAction
from makerspace.extensions import db

__all__ = ["JobOutcome", "MaterialLine", "MaterialTotal", "end_job", "material_csv",
           "material_lines", "material_price", "material_prices", "material_totals",
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
    # to a thousandth of the unit (a milligram, a millimetre): what the statistics add up
    return amount.quantize(Decimal("0.001"))


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


def material_prices(branch: Branch) -> dict[EquipmentKind, int]:
    """The branch's price per unit (øre) for every kind of machine that counts material."""
    set_prices = dict(db.session.execute(select(MaterialPrice.kind, MaterialPrice.price_ore)
                                         .where(MaterialPrice.branch_id == branch.id)).all())
    return {kind: int(set_prices.get(kind, 0)) for kind in MATERIAL_UNITS}


@dataclass(frozen=True)
class MaterialLine:
    """One booking's material, for the branch's accounts (no person: the accounts need none)."""

    booking_id: int
    day: date
    machine: str
    outcome: str
    amount: float
    unit: str
    material: str
    colour: str
    price_ore: int
    cost_ore: int


def material_lines(branch: Branch, first: date, last: date) -> list[MaterialLine]:
    """Every booking at the branch starting on a local day in [first, last] with material
    recorded, oldest first."""
    start, _e = day_bounds(first, branch.timezone)
    _s, end = day_bounds(last, branch.timezone)
    zone = ZoneInfo(branch.timezone)
    rows = db.session.execute(
        select(Booking.id, Booking.start_at, Equipment.name, BookingJob)
        .join(BookingJob, BookingJob.booking_id == Booking.id)
        .join(Equipment, Equipment.id == Booking.equipment_id)
        .where(Equipment.branch_id == branch.id, Booking.start_at >= start,
               Booking.start_at < end, BookingJob.material_amount.is_not(None))
        .order_by(Booking.start_at, Booking.id))
    return [MaterialLine(i, at.astimezone(zone).date(), name,
                         job.outcome.value if job.outcome else "",
                         round(float(job.material_amount or 0), 3),
                         job.material_unit.value if job.material_unit else "",
                         job.material_name, job.material_colour,
                         int(job.material_price_ore or 0), int(job.material_cost_ore or 0))
            for i, at, name, job in rows]


def _cell(value: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _kroner(ore: int) -> str:
    return f"{Decimal(ore) / 100:.2f}".replace(".", ",")


def material_csv(lines: list[MaterialLine], first: date, last: date,
                 headers: list[str]) -> bytes:
    """The lines as CSV for Norwegian spreadsheets, like the statistics CSVs: UTF-8 with a
    byte-order mark, `;` between fields, ISO dates, decimal commas, kroner with two decimals."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    for line in lines:
        writer.writerow([first.isoformat(), last.isoformat(), line.day.isoformat(),
                         line.booking_id, _cell(line.machine), line.outcome,
                         f"{line.amount:g}".replace(".", ","), line.unit,
                         _cell(line.material), _cell(line.colour), _kroner(line.price_ore),
                         _kroner(line.cost_ore)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
