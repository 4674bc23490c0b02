"""Public pages about branches."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from makerspace import clock
from makerspace.booking import versions
from makerspace.booking.models import Equipment, EquipmentKind
from makerspace.booking.services import equipment_at, free_today
from makerspace.branches.hours import (
    hours_for_days,
    staffed_for_days,
    staffed_weekly,
    weekly_hours,
)
from makerspace.branches.labels import weekday_names
from makerspace.branches.models import Branch
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
    now = clock.now()
    # The page's fingerprint is read before the database (see booking/versions.py).
    minute, within = versions.moment_key(now)
    tag = versions.branch_page_tag(slug, minute, f"{get_locale()}|{within}")
    page = versions.kept_branch_page(tag)
    if page is None:
        branch = branch_by_slug(slug)
        machines = equipment_at(branch)
        if not versions.confirm_branch_page(slug, branch.id, [m.id for m in machines]):
            tag = None
        page = versions.kept_or_made(tag, lambda: _page(branch, machines, now))
    return render_template("branches/show.html", page=page)


def _page(branch: Branch, machines: list[Equipment], now: datetime) -> SimpleNamespace:
    """The branch page's head and body, rendered (the same for every visitor)."""
    today = now.astimezone(ZoneInfo(branch.timezone)).date()
    staffed = staffed_weekly(branch)
    shown = {
        "branch": branch, "machines": machines, "today": today,
        "by_kind": [(kind, [m for m in machines if m.kind == kind]) for kind in EquipmentKind
                    if any(m.kind == kind for m in machines)],
        "weekly": weekly_hours(branch), "weekdays": weekday_names(), "staffed_weekly": staffed,
        "coming_days": hours_for_days(branch, today, 7),
        "staffed_days": staffed_for_days(branch, today, 7) if staffed is not None else None,
        "free_today": free_today([branch], now, machines)}
    # Jinja output, escaped as it was rendered
    return SimpleNamespace(name=branch.name, slug=branch.slug,
                           head=Markup(render_template("branches/_page_head.html", **shown)),  # noqa: S704
                           body=Markup(render_template("branches/_page_body.html", **shown)))  # noqa: S704
