"""Staff pages: librarians at their branches, admins everywhere.

Every branch-scoped page answers 404 to anyone who does not manage the branch, so a page's
existence tells nothing. Views validate, call one service, commit once, and redirect.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from makerspace import clock
from makerspace.auth import (
    admin_required,
    known_person_by_email,
    managed_branch_or_404,
    managed_or_404,
    manages_branch,
    staff_required,
)
from makerspace.booking import services as booking_services
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.branches import hours as branch_hours
from makerspace.branches.services import (
    all_branches,
    create_branch,
    update_branch_settings,
)
from makerspace.certifications.models import Certification
from makerspace.certifications.services import (
    all_certifications,
    certification_by_slug,
    certifications_of,
    create_certification,
    grant_certification,
)
from makerspace.core.forms import EmptyForm
from makerspace.errors import DomainError
from makerspace.extensions import db
from makerspace.staff.forms import (
    KIND_LABELS,
    WEEKDAY_LABELS,
    BranchForm,
    CancelForm,
    CertificationForm,
    ClosureForm,
    EquipmentForm,
    GrantForm,
    HoursForm,
    OutageForm,
    PersonSearchForm,
    RemoveClosureForm,
    WalkInForm,
    day_bounds,
    local_today,
    suggested_periods,
)

bp = Blueprint("staff", __name__, url_prefix="/staff")

CLOSURE_LOOKAHEAD_DAYS = 90


def _not_known_here() -> str:
    """The same words whether the address has no account or one this library does not know."""
    return _("No one with this e-mail address has booked or taken a course at your library. "
             "They can book on their own phone or computer first.")
CANCELLABLE = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


# -- helpers ------------------------------------------------------------------------------

def _managed_equipment(equipment_id: int) -> Equipment:
    equipment = booking_services.equipment_by_id(equipment_id)  # EquipmentNotFound is a 404
    managed_or_404(equipment.branch)
    return equipment


def _refused(error: DomainError) -> str:
    """Undo what the failed service call changed in the session, and say why."""
    db.session.rollback()
    return str(error.message)


def _page(template: str, form: Any, problem: str | None = None, **context: Any):  # type: ignore[no-untyped-def]
    status = 422 if form.errors or problem else 200
    return render_template(template, form=form, problem=problem, **context), status



# -- overview -----------------------------------------------------------------------------

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
    return render_template(
        "staff/branch.html", branch=branch, now=now, machines=machines,
        bookings=booking_services.bookings_at_branch(branch, start, end),
        cancellable=CANCELLABLE, cancel_form=CancelForm(), kind_labels=KIND_LABELS)


# -- equipment ----------------------------------------------------------------------------

def _certification_or_none(slug: str) -> Certification | None:
    return certification_by_slug(slug) if slug else None


@bp.route("/<slug>/equipment/new", methods=["GET", "POST"])
@staff_required
def equipment_new(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = EquipmentForm()
    form.set_certifications(all_certifications())
    problem = None
    if form.validate_on_submit():
        try:
            equipment = booking_services.create_equipment(
                branch, **form.rule_fields(),
                requires_certification=_certification_or_none(form.requires_certification.data))
        except DomainError as error:
            problem = _refused(error)
        else:
            db.session.commit()
            flash(_("%(name)s has been added.", name=equipment.name), "success")
            return redirect(url_for("staff.branch", slug=slug))
    return _page("staff/equipment_new.html", form, problem, branch=branch)


@bp.route("/equipment/<int:equipment_id>/edit", methods=["GET", "POST"])
@staff_required
def equipment_edit(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed_equipment(equipment_id)
    form = EquipmentForm(obj=equipment)
    form.set_certifications(all_certifications())
    if not form.is_submitted():
        certification = equipment.requires_certification
        form.requires_certification.data = certification.slug if certification else ""
    problem = None
    if form.validate_on_submit():
        try:
            booking_services.update_equipment(
                equipment, **form.rule_fields(),
                requires_certification=_certification_or_none(form.requires_certification.data))
        except DomainError as error:
            problem = _refused(error)
        else:
            db.session.commit()
            flash(_("The machine has been saved."), "success")
            return redirect(url_for("staff.equipment_edit", equipment_id=equipment_id))
    return _equipment_page(equipment, form=form, problem=problem)


def _equipment_page(equipment: Equipment, *, form: EquipmentForm | None = None,  # type: ignore[no-untyped-def]
                    outage_form: OutageForm | None = None, problem: str | None = None,
                    outage_problem: str | None = None):
    if form is None:
        form = EquipmentForm(formdata=None, obj=equipment)
        form.set_certifications(all_certifications())
        form.requires_certification.data = (equipment.requires_certification.slug
                                             if equipment.requires_certification else "")
    now = clock.now()
    if outage_form is None:
        local = now.astimezone(ZoneInfo(equipment.branch.timezone))
        outage_form = OutageForm(formdata=None, from_date=local.date(),
                                 from_time=local.strftime("%H:%M"))
    failed = bool(form.errors or problem or outage_form.errors or outage_problem)
    return render_template(
        "staff/equipment_edit.html", equipment=equipment, branch=equipment.branch, form=form,
        outage_form=outage_form, problem=problem, outage_problem=outage_problem,
        return_form=EmptyForm(), now=now, kind_labels=KIND_LABELS,
        outage=booking_services.current_outage(equipment, now),
        planned=[o for o in equipment.outages if o.end_at is None or o.end_at > now],
    ), 422 if failed else 200


@bp.post("/equipment/<int:equipment_id>/outage")
@staff_required
def equipment_outage(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed_equipment(equipment_id)
    form = OutageForm()
    problem = None
    if form.validate_on_submit():
        try:
            start, end = form.period(equipment.branch.timezone)
            _outage, cancelled = booking_services.take_out_of_service(
                equipment, start=start, end=end, reason=form.reason.data, by=current_user)
        except DomainError as error:
            problem = _refused(error)
        else:
            db.session.commit()
            flash(ngettext("Out of service. %(num)d booking in the period was cancelled.",
                           "Out of service. %(num)d bookings in the period were cancelled.",
                           len(cancelled)), "success")
            return redirect(url_for("staff.equipment_edit", equipment_id=equipment_id))
    return _equipment_page(equipment, outage_form=form, outage_problem=problem)


@bp.post("/equipment/<int:equipment_id>/return")
@staff_required
def equipment_return(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed_equipment(equipment_id)
    if EmptyForm().validate_on_submit():
        booking_services.return_to_service(equipment, by=current_user)
        db.session.commit()
        flash(_("The machine is back in service."), "success")
    return redirect(url_for("staff.equipment_edit", equipment_id=equipment_id))


# -- opening hours and closures -----------------------------------------------------------

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
        try:
            branch_hours.set_weekly_hours(branch, form.weekly())
            update_branch_settings(
                branch, closed_on_public_holidays=form.closed_on_public_holidays.data,
                max_upcoming_bookings=form.max_upcoming_bookings.data,
                staff_feed_full_names=form.staff_feed_full_names.data)
        except DomainError as error:
            problem = _refused(error)
        else:
            db.session.commit()
            flash(_("The opening hours have been saved."), "success")
            return redirect(url_for("staff.hours", slug=slug))
    return _page("staff/hours.html", form, problem, branch=branch,
                 weekdays=branch_hours.WEEKDAYS, weekday_labels=WEEKDAY_LABELS)


@bp.route("/<slug>/closures", methods=["GET", "POST"])
@staff_required
def closures(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = ClosureForm()
    problem = None
    if form.validate_on_submit():
        try:
            branch_hours.set_date_exception(branch, form.day.data, form.intervals(),
                                            form.reason.data or "")
        except DomainError as error:
            problem = _refused(error)
        else:
            db.session.commit()
            flash(_("The hours for that date have been saved."), "success")
            return redirect(url_for("staff.closures", slug=slug))
    today = local_today(clock.now(), branch.timezone)
    days = [d for d in branch_hours.hours_for_days(branch, today, CLOSURE_LOOKAHEAD_DAYS)
            if d.exception is not None or d.holiday]
    return _page("staff/closures.html", form, problem, branch=branch, days=days,
                 locale=str(get_locale()),
                 public_holiday=branch_hours.public_holiday,
                 format_clock=branch_hours.format_clock)


@bp.post("/<slug>/closures/remove")
@staff_required
def closure_remove(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = RemoveClosureForm()
    if form.validate_on_submit():
        branch_hours.remove_date_exception(branch, form.day.data)
        db.session.commit()
        flash(_("The usual hours apply again on that date."), "success")
    return redirect(url_for("staff.closures", slug=slug))


# -- bookings -----------------------------------------------------------------------------

@bp.route("/<slug>/book", methods=["GET", "POST"])
@staff_required
def walk_in(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = WalkInForm()
    form.equipment.choices = [SelectChoice(e.id, e.name)
                              for e in booking_services.equipment_at(branch)]
    if not form.is_submitted():
        form.day.data = local_today(clock.now(), branch.timezone)
    problem, suggestions = None, []
    if form.validate_on_submit():
        citizen = known_person_by_email(current_user, form.email.data)
        if citizen is None:
            form.email.errors.append(_not_known_here())
        else:
            try:
                start, end = form.period(branch.timezone)
                booking_services.create_booking(
                    user=citizen, equipment=booking_services.equipment_by_id(form.equipment.data),
                    start=start, end=end, booked_by=current_user)
            except DomainError as error:
                suggestions = suggested_periods(error.extra, branch.timezone)
                problem = _refused(error)
            else:
                db.session.commit()
                flash(_("The machine is booked for %(name)s.", name=citizen.name), "success")
                return redirect(url_for("staff.branch", slug=slug))
    return _page("staff/walk_in.html", form, problem, branch=branch, suggestions=suggestions)


@bp.post("/bookings/<int:booking_id>/cancel")
@staff_required
def booking_cancel(booking_id: int):  # type: ignore[no-untyped-def]
    booking: Booking = booking_services.booking_visible_to(booking_id, current_user)
    slug = booking.equipment.branch.slug
    if not manages_branch(current_user, booking.equipment.branch):
        abort(404)  # their own booking at a branch they do not manage: not a staff matter
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason for cancelling; the citizen will see it."), "error")
        return redirect(url_for("staff.branch", slug=slug))
    try:
        booking_services.cancel_booking(booking, by=current_user, reason=form.reason.data)
    except DomainError as error:
        flash(_refused(error), "error")
    else:
        db.session.commit()
        flash(_("The booking has been cancelled."), "success")
    return redirect(url_for("staff.branch", slug=slug))


# -- certifications and people ------------------------------------------------------------

@bp.route("/<slug>/certifications/grant", methods=["GET", "POST"])
@staff_required
def grant(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = GrantForm()
    form.certification.choices = [SelectChoice(c.slug, c.name)
                                  for c in all_certifications()]
    problem = None
    if form.validate_on_submit():
        citizen = known_person_by_email(current_user, form.email.data)
        if citizen is None:
            form.email.errors.append(_not_known_here())
        else:
            try:
                held = grant_certification(
                    user=citizen, certification=certification_by_slug(form.certification.data),
                    granted_by=current_user, note=form.note.data or "", branch=branch)
            except DomainError as error:
                problem = _refused(error)
            else:
                db.session.commit()
                flash(_("%(name)s now holds “%(certification)s”.", name=citizen.name,
                        certification=held.certification.name), "success")
                return redirect(url_for("staff.branch", slug=slug))
    return _page("staff/grant.html", form, problem, branch=branch)


@bp.get("/people")
@staff_required
def people():  # type: ignore[no-untyped-def]
    form = PersonSearchForm(formdata=request.args or None)
    person, held = None, []
    if request.args and form.validate():
        person = known_person_by_email(current_user, form.email.data)
        held = certifications_of(person) if person is not None else []
    return render_template("staff/people.html", form=form, person=person, held=held,
                           searched=bool(request.args), now=clock.now())


# -- admin --------------------------------------------------------------------------------

@bp.route("/admin/branches/new", methods=["GET", "POST"])
@admin_required
def branch_new():  # type: ignore[no-untyped-def]
    form = BranchForm()
    problem = None
    if form.validate_on_submit():
        try:
            created = create_branch(
                slug=form.slug.data, name=form.name.data, municipality=form.municipality.data,
                timezone=form.timezone.data.strip(),
                closed_on_public_holidays=form.closed_on_public_holidays.data)
        except DomainError as error:
            problem = _refused(error)
        else:
            db.session.commit()
            flash(_("The library has been created. Set its opening hours next."), "success")
            return redirect(url_for("staff.hours", slug=created.slug))
    return _page("staff/branch_new.html", form, problem)


@bp.route("/admin/certifications", methods=["GET", "POST"])
@admin_required
def certifications():  # type: ignore[no-untyped-def]
    form = CertificationForm()
    problem = None
    if form.validate_on_submit():
        try:
            create_certification(slug=form.slug.data, name=form.name.data,
                                 valid_months=form.valid_months.data)
        except DomainError as error:
            problem = _refused(error)
        else:
            db.session.commit()
            flash(_("The certification has been created."), "success")
            return redirect(url_for("staff.certifications"))
    return _page("staff/certifications.html", form, problem,
                 certifications=all_certifications())
