"""The staff dashboard: where staff land after logging in, a branch's day at the desk (a grid
of machines and opening hours, today's courses), the staff and their roles, invitations, and
closing a branch for a while. The pages that manage machines, hours, courses, check-in and
people live in their own areas."""

from __future__ import annotations

from datetime import date, timedelta

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
from flask_login import current_user
from wtforms import SelectChoice

from makerspace import clock
from makerspace.accounts import invitations
from makerspace.accounts.models import Role
from makerspace.auth import admin_required, managed_branch_or_404, staff_required
from makerspace.booking import jobs as booking_jobs
from makerspace.booking import services as booking_services
from makerspace.booking.forms import StaffCancelForm
from makerspace.branches import closure
from makerspace.branches.hours import day_bounds, local_today
from makerspace.branches.services import all_branches, branch_by_slug
from makerspace.core.audit import OVERRIDE_LABELS, STAFF_ACTION_LABELS
from makerspace.core.forms import EmptyForm
from makerspace.core.transaction import attempt, form_page
from makerspace.staff.forms import (
    BranchChoiceForm,
    ClosureForm,
    DayForm,
    InviteForm,
    RoleForm,
)
from makerspace.staff.services import GRID_MINUTES, day_view

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@staff_required
def index():  # type: ignore[no-untyped-def]
    branches = all_branches() if current_user.is_admin else current_user.branches
    return render_template("staff/index.html", branches=branches)


@bp.get("/start")
@staff_required
def start():  # type: ignore[no-untyped-def]
    """Where staff land after logging in: a librarian with one branch at its day, anyone else
    at the choice of branches (an admin: the county overview)."""
    if not current_user.is_admin and len(current_user.branches) == 1:
        return redirect(url_for("staff.branch", slug=current_user.branches[0].slug))
    return redirect(url_for("staff.index"))


def _requested_day(timezone: str) -> tuple[date, DayForm, bool]:
    """The day of ?date=YYYY-MM-DD (today when absent); the flag says it was unreadable."""
    form = DayForm(request.args)
    today = local_today(clock.now(), timezone)
    if "date" not in request.args:
        return today, form, False
    if not form.validate() or form.date.data is None:
        return today, form, True
    return form.date.data, form, False


@bp.get("/<slug>/")
@staff_required
def branch(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    now = clock.now()
    day, day_form, bad_date = _requested_day(branch.timezone)
    view = day_view(branch, day, now)
    machines = [(e, booking_services.current_outage(e, now))
                for e in booking_services.equipment_at(branch)]
    everything = [b for row in view.rows for b in row.bookings] + view.cancelled
    everything.sort(key=lambda b: (b.start_at, b.id))
    template = "staff/_day.html" if request.args.get("part") == "day" else "staff/branch.html"
    response = make_response(render_template(
        template, branch=branch, now=now, view=view, day=day, day_form=day_form,
        bad_date=bad_date, today=local_today(now, branch.timezone),
        previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
        grid_minutes=GRID_MINUTES, override_names=OVERRIDE_LABELS, machines=machines,
        bookings=everything,
        retired=booking_services.equipment_at(branch, retired=True),
        cancellable={b.id for b in everything
                     if booking_services.cancel_refusal(b, by=current_user) is None},
        cancel_form=StaffCancelForm(),
        material=booking_jobs.material_totals(branch, *day_bounds(day, branch.timezone))),
        422 if bad_date else 200)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- a temporary closure ------------------------------------------------------------------

@bp.route("/<slug>/closure", methods=["GET", "POST"])
@staff_required
def branch_closure(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = ClosureForm()
    if not form.is_submitted():
        form.from_date.data = local_today(clock.now(), branch.timezone)
        if branch.closure_notice:
            form.notice.data = branch.closure_notice
    problem = None
    if form.validate_on_submit():
        def close():  # type: ignore[no-untyped-def]
            start, end = form.period(branch.timezone)
            return closure.close_temporarily(branch, notice=form.notice.data, start=start,
                                             end=end, by=current_user)

        done = attempt(close)
        if not done.refused:
            flash(_("The library is marked as closed; the notice is shown on its pages."),
                  "success")
            return redirect(url_for("staff.branch", slug=slug))
        problem = done.message
    return form_page("staff/closure.html", form, problem, branch=branch,
                     reopen_form=EmptyForm(), now=clock.now())


@bp.post("/<slug>/closure/end")
@staff_required
def branch_reopen(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    if EmptyForm().validate_on_submit():
        closure.reopen(branch, by=current_user)
        flash(_("The library is open again; the notice is gone."), "success")
    return redirect(url_for("staff.branch", slug=slug))


# -- staff and roles ----------------------------------------------------------------------

@bp.get("/<slug>/team")
@staff_required
def branch_team(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    return render_template("staff/branch_team.html", branch=branch,
                           members=invitations.staff_members(branch))


def _invite_form() -> InviteForm:
    form = InviteForm()
    form.branches.choices = [SelectChoice(b.slug, b.name) for b in all_branches()]
    return form


@bp.route("/team", methods=["GET", "POST"])
@admin_required
def team():  # type: ignore[no-untyped-def]
    form = _invite_form()
    problem = None
    if form.validate_on_submit():
        done = attempt(lambda: invitations.invite_staff(
            email=form.email.data, role=form.role.data,
            branches=[branch_by_slug(s) for s in form.branches.data or []], by=current_user))
        if not done.refused:
            flash(_("The invitation has been sent to %(email)s.", email=done.value.email),
                  "success")
            return redirect(url_for("staff.team"))
        problem = done.message
    now = clock.now()
    members = invitations.staff_members()
    return form_page("staff/team.html", form, problem, members=members,
                     names={m.id: m.name for m in members},
                     pending=invitations.open_invitations(now), entries=invitations.staff_audit(),
                     action_names=STAFF_ACTION_LABELS, now=now)


@bp.route("/team/<id:user_id>", methods=["GET", "POST"])
@admin_required
def member(user_id: int):  # type: ignore[no-untyped-def]
    person = invitations.staff_member(user_id)
    role_form = RoleForm(role=person.role.value)
    add_form = BranchChoiceForm()
    add_form.branch.choices = [SelectChoice(b.slug, b.name) for b in all_branches()
                               if all(b.id != mine.id for mine in person.branches)]
    return render_template("staff/member.html", person=person, role_form=role_form,
                           add_form=add_form, remove_form=EmptyForm())


@bp.post("/team/<id:user_id>/role")
@admin_required
def member_role(user_id: int):  # type: ignore[no-untyped-def]
    person = invitations.staff_member(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(422)
    done = attempt(lambda: invitations.set_role(person, Role(form.role.data), by=current_user))
    flash(done.message or _("The role has been changed."), "error" if done.refused else "success")
    if not done.refused and person.id == current_user.id and not current_user.is_admin:
        # stepped down: the admin pages are no longer theirs
        return redirect(url_for("staff.index") if current_user.is_staff else url_for(
            "core.index"))
    if not done.refused and not person.is_staff:
        return redirect(url_for("staff.team"))
    return redirect(url_for("staff.member", user_id=user_id))


@bp.post("/team/<id:user_id>/branches")
@admin_required
def member_add_branch(user_id: int):  # type: ignore[no-untyped-def]
    person = invitations.staff_member(user_id)
    form = BranchChoiceForm()
    form.branch.choices = [SelectChoice(b.slug, b.name) for b in all_branches()]
    if form.validate_on_submit():
        invitations.assign_branch(person, branch_by_slug(form.branch.data), by=current_user)
        flash(_("The library has been added."), "success")
    return redirect(url_for("staff.member", user_id=user_id))


@bp.post("/team/<id:user_id>/branches/<slug>/remove")
@admin_required
def member_remove_branch(user_id: int, slug: str):  # type: ignore[no-untyped-def]
    person = invitations.staff_member(user_id)
    if EmptyForm().validate_on_submit():
        invitations.unassign_branch(person, branch_by_slug(slug), by=current_user)
        flash(_("The library has been removed."), "success")
    return redirect(url_for("staff.member", user_id=user_id))
