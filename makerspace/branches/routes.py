"""Public pages about branches."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, render_template
from flask_login import current_user

from makerspace import clock
from makerspace.booking.models import EquipmentKind
from makerspace.booking.services import equipment_at, free_today
from makerspace.branches.hours import (
    hours_for_days,
    staffed_for_days,
    staffed_weekly,
    weekly_hours,
)
from makerspace.branches.labels import weekday_names
from makerspace.branches.services import all_branches, branch_by_slug

bp = Blueprint("branches", __name__, url_prefix="/branches")


def home_branch():  # type: ignore[no-untyped-def]
    """The person's home library, if they are logged in and chose one."""
    return current_user.home_branch if current_user.is_authenticated else None


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    home = home_branch()
    return render_template("branches/index.html", branches=all_branches(first=home), home=home)


@bp.get("/<slug>")
def show(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    now = clock.now()
    today = now.astimezone(ZoneInfo(branch.timezone)).date()
    machines = equipment_at(branch)
    staffed = staffed_weekly(branch)
    return render_template(
        "branches/show.html", branch=branch, machines=machines, today=today,
        by_kind=[(kind, [m for m in machines if m.kind == kind]) for kind in EquipmentKind
                 if any(m.kind == kind for m in machines)],
        weekly=weekly_hours(branch), weekdays=weekday_names(), staffed_weekly=staffed,
        coming_days=hours_for_days(branch, today, 7),
        staffed_days=staffed_for_days(branch, today, 7) if staffed is not None else None,
        free_today=free_today([branch], now, machines))
