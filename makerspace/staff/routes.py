"""The staff dashboard: the branches a person works at, and a branch's day. The pages that
manage machines, hours, courses, check-in and people live in their own areas."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from makerspace import clock
from makerspace.auth import managed_branch_or_404, staff_required
from makerspace.booking import services as booking_services
from makerspace.booking.forms import StaffCancelForm
from makerspace.branches.hours import day_bounds, local_today
from makerspace.branches.services import all_branches

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@staff_required
def index():  # type: ignore[no-untyped-def]
    branches = all_branches() if current_user.is_admin else current_user.branches
    return render_template("staff/index.html", branches=branches)


@bp.get("/<slug>/")
@staff_required
def branch(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    now = clock.now()
    start, end = day_bounds(local_today(now, branch.timezone), branch.timezone)
    machines = [(e, booking_services.current_outage(e, now))
                for e in booking_services.equipment_at(branch)]
    bookings = booking_services.bookings_at_branch(branch, start, end)
    return render_template(
        "staff/branch.html", branch=branch, now=now, machines=machines, bookings=bookings,
        cancellable={b.id for b in bookings
                     if booking_services.cancel_refusal(b, by=current_user) is None},
        cancel_form=StaffCancelForm())
