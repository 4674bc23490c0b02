"""Public pages about branches."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from flask import Blueprint, render_template
from flask_babel import get_locale
from sqlalchemy import select

from makerspace import clock
from makerspace.booking.forms import KIND_LABELS, holiday_name
from makerspace.booking.services import equipment_at
from makerspace.branches.hours import (
    WEEKDAYS,
    format_clock,
    hours_for_days,
    weekly_hours,
)
from makerspace.branches.models import Branch
from makerspace.branches.services import branch_by_slug
from makerspace.extensions import db

bp = Blueprint("branches", __name__, url_prefix="/branches")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    branches = db.session.scalars(select(Branch).order_by(Branch.name)).all()
    return render_template("branches/index.html", branches=branches)


@bp.get("/<slug>")
def show(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    today = clock.now().astimezone(ZoneInfo(branch.timezone)).date()
    return render_template(
        "branches/show.html", branch=branch, machines=equipment_at(branch), today=today,
        weekly=weekly_hours(branch), weekdays=_weekday_names(),
        coming_days=hours_for_days(branch, today, 7), kind_labels=KIND_LABELS,
        format_clock=format_clock, holiday_name=holiday_name)


def _weekday_names() -> list[tuple[str, str]]:
    """[("mon", "Monday"), …] in the page's language (Babel's names, Monday first)."""
    names = get_day_names("wide", "stand-alone", locale=get_locale())
    return [(key, names[index]) for index, key in enumerate(WEEKDAYS)]

