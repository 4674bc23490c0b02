"""The booking's side of a machine's job events, through the booking area's job outcomes
(makerspace/booking/jobs.py): started, ended (which frees the rest of the slot) and the
material used, all by nobody (`by=None`) via "machine"."""

from __future__ import annotations

from datetime import datetime

from makerspace.booking.jobs import JobOutcome, end_job, record_material, start_job
from makerspace.booking.models import Booking, MaterialUnit
from makerspace.errors import DomainError
from makerspace.machines.models import JobState

OUTCOMES = {JobState.FINISHED: JobOutcome.FINISHED, JobState.FAILED: JobOutcome.FAILED,
            JobState.CANCELLED: JobOutcome.STOPPED}


def job_started(booking: Booking, *, at: datetime) -> None:
    """The booking's job started on the machine (starting it again changes nothing)."""
    try:
        start_job(booking, at=at, by=None, via="machine")
    except DomainError:
        pass  # the desk ended it meanwhile: the desk's word stands


def job_ended(booking: Booking, state: JobState, *, at: datetime,
              grams: float | None) -> None:
    """The booking's job ended: its outcome, the machine free from `at`, and the filament
    the machine reports in the material record (for the person to confirm)."""
    outcome = OUTCOMES.get(state)
    if outcome is None:
        return
    try:
        end_job(booking, outcome, at=at, by=None, via="machine")
    except DomainError:
        return  # ended at the desk already, another way: the desk's word stands
    job = booking.job
    if (grams is not None and booking.equipment.material_unit == MaterialUnit.GRAMS
            and (job is None or job.material_recorded_at is None)):
        record_material(booking, amount=grams, by=None, via="machine", at=at)
