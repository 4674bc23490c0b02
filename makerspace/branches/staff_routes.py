"""Staff pages of the branches area: weekly opening hours and settings, closures and special
hours on single dates, and (admins) new branches."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from makerspace import clock
from makerspace.auth import admin_required, managed_branch_or_404, staff_required
from makerspace.branches import hours as branch_hours
from makerspace.branches.forms import (
    BranchEditForm,
    BranchForm,
    ClosureForm,
    HoursForm,
    RemoveClosureForm,
)
from makerspace.branches.services import (
    branch_by_slug,
    create_branch,
    update_branch,
    update_branch_settings,
)
from makerspace.core.transaction import attempt, form_page

bp = Blueprint("branches_staff", __name__, url_prefix="/staff")

CLOSURE_LOOKAHEAD_DAYS = 90


@bp.route("/<slug>/hours", methods=["GET", "POST"])
@staff_required
def hours(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    if request.method == "POST":
        form = HoursForm()
    else:
        form = HoursForm(data={**HoursForm.initial(branch_hours.weekly_hours(branch)),
                               "closed_on_public_holidays": branch.closed_on_public_holidays,
                               "max_upcoming_bookings": branch.max_upcoming_bookings,
                               "staff_feed_full_names": branch.staff_feed_full_names})
    problem = None
    if form.validate_on_submit():
        def save():  # type: ignore[no-untyped-def]
            branch_hours.set_weekly_hours(branch, form.weekly())
            update_branch_settings(
                branch, closed_on_public_holidays=form.closed_on_public_holidays.data,
                max_upcoming_bookings=form.max_upcoming_bookings.data,
                staff_feed_full_names=form.staff_feed_full_names.data)

        done = attempt(save)
        if not done.refused:
            flash(_("The opening hours have been saved."), "success")
            return redirect(url_for("branches_staff.hours", slug=slug))
        problem = done.message
    return form_page("staff/hours.html", form, problem, branch=branch,
                     weekdays=branch_hours.WEEKDAYS)


@bp.route("/<slug>/closures", methods=["GET", "POST"])
@staff_required
def closures(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = ClosureForm()
    problem = None
    if form.validate_on_submit():
        done = attempt(lambda: branch_hours.set_date_exception(
            branch, form.day.data, form.intervals(), form.reason.data or ""))
        if not done.refused:
            flash(_("The hours for that date have been saved."), "success")
            return redirect(url_for("branches_staff.closures", slug=slug))
        problem = done.message
    today = branch_hours.local_today(clock.now(), branch.timezone)
    days = [d for d in branch_hours.hours_for_days(branch, today, CLOSURE_LOOKAHEAD_DAYS)
            if d.exception is not None or d.holiday]
    return form_page("staff/closures.html", form, problem, branch=branch, days=days,
                     locale=str(get_locale()), public_holiday=branch_hours.public_holiday)


@bp.post("/<slug>/closures/remove")
@staff_required
def closure_remove(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = RemoveClosureForm()
    if form.validate_on_submit():
        branch_hours.remove_date_exception(branch, form.day.data)
        flash(_("The usual hours apply again on that date."), "success")
    return redirect(url_for("branches_staff.closures", slug=slug))


@bp.route("/admin/branches/<slug>/edit", methods=["GET", "POST"])
@admin_required
def branch_edit(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    if request.method == "POST":
        form = BranchEditForm()
    else:
        staffed = branch_hours.staffed_weekly(branch)
        form = BranchEditForm(obj=branch, data=HoursForm.initial(staffed or {}))
    problem = None
    if form.validate_on_submit():
        def save():  # type: ignore[no-untyped-def]
            update_branch(branch, slug=form.slug.data, name=form.name.data,
                          municipality=form.municipality.data, timezone=form.timezone.data
                          .strip(), address=form.address.data or "",
                          map_url=form.map_url.data or "",
                          contact_email=form.contact_email.data or "",
                          contact_phone=form.contact_phone.data or "")
            branch_hours.set_staffed_hours(branch, form.staffed())
            return branch.slug

        done = attempt(save)
        if not done.refused:
            flash(_("The library's details have been saved."), "success")
            return redirect(url_for("branches.show", slug=done.value))
        problem = done.message
    return form_page("staff/branch_edit.html", form, problem, branch=branch,
                     weekdays=branch_hours.WEEKDAYS)


@bp.route("/admin/branches/new", methods=["GET", "POST"])
@admin_required
def branch_new():  # type: ignore[no-untyped-def]
    form = BranchForm()
    problem = None
    if form.validate_on_submit():
        done = attempt(lambda: create_branch(
            slug=form.slug.data, name=form.name.data, municipality=form.municipality.data,
            timezone=form.timezone.data.strip(),
            closed_on_public_holidays=form.closed_on_public_holidays.data))
        if not done.refused:
            flash(_("The library has been created. Set its opening hours next."), "success")
            return redirect(url_for("branches_staff.hours", slug=done.value.slug))
        problem = done.message
    return form_page("staff/branch_new.html", form, problem)
