"""`/embed/<branch>`: what is free today per kind and the next courses, for an iframe on the
library's own web site. Read-only, no forms, no cookies; the language comes from `?lang=`
(makerspace.i18n.select_locale), else the reader's browser."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, render_template

from makerspace import clock
from makerspace.booking.services import free_today
from makerspace.branches.services import branch_by_slug
from makerspace.events.services import event_counts, list_events

bp = Blueprint("embed", __name__, url_prefix="/embed")

EMBED_COURSES = 5
EMBED_MAX_AGE = 60  # seconds a cache may keep it: "free today" moves with the clock
COURSE_HORIZON = timedelta(days=60)
ONLY_OURS = "'self'"


def frame_policy(ancestors: str) -> str:
    """The Content-Security-Policy of an embedded view: framed only by `ancestors`."""
    return ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
            f"frame-ancestors {ancestors.strip() or ONLY_OURS}; "
            "base-uri 'self'; form-action 'self'")


@bp.get("/<slug>")
def branch(slug: str):  # type: ignore[no-untyped-def]
    place = branch_by_slug(slug)
    now = clock.now()
    courses = list(list_events(branch=place, start=now, end=now + COURSE_HORIZON,
                               include_cancelled=False, per_page=EMBED_COURSES))
    response = current_app.make_response(render_template(
        "embed/branch.html", branch=place, free_today=free_today([place], now),
        courses=courses, counts=event_counts(courses)))
    response.headers["Content-Security-Policy"] = frame_policy(
        current_app.config["EMBED_FRAME_ANCESTORS"])
    response.headers["Cache-Control"] = f"public, max-age={EMBED_MAX_AGE}"
    return response
