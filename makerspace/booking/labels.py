"""What the booking pages call things, in one place: kinds of machine, booking and slot states,
durations. Registered as template globals by the app factory."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from makerspace.booking.availability import FreeStart
from makerspace.booking.models import BookingStatus, EquipmentKind, JobOutcome, MaterialUnit

KIND_LABELS = {
    EquipmentKind.PRINTER_3D: _l("3D printer"),
    EquipmentKind.LASER_CUTTER: _l("Laser cutter"),
    EquipmentKind.VR_KIT: _l("VR headset"),
    EquipmentKind.VINYL_CUTTER: _l("Vinyl cutter"),
    EquipmentKind.SEWING_MACHINE: _l("Sewing or embroidery machine"),
    EquipmentKind.PODCAST_STUDIO: _l("Podcast studio"),
    EquipmentKind.DIGITISATION_STATION: _l("Digitisation station"),
    EquipmentKind.OTHER: _l("Other equipment"),
    EquipmentKind.KIT: _l("Kit to borrow"),
}

STATUS_LABELS = {
    BookingStatus.CONFIRMED: _l("Confirmed"),
    BookingStatus.CHECKED_IN: _l("Checked in"),
    BookingStatus.COMPLETED: _l("Completed"),
    BookingStatus.CANCELLED: _l("Cancelled"),
    BookingStatus.NO_SHOW: _l("No-show"),
    BookingStatus.HELD: _l("Held for someone waiting"),
}

UNIT_LABELS = {
    MaterialUnit.GRAMS: _l("grams"),
    MaterialUnit.METRES: _l("metres"),
    MaterialUnit.SHEETS: _l("sheets"),
}

OUTCOME_LABELS = {
    JobOutcome.FINISHED: _l("Finished"),
    JobOutcome.FAILED: _l("Failed"),
    JobOutcome.STOPPED: _l("Stopped early"),
}

SLOT_LABELS = {
    "free": _l("Free"),
    "busy": _l("Booked"),
    "past": _l("Past"),
    "closed": _l("Not bookable yet"),
    "short": _l("Too short a gap"),
}


def duration_label(minutes: int) -> str:
    """90 -> '1 h 30 min' (in the page's language)."""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)
    if hours:
        return _("%(hours)s h", hours=hours)
    return _("%(minutes)s min", minutes=rest)


def book_link(found: FreeStart) -> str:
    """The booking form with this free period filled in (search results, free today)."""
    return url_for("booking.book", equipment_id=found.equipment.id,
                   start=found.start.isoformat(),
                   minutes=int((found.end - found.start).total_seconds() // 60))


TEMPLATE_GLOBALS: dict[str, Any] = {
    "kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS, "slot_labels": SLOT_LABELS,
    "duration_label": duration_label, "book_link": book_link,
    "unit_labels": UNIT_LABELS, "outcome_labels": OUTCOME_LABELS,
}
