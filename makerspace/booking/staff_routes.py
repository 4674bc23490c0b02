"""Staff pages of the booking area: machines and their rules, out of service, walk-in
bookings and cancelling someone's booking. Librarians at their branches, admins anywhere;
everyone else gets 404."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms import SelectChoice

from makerspace import clock
from makerspace.auth import (
    known_person_by_email,
    managed_branch_or_404,
    managed_or_404,
    manages_branch,
    not_known_here,
    staff_required,
)
from makerspace.booking import jobs, services
from makerspace.booking.forms import (
    EquipmentForm,
    GuestBookingForm,
    MaterialPeriodForm,
    OutageForm,
    RetireForm,
    StaffCancelForm,
    WalkInForm,
    material_price_form,
    suggested_periods,
)
from makerspace.booking.models import MATERIAL_UNITS, Equipment, EquipmentKind
from makerspace.branches.hours import local_today
from makerspace.certifications.models import Certification
from makerspace.certifications.services import all_certifications, certification_by_slug
from makerspace.core.forms import EmptyForm
from makerspace.core.transaction import attempt, form_page

bp = Blueprint("booking_staff", __name__, url_prefix="/staff")


def _managed_equipment(equipment_id: int) -> Equipment:
    equipment = services.equipment_by_id(equipment_id)  # EquipmentNotFound is a 404
    managed_or_404(equipment.branch)
    return equipment


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
        done = attempt(lambda: services.create_equipment(
            branch, **form.rule_fields(),
            requires_certification=_certification_or_none(form.requires_certification.data)))
        if not done.refused:
            flash(_("%(name)s has been added.", name=done.value.name), "success")
            return redirect(url_for("staff.branch", slug=slug))
        problem = done.message
    return form_page("staff/equipment_new.html", form, problem, branch=branch)


@bp.route("/equipment/<id:equipment_id>/edit", methods=["GET", "POST"])
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
        done = attempt(lambda: services.update_equipment(
            equipment, **form.rule_fields(),
            requires_certification=_certification_or_none(form.requires_certification.data)))
        if not done.refused:
            flash(_("The machine has been saved."), "success")
            return redirect(url_for("booking_staff.equipment_edit", equipment_id=equipment_id))
        problem = done.message
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
        return_form=EmptyForm(), retire_form=RetireForm(formdata=None), now=now,
        outage=services.current_outage(equipment, now),
        planned=[o for o in equipment.outages if o.end_at is None or o.end_at > now],
    ), 422 if failed else 200


@bp.post("/equipment/<id:equipment_id>/outage")
@staff_required
def equipment_outage(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed_equipment(equipment_id)
    form = OutageForm()
    problem = None
    if form.validate_on_submit():
        def take_out():  # type: ignore[no-untyped-def]
            start, end = form.period(equipment.branch.timezone)
            return services.take_out_of_service(equipment, start=start, end=end,
                                                reason=form.reason.data, by=current_user)

        if request.form.get("confirmed") != "yes":
            start, end = form.period(equipment.branch.timezone)
            affected = services.affected_bookings(equipment, start=start, end=end)
            if affected:  # show who is affected and ask to confirm
                return render_template(
                    "staff/outage_confirm.html", equipment=equipment, branch=equipment.branch,
                    form=form, affected=affected,
                    days=sorted({b.start_at.astimezone(ZoneInfo(equipment.branch.timezone))
                                 .date() for b in affected}))
        done = attempt(take_out)
        if not done.refused:
            _outage, cancelled = done.value
            flash(ngettext("Out of service. %(num)d booking in the period was cancelled.",
                           "Out of service. %(num)d bookings in the period were cancelled.",
                           len(cancelled)), "success")
            return redirect(url_for("booking_staff.equipment_edit", equipment_id=equipment_id))
        problem = done.message
    return _equipment_page(equipment, outage_form=form, outage_problem=problem)


@bp.post("/equipment/<id:equipment_id>/return")
@staff_required
def equipment_return(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed_equipment(equipment_id)
    if EmptyForm().validate_on_submit():
        services.return_to_service(equipment, by=current_user)
        flash(_("The machine is back in service."), "success")
    return redirect(url_for("booking_staff.equipment_edit", equipment_id=equipment_id))


@bp.route("/<slug>/book", methods=["GET", "POST"])
@staff_required
def walk_in(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = WalkInForm()
    form.equipment.choices = [SelectChoice(e.id, e.name) for e in services.equipment_at(branch)]
    if not form.is_submitted():
        _prefill(form, branch.timezone)
    problem, suggestions, over_quota = None, [], False
    if form.validate_on_submit():
        citizen = known_person_by_email(current_user, form.email.data)
        if citizen is None:
            form.email.errors.append(not_known_here())
        else:
            def book():  # type: ignore[no-untyped-def]
                start, end = form.period(branch.timezone)
                return services.create_booking(
                    user=citizen, equipment=_managed_equipment(form.equipment.data),
                    start=start, end=end, booked_by=current_user,
                    quota_override=form.quota_override.data or "")

            done = attempt(book)
            if not done.refused:
                flash(_("The machine is booked for %(name)s.", name=citizen.name), "success")
                return redirect(url_for("staff.branch", slug=slug,
                                        date=form.day.data.isoformat()))
            problem = done.message
            over_quota = done.refusal.code == "quota_exceeded"
            suggestions = suggested_periods(done.refusal, branch.timezone)
    return form_page("staff/book_for.html", form, problem, branch=branch, guest=False,
                     suggestions=suggestions, over_quota=over_quota)


def _prefill(form: WalkInForm | GuestBookingForm, timezone: str) -> None:
    """Machine, date and time from a free cell of the day grid (?equipment=&date=&time=);
    the date defaults to today and the time to the next step from now."""
    now = clock.now()
    day = request.args.get("date", "")
    try:
        form.day.data = date.fromisoformat(day)
    except ValueError:
        form.day.data = local_today(now, timezone)
    machine = request.args.get("equipment", type=int)
    if machine is not None and any(c.value == machine for c in form.equipment.choices):
        form.equipment.data = machine
    time_text = request.args.get("time", "")
    if len(time_text) == 5 and time_text[2] == ":" and time_text.replace(":", "").isdigit():
        form.start.data = time_text
    else:
        local = now.astimezone(ZoneInfo(timezone))
        minute = -(-(local.hour * 60 + local.minute) // 30) * 30
        if minute < 24 * 60 and form.day.data == local.date():
            form.start.data = f"{minute // 60:02d}:{minute % 60:02d}"


@bp.route("/<slug>/guest", methods=["GET", "POST"])
@staff_required
def guest_booking(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    machines = services.equipment_at(branch)
    form = GuestBookingForm()
    chosen_id = (request.form.get("equipment", type=int) if form.is_submitted()
                 else request.args.get("equipment", type=int))
    form.set_machines(machines, next((e for e in machines if e.id == chosen_id), None))
    if not form.is_submitted():
        _prefill(form, branch.timezone)
    problem, suggestions = None, []
    if form.validate_on_submit():
        def book():  # type: ignore[no-untyped-def]
            start, end = form.period(branch.timezone)
            return services.create_guest_booking(
                equipment=_managed_equipment(form.equipment.data), start=start, end=end,
                name=form.name.data, phone=form.phone.data or "", by=current_user)

        done = attempt(book)
        if not done.refused:
            flash(_("The machine is booked for %(name)s. Print the slip with the QR code.",
                    name=done.value.guest_name), "success")
            return redirect(url_for("booking_staff.slip", booking_id=done.value.id))
        problem = done.message
        suggestions = suggested_periods(done.refusal, branch.timezone)
    return form_page("staff/book_for.html", form, problem, branch=branch, guest=True,
                     suggestions=suggestions)


@bp.get("/bookings/<id:booking_id>/slip")
@staff_required
def slip(booking_id: int):  # type: ignore[no-untyped-def]
    booking = services.booking_visible_to(booking_id, current_user)
    if not manages_branch(current_user, booking.equipment.branch):
        abort(404)
    branch = booking.equipment.branch
    response = make_response(render_template(
        "staff/slip.html", booking=booking, branch=branch,
        day=booking.start_at.astimezone(ZoneInfo(branch.timezone)).date()))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/equipment/<id:equipment_id>/retire")
@staff_required
def equipment_retire(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed_equipment(equipment_id)
    form = RetireForm()
    if not form.validate_on_submit():
        flash(_("Please say why the machine is retired."), "error")
        return redirect(url_for("booking_staff.equipment_edit", equipment_id=equipment_id))
    done = attempt(lambda: services.retire_equipment(equipment, reason=form.reason.data,
                                                     by=current_user))
    if done.refused:
        flash(done.message, "error")
        return redirect(url_for("booking_staff.equipment_edit", equipment_id=equipment_id))
    flash(ngettext("%(name)s is retired. %(num)d coming booking was cancelled.",
                   "%(name)s is retired. %(num)d coming bookings were cancelled.",
                   len(done.value), name=equipment.name), "success")
    return redirect(url_for("staff.branch", slug=equipment.branch.slug))


@bp.post("/bookings/<id:booking_id>/cancel")
@staff_required
def booking_cancel(booking_id: int):  # type: ignore[no-untyped-def]
    booking = services.booking_visible_to(booking_id, current_user)
    branch = booking.equipment.branch
    if not manages_branch(current_user, branch):
        abort(404)  # their own booking at a branch they do not manage: not a staff matter
    form = StaffCancelForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason for cancelling; the citizen will see it."), "error")
        return redirect(url_for("staff.branch", slug=branch.slug))
    done = attempt(lambda: services.cancel_booking(booking, by=current_user,
                                                   reason=form.reason.data))
    flash(done.message or _("The booking has been cancelled."),
          "error" if done.refused else "success")
    return redirect(url_for("staff.branch", slug=branch.slug))


# -- material prices and the accounts CSV ---------------------------------------------------

@bp.route("/<slug>/material", methods=["GET", "POST"])
@staff_required
def material(slug: str):  # type: ignore[no-untyped-def]
    """The branch's price per unit of material per kind of machine (0: free), and the CSV of
    material and cost for the branch's accounts."""
    branch = managed_branch_or_404(slug)
    prices = jobs.material_prices(branch)
    form = material_price_form(MATERIAL_UNITS, prices,
                               formdata=request.form if request.method == "POST" else None)
    if form.validate_on_submit():
        done = attempt(lambda: [jobs.set_material_price(branch, EquipmentKind(kind), ore,
                                                        by=current_user)
                                for kind, ore in form.prices_ore().items()])
        flash(done.message or _("The prices are saved."),
              "error" if done.refused else "success")
        if not done.refused:
            return redirect(url_for("booking_staff.material", slug=branch.slug))
    today = local_today(clock.now(), branch.timezone)
    period = MaterialPeriodForm(formdata=None, first=today.replace(day=1), last=today)
    return form_page("staff/material.html", form, branch=branch, period=period,
                     units=MATERIAL_UNITS)


@bp.get("/<slug>/material.csv")
@staff_required
def material_csv(slug: str):  # type: ignore[no-untyped-def]
    """Material and cost per booking over ?from=YYYY-MM-DD&to=YYYY-MM-DD (local days)."""
    branch = managed_branch_or_404(slug)
    period = MaterialPeriodForm(request.args)
    if not period.validate():
        return form_page("staff/material.html", material_price_form(
            MATERIAL_UNITS, jobs.material_prices(branch)), branch=branch, period=period,
            units=MATERIAL_UNITS, problem=_("Please choose a period of at most a year."))
    first, last = period.first.data, period.last.data
    headers = [_("From"), _("To"), _("Date"), _("Booking"), _("Machine"), _("Job"),
               _("Amount"), _("Unit"), _("Material"), _("Colour"), _("Price per unit (kr)"),
               _("Cost (kr)")]
    body = jobs.material_csv(jobs.material_lines(branch, first, last), first, last, headers)
    response = make_response(body)
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="material-{branch.slug}-{first.isoformat()}-{last.isoformat()}.csv"')
    response.headers["Cache-Control"] = "private, no-store"
    return response
