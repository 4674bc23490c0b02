"""The booking's side of a machine's job events, through the booking area's job outcomes
(makerspace/booking/jobs.py): started, ended (which frees the rest of the slot) and the
material used, all by nobody (`by=None`) via "machine"."""

from __future__ import annotations

from datetime import datetime, timedelta

from makerspace.booking.models import Booking, BookingStatus
from makerspace.extensions import db
from makerspace.machines.models import JobState


def job_started(booking: Booking, *, at: datetime) -> None:
    """The booking's job started on the machine."""
    # INTERIM until makerspace/booking/jobs.py (issue 19) is merged: nothing to record.


def job_ended(booking: Booking, state: JobState, *, at: datetime,
              grams: float | None) -> None:
    """The booking's job ended: its outcome, the machine free from `at`, the filament."""
    # INTERIM until makerspace/booking/jobs.py (issue 19) is merged: free the rest only.
    end = max(at, booking.start_at + timedelta(minutes=1))
    if end < booking.end_at:
        buffer = booking.occupied_until - booking.end_at
        booking.end_at = end
        booking.occupied_until = end + buffer
        booking.sequence += 1
    booking.status = BookingStatus.COMPLETED
    db.session.flush()
