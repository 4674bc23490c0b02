"""Calendar feed addresses in the API (nested under /api/v1)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from makerspace.api.auth import api_user, token_required
from makerspace.auth import manages_branch
from makerspace.branches.services import branch_by_slug
from makerspace.calendar import services
from makerspace.errors import Forbidden

bp = Blueprint("calendar_api", __name__)


def _managed_branch(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    if not manages_branch(api_user(), branch):
        raise Forbidden()
    return branch


@bp.get("/branches/<slug>/staff-calendar")
@token_required
def staff_calendar(slug: str):  # type: ignore[no-untyped-def]
    return jsonify({"url": services.staff_feed_url(_managed_branch(slug))})


@bp.post("/branches/<slug>/staff-calendar")
@token_required
def rotate_staff_calendar(slug: str):  # type: ignore[no-untyped-def]
    branch = _managed_branch(slug)
    services.rotate_staff_token(branch)
    return jsonify({"url": services.staff_feed_url(branch)})


@bp.post("/me/calendar-token")
@token_required
def rotate_calendar_token():  # type: ignore[no-untyped-def]
    services.rotate_personal_token(api_user())
    return jsonify({"calendar_url": services.personal_feed_url(api_user())})
