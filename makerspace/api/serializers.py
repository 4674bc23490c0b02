"""JSON shapes of the API, one function per resource."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from makerspace.accounts.models import User
from makerspace.booking.models import Booking, Equipment
from makerspace.branches.hours import Interval
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification, UserCertification
from makerspace.checkin.services import checkin_link
from makerspace.events.models import Event, Signup
from makerspace.events.services import EventCounts


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def branch_json(branch: Branch) -> dict[str, Any]:
    return {
        "slug": branch.slug,
        "name": branch.name,
        "municipality": branch.municipality,
        "timezone": branch.timezone,
        "closed_on_public_holidays": branch.closed_on_public_holidays,
        "max_upcoming_bookings": branch.max_upcoming_bookings,
    }


def me_json(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "branches": [branch.slug for branch in user.branches],
    }


def equipment_json(equipment: Equipment, status: str) -> dict[str, Any]:
    certification = equipment.requires_certification
    return {
        "id": equipment.id,
        "branch": equipment.branch.slug,
        "name": equipment.name,
        "kind": equipment.kind.value,
        "description": equipment.description,
        "status": status,
        "slot_minutes": equipment.slot_minutes,
        "min_minutes": equipment.min_minutes,
        "max_minutes": equipment.max_minutes,
        "buffer_minutes": equipment.buffer_minutes,
        "max_advance_days": equipment.max_advance_days,
        "min_age": equipment.min_age,
        "requires_certification": certification.slug if certification else None,
    }


def interval_json(interval: Interval) -> dict[str, str]:
    return {"start": interval.start.isoformat(), "end": interval.end.isoformat()}


def booking_json(booking: Booking) -> dict[str, Any]:
    return {
        "id": booking.id,
        "equipment_id": booking.equipment_id,
        "branch": booking.equipment.branch.slug,
        "start": iso(booking.start_at),
        "end": iso(booking.end_at),
        "status": booking.status.value,
        "cancel_reason": booking.cancel_reason or None,
        "checkin_url": checkin_link(booking.checkin_token),
    }


def certification_json(certification: Certification) -> dict[str, Any]:
    return {"slug": certification.slug, "name": certification.name,
            "valid_months": certification.valid_months}


def grant_json(held: UserCertification) -> dict[str, Any]:
    return {
        "certification": held.certification.slug,
        "user_email": held.user.email,
        "granted_at": iso(held.granted_at),
        "expires_at": iso(held.expires_at),
        "note": held.note,
    }


def event_json(event: Event, counts: EventCounts) -> dict[str, Any]:
    granted = event.grants_certification
    required = event.requires_certification
    return {
        "id": event.id,
        "branch": event.branch.slug,
        "title": event.title,
        "description": event.description,
        "instructor": event.instructor,
        "start": iso(event.start_at),
        "end": iso(event.end_at),
        "capacity": event.capacity,
        "seats_left": event.seats_left(counts.confirmed),
        "waitlist_length": counts.waitlisted,
        "status": event.status.value,
        "min_age": event.min_age,
        "signup_opens": iso(event.signup_opens_at),
        "signup_closes": iso(event.signup_deadline),
        "grants_certification": granted.slug if granted else None,
        "requires_certification": required.slug if required else None,
    }


def signup_json(signup: Signup, position: int | None) -> dict[str, Any]:
    return {
        "id": signup.id,
        "event_id": signup.event_id,
        "status": signup.status.value,
        "position": position,
        "attended_at": iso(signup.attended_at),
        "checkin_url": checkin_link(signup.checkin_token),
    }


def held_certification_json(held: UserCertification, at: datetime) -> dict[str, Any]:
    return {
        "certification": held.certification.slug,
        "name": held.certification.name,
        "granted_at": iso(held.granted_at),
        "expires_at": iso(held.expires_at),
        "valid": held.valid_at(at),
    }
