"""Pages for courses and events: the list, one event, signing up and leaving, My courses,
and the staff pages that run them (create, series, edit, cancel, attendance).

Staff pages answer 404 to anyone who does not manage the event's branch. Views validate, call
one service, commit once and redirect; a refusal from a service is shown, never a 500.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from makerspace import clock
from makerspace.auth import (
    managed_branch_or_404,
    managed_or_404,
    manages_branch,
    staff_required,
)
from makerspace.booking import guardians
from makerspace.branches.hours import day_bounds
from makerspace.branches.services import all_branches
from makerspace.certifications.models import Certification
from makerspace.certifications.services import (
    all_certifications,
    certification_by_slug,
    certifications_of,
)
from makerspace.core.pagination import requested_page
from makerspace.core.safety import safe_next_path
from makerspace.core.transaction import attempt, form_page
from makerspace.events import services
from makerspace.events.forms import (
    CancelEventForm,
    EmptyForm,
    EventFilterForm,
    EventForm,
    SeriesForm,
    SignupForm,
)
from makerspace.events.models import Event, EventCategory, Signup, SignupStatus

bp = Blueprint("events", __name__)

# A person's upcoming courses fit one page: the list of them is not split.
MAX_PER_PAGE = 500


# -- citizens -----------------------------------------------------------------------------

@bp.get("/events")
def index():  # type: ignore[no-untyped-def]
    """The course list: filters for library, category, age group and free seats; a weekly
    series shows once, with its next dates."""
    branches = all_branches()
    form = EventFilterForm(formdata=request.args)
    form.set_branches(branches)
    now = clock.now()
    branch = next((b for b in branches if b.slug == form.branch.data), None)
    start = now
    if form.validate() and form.start.data:
        zone = branch.timezone if branch else current_app.config["BABEL_DEFAULT_TIMEZONE"]
        start = max(now, day_bounds(form.start.data, zone)[0])
    known = {c.value for c in EventCategory}  # anything else is no filter, never a query
    chosen = services.CourseFilter(branch=branch,
                                   category=form.category.data if form.category.data in known
                                   else None,
                                   age_group=form.age.data or None,
                                   free_seats=bool(form.free.data))
    events = services.list_courses(start=start, chosen=chosen, page=requested_page())
    return render_template("events/index.html", form=form, events=events, branch=branch,
                           counts=services.event_counts(events), now=now,
                           later=services.later_dates(events, start=start, chosen=chosen),
                           filtered=any(request.args.get(k) for k in
                                        ("branch", "category", "age", "free", "from")))


@bp.get("/events/<id:event_id>")
def show(event_id: int):  # type: ignore[no-untyped-def]
    event = services.event_by_id(event_id)
    now = clock.now()
    signup = _my_signup(event)
    return render_template(
        "events/show.html", event=event, branch=event.branch, now=now, signup=signup,
        counts=services.event_counts([event])[event.id], form=EmptyForm(),
        signup_form=SignupForm(), consent=guardians.consent_state(signup) if signup else None,
        position=services.waitlist_position(signup) if signup else None,
        may_leave=signup is not None and services.leave_refusal(signup, by=current_user) is None,
        is_staff=manages_branch(current_user, event.branch))


@bp.post("/events/<id:event_id>/signup")
@login_required
def signup(event_id: int):  # type: ignore[no-untyped-def]
    event = services.event_by_id(event_id)
    form = SignupForm()
    if form.validate_on_submit():
        done = attempt(lambda: services.sign_up(event=event, user=current_user,
                                                guardian_email=form.guardian_email.data))
        if done.refused:
            flash(done.message, "error")
        elif done.value.status == SignupStatus.CONFIRMED and guardians.is_pending(done.value):
            flash(_("Your seat waits for your guardian's consent: we have sent them an "
                    "e-mail. You get your check-in code when they agree."), "info")
        elif done.value.status == SignupStatus.CONFIRMED:
            flash(_("You are signed up. Welcome!"), "success")
        else:
            flash(_("It is full, so you are on the waitlist as number %(position)s. You get "
                    "the seat if someone leaves.",
                    position=services.waitlist_position(done.value)), "info")
    return redirect(url_for("events.show", event_id=event_id))


@bp.post("/events/<id:event_id>/leave")
@login_required
def leave(event_id: int):  # type: ignore[no-untyped-def]
    event = services.event_by_id(event_id)
    target = safe_next_path(request.form.get("next"), url_for("events.show", event_id=event_id))
    mine = services.signup_for(event, current_user)
    if not EmptyForm().validate_on_submit() or mine is None:
        flash(_("You are not signed up for this."), "error")
        return redirect(target)
    done = attempt(lambda: services.leave(mine, by=current_user))
    flash(done.message or _("You are no longer signed up."),
          "error" if done.refused else "success")
    return redirect(target)


@bp.get("/me/events")
@login_required
def mine():  # type: ignore[no-untyped-def]
    now = clock.now()
    upcoming = services.signups_of(current_user, now=now, upcoming=True, per_page=MAX_PER_PAGE)
    return render_template(
        "events/mine.html", upcoming=upcoming, now=now, form=EmptyForm(),
        positions={s.id: services.waitlist_position(s) for s in upcoming},
        leavable={s.id for s in upcoming if services.leave_refusal(s, by=current_user) is None},
        past=services.signups_of(current_user, now=now, upcoming=False, page=requested_page()),
        held=certifications_of(current_user))


# -- staff --------------------------------------------------------------------------------

@bp.get("/staff/<slug>/events")
@staff_required
def staff_list(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    events = services.list_events(branch=branch, start=clock.now(), page=requested_page())
    return render_template("events/staff_list.html", branch=branch, events=events,
                           counts=services.event_counts(events))


@bp.route("/staff/<slug>/events/new", methods=["GET", "POST"])
@staff_required
def new(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = EventForm()
    form.set_certifications(all_certifications())
    problem = None
    if form.validate_on_submit():
        def create():  # type: ignore[no-untyped-def]
            fields = form.event_fields(branch.timezone)
            return services.create_event(branch=branch, start=fields.pop("start_at"),
                                         end=fields.pop("end_at"), **fields,
                                         **_certifications(form))

        done = attempt(create)
        if not done.refused:
            flash(_("“%(title)s” has been created.", title=done.value.title), "success")
            return redirect(url_for("events.show", event_id=done.value.id))
        problem = done.message
    return form_page("events/new.html", form, problem, branch=branch)


@bp.route("/staff/<slug>/events/series", methods=["GET", "POST"])
@staff_required
def series(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = SeriesForm()
    form.set_certifications(all_certifications())
    problem = None
    if form.validate_on_submit():
        done = attempt(lambda: services.create_weekly_series(
            branch=branch, **form.series_fields(), **_certifications(form)))
        if not done.refused:
            flash(ngettext("%(num)d session has been created.",
                           "%(num)d sessions have been created.", len(done.value)), "success")
            return redirect(url_for("events.staff_list", slug=slug))
        problem = done.message
    return form_page("events/series.html", form, problem, branch=branch)


@bp.route("/staff/events/<id:event_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(event_id: int):  # type: ignore[no-untyped-def]
    event = _managed_event(event_id)
    form = EventForm() if request.method == "POST" else EventForm.for_event(event)
    form.set_certifications(all_certifications())
    problem = None
    if form.validate_on_submit():
        done = attempt(lambda: services.update_event(
            event, **form.event_fields(event.branch.timezone), **_certifications(form)))
        if not done.refused:
            flash(_("The course has been saved."), "success")
            return redirect(url_for("events.edit", event_id=event_id))
        problem = done.message
    return form_page("events/edit.html", form, problem, event=event, branch=event.branch,
                     counts=services.event_counts([event])[event.id],
                     cancel_form=CancelEventForm(formdata=None))


@bp.post("/staff/events/<id:event_id>/cancel")
@staff_required
def cancel(event_id: int):  # type: ignore[no-untyped-def]
    event = _managed_event(event_id)
    form = CancelEventForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason for cancelling; everyone signed up will see it."), "error")
        return redirect(url_for("events.edit", event_id=event_id, _anchor="cancel"))
    done = attempt(lambda: services.cancel_event(event, reason=form.reason.data))
    flash(done.message or _("The course has been cancelled."),
          "error" if done.refused else "success")
    return redirect(url_for("events.attendees", event_id=event_id))


@bp.get("/staff/events/<id:event_id>/attendees")
@staff_required
def attendees(event_id: int):  # type: ignore[no-untyped-def]
    event = _managed_event(event_id)
    people = services.attendees(event)
    return render_template(
        "events/attendees.html", event=event, branch=event.branch, form=EmptyForm(),
        confirmed=[s for s in people if s.status == SignupStatus.CONFIRMED],
        waitlist=[s for s in people if s.status == SignupStatus.WAITLISTED],
        out_of_turn=services.seat_overrides([s.id for s in people]))


@bp.post("/staff/events/<id:event_id>/attendance/<id:signup_id>")
@staff_required
def attendance(event_id: int, signup_id: int):  # type: ignore[no-untyped-def]
    event = _managed_event(event_id)
    signup = services.signup_visible_to(signup_id, current_user)
    if signup.event_id != event.id:
        abort(404)
    name = signup.user.name
    done = attempt(lambda: services.mark_attendance(signup, by=current_user))
    flash(done.message or _("%(name)s is marked as attended.", name=name),
          "error" if done.refused else "success")
    return redirect(url_for("events.attendees", event_id=event_id, _anchor=f"signup-{signup_id}"))


# -- helpers for the views above ----------------------------------------------------------

def _managed_event(event_id: int) -> Event:
    event = services.event_by_id(event_id)  # EventNotFound is a 404
    managed_or_404(event.branch)
    return event


def _certification(slug: str | None) -> Certification | None:
    return certification_by_slug(slug) if slug else None


def _certifications(form: EventForm | SeriesForm) -> dict[str, Certification | None]:
    return {"requires_certification": _certification(form.requires_certification.data),
            "grants_certification": _certification(form.grants_certification.data)}


def _my_signup(event: Event) -> Signup | None:
    """The logged-in person's live sign-up for the event."""
    if not current_user.is_authenticated:
        return None
    return services.signup_for(event, current_user)
