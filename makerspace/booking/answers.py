"""A booking as the API answers it (BookingSchema), for every area's API that returns one:
the booking area's own and the waits' (a hold taken becomes a booking)."""

from __future__ import annotations

from typing import Any

from makerspace.booking import guardians, services
from makerspace.booking.models import Booking, BookingStatus
from makerspace.checkin.services import checkin_link


def booking_out(booking: Booking) -> dict[str, Any]:
    consent = guardians.consent_state(booking)
    pending = consent == "pending" and booking.status == BookingStatus.CONFIRMED
    return {"id": booking.id, "equipment_id": booking.equipment_id,
            "branch": booking.equipment.branch.slug, "start": booking.start_at,
            "end": booking.end_at,
            "status": "pending_consent" if pending else booking.status.value,
            "guardian_consent": consent,
            "cancel_reason": booking.cancel_reason or None,
            "unattended": booking.unattended, "estimated_minutes": booking.estimated_minutes,
            "pickup_from": services.pickup_from(booking) if booking.unattended else None,
            "job_outcome": booking.job.outcome.value if booking.job and booking.job.outcome
            else None,
            "checkin_url": checkin_link(booking.checkin_token)}
