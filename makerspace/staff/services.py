"""The desk's day: a branch's machines and their bookings (with names, for its staff), the
day's courses with seats and attendance, laid out as a grid of the opening hours.

Read-only; the page and the API (`GET /api/v1/branches/<slug>/day`) both use `day_view`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from makerspace.booking import services as booking_services
from makerspace.booking.models import Booking, BookingStatus, Equipment, EquipmentOutage
from makerspace.branches.hours import day_bounds, opening_intervals
from makerspace.branches.models import Branch
from makerspace.core.audit import AuditEntry
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.events.services import event_counts
from makerspace.extensions import db
from makerspace.loans.models import Loan, LoanStatus
from makerspace.machines import services as machine_services
from makerspace.machines.models import MachineConnection, MachineJob

# The grid's columns: the opening hours in steps of this many minutes.
GRID_MINUTES = 30
# Shown in the grid, in this order of preference when two cover the same step (a no-show
# freed the machine and someone else booked it).
SHOWN = (BookingStatus.CHECKED_IN, BookingStatus.CONFIRMED, BookingStatus.COMPLETED,
         BookingStatus.HELD, BookingStatus.NO_SHOW)


@dataclass(frozen=True)
class Cell:
    """One stretch of a machine's row: a booking, an outage, a free step (bookable from the
    desk: its start is ahead and the library is open), or a step nobody can book."""

    kind: str  # "booking", "outage", "free", "closed", "past"
    start: datetime
    end: datetime
    span: int
    booking: Booking | None = None
    outage: EquipmentOutage | None = None
    hhmm: str = ""  # the start as a form field wants it (24-hour clock, the branch's zone)


@dataclass
class Row:
    equipment: Equipment
    bookings: list[Booking]
    cells: list[Cell] = field(default_factory=list)
    # A connected machine (today only): what the poller last saw, and the job it runs.
    connection: MachineConnection | None = None
    job: MachineJob | None = None

    @property
    def unbooked_job(self) -> bool:
        """The machine runs a job outside any booking ("in use without booking")."""
        return self.job is not None and self.job.booking_id is None


@dataclass(frozen=True)
class DayEvent:
    event: Event
    confirmed: int
    waitlisted: int
    attended: int

    @property
    def seats_left(self) -> int:
        return self.event.seats_left(self.confirmed)


@dataclass
class DayView:
    branch: Branch
    day: date
    columns: list[datetime]
    rows: list[Row]
    events: list[DayEvent]
    overrides: dict[int, list[AuditEntry]]
    cancelled: list[Booking]
    # Kits are lent for days, not slots: the loans going out and due back this day, listed
    # beside the grid instead of as empty rows on it.
    loans_out: list[Loan] = field(default_factory=list)
    loans_back: list[Loan] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return not self.columns

    @property
    def grid_rows(self) -> list[Row]:
        """The machines of the slot grid (the kits are in the loan lists)."""
        return [row for row in self.rows if not row.equipment.is_kit]


def _covering(bookings: list[Booking], start: datetime, end: datetime) -> Booking | None:
    found = [b for b in bookings if b.start_at < end and b.end_at > start]
    return min(found, key=lambda b: SHOWN.index(b.status)) if found else None


def _outage_at(equipment: Equipment, start: datetime, end: datetime) -> EquipmentOutage | None:
    return next((o for o in equipment.outages if o.covers(start, end)), None)


def _cells(row: Row, columns: list[datetime], open_at: list[bool], now: datetime) -> list[Cell]:
    step = timedelta(minutes=GRID_MINUTES)
    cells: list[Cell] = []
    branch = row.equipment.branch
    zone = ZoneInfo(branch.timezone)
    for index, start in enumerate(columns):
        end = start + step
        booking = _covering(row.bookings, start, end)
        outage = None if booking else _outage_at(row.equipment, start, end)
        if booking is not None:
            kind = "booking"
        elif outage is not None:
            kind = "outage"
        elif not open_at[index] or branch.closure_covers(start, end):
            kind = "closed"
        elif start < now:
            kind = "past"
        else:
            kind = "free"
        previous = cells[-1] if cells else None
        if previous is not None and previous.kind == kind and kind != "free" and (
                previous.booking is booking and previous.outage is outage):
            cells[-1] = Cell(kind, previous.start, end, previous.span + 1, booking, outage)
        else:
            cells.append(Cell(kind, start, end, 1, booking, outage,
                              start.astimezone(zone).strftime("%H:%M")))
    return cells


def day_view(branch: Branch, day: date, now: datetime) -> DayView:
    """Everything the desk shows for a day at a branch."""
    start, end = day_bounds(day, branch.timezone)
    intervals = opening_intervals(branch, day, 1)
    columns: list[datetime] = []
    open_at: list[bool] = []
    if intervals:
        step = timedelta(minutes=GRID_MINUTES)
        moment = max(intervals[0].start, start)
        last = min(intervals[-1].end, end)
        while moment < last:
            columns.append(moment)
            open_at.append(any(i.start <= moment and moment + step <= i.end for i in intervals))
            moment += step
    machines = booking_services.equipment_at(branch)
    bookings = booking_services.bookings_at_branch(branch, start, end)
    rows = [Row(e, [b for b in bookings if b.equipment_id == e.id and b.status in SHOWN])
            for e in machines]
    for row in rows:
        row.cells = _cells(row, columns, open_at, now)
    if start <= now < end:
        ids = [row.equipment.id for row in rows]
        connections, jobs = machine_services.connections_of(ids), machine_services.open_jobs(ids)
        for row in rows:
            row.connection = connections.get(row.equipment.id)
            row.job = jobs.get(row.equipment.id)
    events = list(db.session.scalars(select(Event).where(
        Event.branch_id == branch.id, Event.start_at < end, Event.end_at > start,
        Event.status == EventStatus.SCHEDULED).order_by(Event.start_at, Event.id)))
    counts = event_counts(events)
    attended = dict(db.session.execute(
        select(Signup.event_id, func.count(Signup.id)).where(
            Signup.event_id.in_([e.id for e in events]), Signup.attended_at.is_not(None),
            Signup.status == SignupStatus.CONFIRMED).group_by(Signup.event_id)).all()
    ) if events else {}
    return DayView(
        branch=branch, day=day, columns=columns, rows=rows,
        events=[DayEvent(e, counts[e.id].confirmed, counts[e.id].waitlisted,
                         int(attended.get(e.id, 0))) for e in events],
        overrides=booking_services.overrides_of([b.id for b in bookings]),
        cancelled=[b for b in bookings if b.status == BookingStatus.CANCELLED],
        **_loans_of_day(branch, day))


def _loans_of_day(branch: Branch, day: date) -> dict[str, list[Loan]]:
    """The kit loans to hand over and to take back on `day` (cancelled ones left out)."""
    loans = list(db.session.scalars(
        select(Loan).join(Equipment).where(
            Equipment.branch_id == branch.id, Loan.status.not_in(
                (LoanStatus.CANCELLED, LoanStatus.NOT_PICKED_UP)),
            (Loan.pickup_date == day) | (Loan.return_date == day))
        .options(joinedload(Loan.user), joinedload(Loan.equipment))
        .order_by(Equipment.name, Loan.id)))
    return {"loans_out": [loan for loan in loans if loan.pickup_date == day],
            "loans_back": [loan for loan in loans if loan.return_date == day]}


def bookings_with_people(booking_ids: list[int]) -> list[Booking]:
    """Bookings with their machine and person loaded (for the slip and lists)."""
    return list(db.session.scalars(select(Booking).where(Booking.id.in_(booking_ids)).options(
        joinedload(Booking.equipment), joinedload(Booking.user))))
