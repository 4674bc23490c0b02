"""Machine connections and what their job events do to bookings.

Functions here flush but never commit; the poller (makerspace/machines/poller.py) commits
each machine's reading in a transaction of its own. The rules, in one place:

- a job that starts within a booking's check-in window checks the booking in ("started on
  the machine"), unless the connection says not to;
- a job that finishes, fails or is cancelled marks the booking's job outcome and frees the
  rest of the slot at once (makerspace/booking/jobs.py), unless the connection says not to;
  the filament it reports goes into the material record for the person to confirm;
- a job on a machine without a booking then is kept without one ("in use without booking");
- a machine that does not answer is marked offline and nothing is decided on a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from makerspace import clock
from makerspace.booking.errors import EquipmentNotFound
from makerspace.booking.models import Booking, BookingStatus, Equipment, EquipmentOutage
from makerspace.checkin.services import check_in_from_machine
from makerspace.errors import InvalidInput, NotFound
from makerspace.extensions import db
from makerspace.machines import credentials, outcomes
from makerspace.machines.clients import (
    CANCELLED,
    DISCONNECTED,
    ERROR,
    FAILED,
    FINISHED,
    IDLE,
    PAUSED,
    PLA_GRAMS_PER_MM,
    Reading,
)
from makerspace.machines.models import (
    ConnectionKind,
    JobState,
    MachineConnection,
    MachineJob,
    MachineStatus,
)

# -- errors -------------------------------------------------------------------------------


class InvalidConnection(InvalidInput):
    code = "invalid_connection"
    title = _l("The machine's connection is not valid.")


class ConnectionNotFound(NotFound):
    code = "not_found"
    title = _l("This machine has no connection.")


# -- setting up ---------------------------------------------------------------------------

def connection_of(equipment: Equipment) -> MachineConnection | None:
    return db.session.scalar(select(MachineConnection).where(
        MachineConnection.equipment_id == equipment.id))


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InvalidConnection(_("The address must be an http:// or https:// address of "
                                  "at most 500 characters."), field="url")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidConnection(_("The address must not hold a user name, password, query "
                                  "or fragment: give the API key on its own."), field="url")
    return url.rstrip("/")


def set_connection(equipment: Equipment, *, kind: str, url: str, api_key: str | None = None,
                   check_in_on_start: bool = True, finish_on_end: bool = True,
                   now: datetime) -> MachineConnection:
    """Connect a machine (or change its connection). `api_key` None keeps the saved key,
    "" removes it; it is stored encrypted and never shown again."""
    try:
        checked_kind = ConnectionKind(kind)
    except ValueError as error:
        raise InvalidConnection(_("Unknown kind of connection."), field="kind") from error
    checked_url = _checked_url(url)
    if api_key is not None and len(api_key) > 500:
        raise InvalidConnection(_("The API key is too long."), field="api_key")
    connection = connection_of(equipment)
    if connection is None:
        connection = MachineConnection(equipment_id=equipment.id, kind=checked_kind,
                                       url=checked_url, failures=0)
        db.session.add(connection)
    elif (connection.kind, connection.url) != (checked_kind, checked_url):
        connection.status = MachineStatus.UNKNOWN
        connection.printer_state = ""
        connection.last_error = ""
    connection.kind = checked_kind
    connection.url = checked_url
    if api_key is not None:
        connection.api_key_encrypted = credentials.encrypt(api_key.strip()) \
            if api_key.strip() else None
    connection.check_in_on_start = bool(check_in_on_start)
    connection.finish_on_end = bool(finish_on_end)
    connection.failures = 0
    connection.next_poll_at = now  # ask soon
    db.session.flush()
    return connection


def remove_connection(equipment: Equipment) -> None:
    """Disconnect a machine; the jobs seen so far stay (open ones are closed as unknown)."""
    connection = connection_of(equipment)
    if connection is None:
        raise ConnectionNotFound()
    job = open_job(equipment.id)
    if job is not None:
        job.state, job.ended_at = JobState.UNKNOWN, max(job.started_at, clock.now())
    db.session.delete(connection)
    db.session.flush()


def has_key(connection: MachineConnection) -> bool:
    return bool(connection.api_key_encrypted)


# -- what pages show ----------------------------------------------------------------------

_OPEN_JOB = select(MachineJob).where(  # built once: every machine page asks it
    MachineJob.equipment_id == bindparam("equipment_id"), MachineJob.ended_at.is_(None))


def open_job(equipment_id: int) -> MachineJob | None:
    return db.session.scalar(_OPEN_JOB, {"equipment_id": equipment_id})


@dataclass(frozen=True)
class MachineNow:
    """A machine with its branch, the outage in force and the job running on it."""

    equipment: Equipment
    outage: EquipmentOutage | None
    job: MachineJob | None


# One statement for a machine's page instead of three, built once.
_MACHINE_NOW = select(
    Equipment,
    select(EquipmentOutage.id).where(
        EquipmentOutage.equipment_id == Equipment.id,
        EquipmentOutage.covers(bindparam("now"), bindparam("second_later")),
    ).order_by(EquipmentOutage.start_at, EquipmentOutage.id).limit(1).scalar_subquery(),
    select(MachineJob.id).where(MachineJob.equipment_id == Equipment.id,
                                MachineJob.ended_at.is_(None)).limit(1).scalar_subquery(),
).options(joinedload(Equipment.branch, innerjoin=True)).where(
    Equipment.id == bindparam("equipment_id"))


def machine_now(equipment_id: int, now: datetime) -> MachineNow:
    """The machine (or EquipmentNotFound), the outage in force at `now` (as
    booking.services.current_outage finds it) and its open job (as open_job)."""
    found = db.session.execute(_MACHINE_NOW, {
        "equipment_id": equipment_id, "now": now,
        "second_later": now + timedelta(seconds=1)}).one_or_none()
    if found is None:
        raise EquipmentNotFound()
    equipment, outage_id, job_id = found
    return MachineNow(
        equipment,
        db.session.get(EquipmentOutage, outage_id) if outage_id is not None else None,
        db.session.get(MachineJob, job_id) if job_id is not None else None)


def open_jobs(equipment_ids: list[int]) -> dict[int, MachineJob]:
    """The running or paused job of each machine that has one."""
    if not equipment_ids:
        return {}
    return {job.equipment_id: job for job in db.session.scalars(select(MachineJob).where(
        MachineJob.equipment_id.in_(equipment_ids), MachineJob.ended_at.is_(None)))}


def connections_of(equipment_ids: list[int]) -> dict[int, MachineConnection]:
    if not equipment_ids:
        return {}
    return {c.equipment_id: c for c in db.session.scalars(select(MachineConnection).where(
        MachineConnection.equipment_id.in_(equipment_ids)))}


def latest_job(equipment_id: int) -> MachineJob | None:
    """The machine's open job, else the last one it ran."""
    return db.session.scalar(select(MachineJob).where(MachineJob.equipment_id == equipment_id)
                             .order_by(MachineJob.ended_at.is_not(None),
                                       MachineJob.started_at.desc(), MachineJob.id.desc())
                             .limit(1))


def job_for_booking(booking: Booking) -> MachineJob | None:
    """The latest job the machine ran in this booking."""
    return db.session.scalar(select(MachineJob).where(MachineJob.booking_id == booking.id)
                             .order_by(MachineJob.started_at.desc(), MachineJob.id.desc())
                             .limit(1))


def in_use_until(job: MachineJob | None, now: datetime) -> tuple[bool, datetime | None]:
    """For the public page, from the machine's open job (or None): whether a job runs, and
    about when it ends (rounded up to five minutes); nothing about whose job it is."""
    if job is None:
        return False, None
    end = job.estimated_end_at
    if end is None or end <= now:
        return True, None
    minutes = math.ceil((end - end.replace(minute=0, second=0, microsecond=0))
                        .total_seconds() / 300) * 5
    return True, end.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)


# -- polling: who is due, what they said ---------------------------------------------------

@dataclass(frozen=True)
class PollOrder:
    """What the poller needs to ask one machine (read in a transaction, asked outside)."""

    connection_id: int
    kind: ConnectionKind
    url: str
    api_key: str | None


def poll_interval() -> float:
    return float(current_app.config["MACHINE_POLL_SECONDS"])


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return or_(MachineConnection.next_poll_at.is_(None), MachineConnection.next_poll_at <= now)


def any_due(now: datetime) -> bool:
    """Whether any machine's poll is due (a read: the poller asks this every second)."""
    return db.session.scalar(select(MachineConnection.id).where(_due(now)).limit(1)) is not None


def claim_due(now: datetime, *, limit: int) -> list[PollOrder]:
    """The connections whose poll is due, each moved on by a lease so that another worker
    does not ask the same machine meanwhile (locked rows are skipped on PostgreSQL)."""
    rows = list(db.session.scalars(select(MachineConnection).where(_due(now))
        .order_by(MachineConnection.next_poll_at, MachineConnection.id).limit(limit)
        .with_for_update(skip_locked=True)))
    lease = timedelta(seconds=4 * float(current_app.config["MACHINE_TIMEOUT_SECONDS"]) + 5)
    orders = []
    for connection in rows:
        connection.next_poll_at = now + lease
        orders.append(PollOrder(connection.id, connection.kind, connection.url,
                                credentials.decrypt(connection.api_key_encrypted)))
    db.session.flush()
    return orders


def _locked_connection(connection_id: int) -> MachineConnection | None:
    return db.session.scalar(select(MachineConnection).where(
        MachineConnection.id == connection_id).with_for_update())


def record_failure(connection_id: int, reason: str, now: datetime) -> MachineConnection | None:
    """The machine did not answer: offline, asked again after a growing pause (the interval
    doubled per failure in a row, at most MACHINE_POLL_MAX_BACKOFF_SECONDS). Nothing about
    its bookings changes."""
    connection = _locked_connection(connection_id)
    if connection is None:
        return None
    connection.failures += 1
    connection.status = MachineStatus.OFFLINE
    connection.last_error = reason[:200]
    connection.last_polled_at = now
    pause = min(poll_interval() * 2 ** connection.failures,
                float(current_app.config["MACHINE_POLL_MAX_BACKOFF_SECONDS"]))
    connection.next_poll_at = now + timedelta(seconds=pause)
    db.session.flush()
    return connection


def record_reading(connection_id: int, reading: Reading, now: datetime) -> MachineJob | None:
    """Apply what the machine said: its status, and the job's start, progress and end with
    what they do to bookings. Returns the job the reading was about, if any."""
    connection = _locked_connection(connection_id)
    if connection is None:
        return None
    connection.last_polled_at = now
    connection.next_poll_at = now + timedelta(seconds=poll_interval())
    connection.failures = 0
    connection.printer_state = reading.state
    if reading.state == DISCONNECTED:
        # The machine's software answers but the printer is not there: tell staff, decide
        # nothing.
        connection.status = MachineStatus.OFFLINE
        connection.last_error = reading.detail or "printer not connected"
        db.session.flush()
        return open_job(connection.equipment_id)
    connection.status = MachineStatus.ONLINE
    connection.last_seen_at = now
    connection.last_error = ""
    job = open_job(connection.equipment_id)
    if reading.has_job:
        if job is not None and job.remote_key != (reading.job_key or ""):
            # Another job runs: this one ended unseen; how is not known.
            _close(job, JobState.UNKNOWN, now, connection=None, reading=None)
            job = None
        if job is None:
            job = _start(connection, reading, now)
        _progress(job, reading, now)
    elif job is not None:
        ended = _ended_state(job, reading)
        if ended is not None:
            _progress(job, reading, now)
            _close(job, ended, now, connection=connection, reading=reading)
    db.session.flush()
    return job


def _ended_state(job: MachineJob, reading: Reading) -> JobState | None:
    """How the open job ended, from what the machine says now; None: not ended (or not
    known to have ended)."""
    same = reading.job_key is None or reading.job_key == job.remote_key
    if reading.state == FINISHED and same:
        return JobState.FINISHED
    if reading.state in (FAILED, ERROR):
        return JobState.FAILED
    if reading.state == CANCELLED and same:
        return JobState.CANCELLED
    if reading.state == IDLE:
        # OctoPrint says only "operational" after a job: complete if it reached 100 %.
        if same and reading.progress is not None and reading.progress >= 99.95:
            return JobState.FINISHED
        if same and reading.job_key is not None:
            return JobState.CANCELLED
        return JobState.UNKNOWN
    if reading.state in (FINISHED, CANCELLED):
        return JobState.UNKNOWN  # a different job's end: this one's is not known
    return None


def _epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _start(connection: MachineConnection, reading: Reading, now: datetime) -> MachineJob:
    started = now
    if reading.started_epoch is not None:
        started = min(_epoch(reading.started_epoch), now)
    elif reading.seconds_printing is not None:
        started = now - timedelta(seconds=reading.seconds_printing)
    booking = booking_at(connection.equipment_id, started)
    job = MachineJob(equipment_id=connection.equipment_id, remote_key=reading.job_key or "",
                     state=JobState.RUNNING, started_at=started,
                     booking_id=booking.id if booking is not None else None)
    db.session.add(job)
    db.session.flush()
    if booking is not None:
        checked_in = booking.status == BookingStatus.CHECKED_IN
        if booking.status == BookingStatus.CONFIRMED and connection.check_in_on_start:
            checked_in = check_in_from_machine(booking, at=started)
        if checked_in:
            outcomes.job_started(booking, at=started)
    return job


def booking_at(equipment_id: int, moment: datetime) -> Booking | None:
    """The booking a job starting at `moment` belongs to: checked in and going on, or
    confirmed with its check-in window open (checked in first)."""
    candidates = list(db.session.scalars(select(Booking).where(
        Booking.equipment_id == equipment_id,
        Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)),
        Booking.start_at <= moment + timedelta(hours=2), Booking.end_at > moment)
        .order_by(Booking.start_at)))
    for booking in sorted(candidates, key=lambda b: b.status != BookingStatus.CHECKED_IN):
        opens, closes = booking.equipment.branch.checkin_window(booking.start_at)
        if booking.status == BookingStatus.CHECKED_IN and moment >= opens:
            return booking
        if booking.status == BookingStatus.CONFIRMED and opens <= moment < closes:
            return booking
    return None


def _progress(job: MachineJob, reading: Reading, now: datetime) -> None:
    job.state = JobState.PAUSED if reading.state == PAUSED else JobState.RUNNING
    if reading.progress is not None:
        job.progress = round(reading.progress, 1)
    if reading.seconds_left:  # 0: no estimate yet (OctoPrint at the start)
        job.estimated_end_at = now + timedelta(seconds=round(reading.seconds_left))
    if reading.filament_mm is not None:
        job.filament_mm = round(reading.filament_mm, 1)
    if reading.filament_grams is not None:
        job.filament_grams = round(reading.filament_grams, 1)


def _close(job: MachineJob, state: JobState, now: datetime, *,
           connection: MachineConnection | None, reading: Reading | None) -> None:
    job.state = state
    job.ended_at = max(now, job.started_at)
    if state == JobState.FINISHED:
        job.progress = 100.0
    db.session.flush()
    booking = job.booking
    if (booking is None or connection is None or not connection.finish_on_end
            or state == JobState.UNKNOWN or booking.status != BookingStatus.CHECKED_IN
            or booking.end_at <= now):
        return
    outcomes.job_ended(booking, state, at=now, grams=_grams_used(job, state))


def _grams_used(job: MachineJob, state: JobState) -> float | None:
    """Filament for the material record: what the machine reported, or worked out from the
    length (1.75 mm PLA); for a job that stopped early, the share it printed. The person
    confirms it."""
    grams = job.filament_grams
    if grams is None and job.filament_mm is not None:
        grams = job.filament_mm * PLA_GRAMS_PER_MM
    if grams is None:
        return None
    if state != JobState.FINISHED and job.progress is not None:
        grams = grams * job.progress / 100
    return round(grams, 1)
