"""What the pages of other areas need from the waits, as template globals (registered by the
app factory): the booking pages include `waits/_my_waits.html` and `waits/_wait_offer.html`
without their views knowing about waits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import current_user

from makerspace import clock
from makerspace.waits.models import SlotWait
from makerspace.waits.services import waits_of


def my_slot_waits() -> list[SlotWait]:
    """The logged-in person's waits and holds still ahead ("my bookings")."""
    if not current_user.is_authenticated:
        return []
    return waits_of(current_user, clock.now())


def clock_now() -> datetime:
    return clock.now()


TEMPLATE_GLOBALS: dict[str, Any] = {"my_slot_waits": my_slot_waits, "clock_now": clock_now}
