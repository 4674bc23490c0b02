"""What the course pages call a sign-up's state; registered as a template global."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from makerspace.events.models import EventCategory, SignupStatus

SIGNUP_LABELS = {
    SignupStatus.CONFIRMED: _l("Confirmed"),
    SignupStatus.WAITLISTED: _l("On the waitlist"),
    SignupStatus.CANCELLED: _l("Left"),
}

CATEGORY_LABELS = {
    EventCategory.PRINTING_3D: _l("3D printing"),
    EventCategory.LASER: _l("Laser cutting"),
    EventCategory.SEWING: _l("Sewing and textiles"),
    EventCategory.VR: _l("VR"),
    EventCategory.DIGITAL_SKILLS: _l("Digital skills"),
    EventCategory.PODCAST: _l("Podcast and sound"),
    EventCategory.DIGITISATION: _l("Digitising photos and film"),
    EventCategory.OPEN_WORKSHOP: _l("Open workshop"),
    EventCategory.OTHER: _l("Other"),
}

AGE_GROUP_LABELS = {
    "children": _l("Children (under 13)"),
    "youth": _l("Young people (13–17)"),
    "adults": _l("Adults"),
}

TEMPLATE_GLOBALS: dict[str, Any] = {"signup_labels": SIGNUP_LABELS,
                                    "category_labels": CATEGORY_LABELS}
