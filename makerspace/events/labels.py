"""What the course pages call a sign-up's state; registered as a template global."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from makerspace.events.models import SignupStatus

SIGNUP_LABELS = {
    SignupStatus.CONFIRMED: _l("Confirmed"),
    SignupStatus.WAITLISTED: _l("On the waitlist"),
    SignupStatus.CANCELLED: _l("Left"),
}

TEMPLATE_GLOBALS: dict[str, Any] = {"signup_labels": SIGNUP_LABELS}
