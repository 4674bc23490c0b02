"""Public pages about branches."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, render_template

from makerspace import clock
from makerspace.booking.services import equipment_at
from makerspace.branches.hours import hours_for_days, weekly_hours
from makerspace.branches.labels import weekday_names
from makerspace.branches.services import all_branches, branch_by_slug

bp = Blueprint("branches", __name__, url_prefix="/branches")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template("branches/index.html", branches=all_branches())


@bp.get("/<slug>")
def show(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    today = clock.now().astimezone(ZoneInfo(branch.timezone)).date()
    return render_template(
        "branches/show.html", branch=branch, machines=equipment_at(branch), today=today,
        weekly=weekly_hours(branch), weekdays=weekday_names(),
        coming_days=hours_for_days(branch, today, 7))
