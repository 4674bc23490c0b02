"""Citizen pages for machines and bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from makerspace import clock
from makerspace.auth import manages_branch
from makerspace.booking import guardians, jobs, services, versions
from makerspace.booking.availability import upcoming_slots, week_grid, week_slots
from makerspace.booking.forms import (
    CancelForm,
    JobEndForm,
    MaterialForm,
    booking_form,
    find_form,
    periods_from,
    prefill_from_request,
    start_times,
    suggested_periods,
)
from makerspace.booking.labels import book_link
from makerspace.booking.models import Booking, Equipment, EquipmentKind, JobOutcome
from makerspace.branches.hours import local_moment, local_today, parse_clock, weekly_hours
from makerspace.branches.models import DEFAULT_TIMEZONE
from makerspace.branches.services import all_branches
from makerspace.certifications.services import holds_certification
from makerspace.core.pagination import requested_page
from makerspace.core.safety import safe_next_path
from makerspace.core.transaction import attempt
from makerspace.events.services import upcoming_events_granting
from makerspace.machines import services as machines

bp = Blueprint("booking", __name__)


@bp.get("/equipment/<id:equipment_id>")
def equipment(equipment_id: int):  # type: ignore[no-untyped-def]
    """A machine's page. Without JavaScript the server cannot know the screen's width, so
    with neither ?day= nor ?week= the page carries both today's slots (shown on narrow
    screens) and this week's grid (shown on wide ones); ?day= or ?week= shows only that one."""
    now = clock.now()
    # The schedule's fingerprint is read before the database (see booking/versions.py).
    minute, within = versions.moment_key(now)
    asked = f"page|{get_locale()}|{within}|{request.args.get('day')}|{request.args.get('week')}"
    tag = versions.tag_before_reading(equipment_id, minute, asked)
    found = machines.machine_now(equipment_id, now)
    machine = found.equipment
    if machine.is_kit:  # lent for days: its page is the kit's (makerspace/loans)
        return redirect(url_for("loans.kit", equipment_id=machine.id))
    if not versions.confirm_branch(machine.id, machine.branch_id):
        tag = None
    page = versions.kept_or_made(tag, lambda: _kept_parts(machine, now))
    in_use, until = machines.in_use_until(found.job, now)
    return render_template(
        "booking/equipment.html", equipment=machine, branch=machine.branch,
        page=page, outage=found.outage,
        certified=_certified(machine, now), granting=_granting(machine, now),
        in_use=in_use, in_use_until=until)


def _kept_parts(machine: Equipment, now: datetime) -> SimpleNamespace:
    """The parts of a machine's page that are the same for every visitor, rendered: the top,
    the schedule and the rules. Jinja's output, escaped as it was rendered."""
    shown = {"equipment": machine, "branch": machine.branch}
    return SimpleNamespace(
        head=Markup(render_template("booking/_equipment_head.html", **shown)),  # noqa: S704
        schedule=_schedule(machine, now),
        rules=Markup(render_template("booking/_equipment_rules.html", **shown)))  # noqa: S704


def _schedule(machine: Equipment, now: datetime) -> Markup:
    """Today's slots and the week's grid, rendered (the same for every visitor)."""
    shows_week = "day" not in request.args
    shows_day = "week" not in request.args or "day" in request.args
    day = _day(machine, request.args.get("day"), now)
    week = _week(machine, request.args.get("week"), now)
    days = week_slots(machine, week.first, now) if shows_week else []
    return Markup(render_template(  # noqa: S704 (Jinja output, escaped as it was rendered)
        "booking/_schedule.html", equipment=machine, branch=machine.branch, week=week,
        day=day, days=days, grid=week_grid(days, ZoneInfo(machine.branch.timezone)),
        both=shows_day and shows_week, now=now,
        today_slots=(upcoming_slots(week_slots(machine, day.date, now, days=1)[0], now)
                     if shows_day else None)))


FIND_SHOWN = 60  # results on the page; the API gives them all


@bp.get("/find")
def find():  # type: ignore[no-untyped-def]
    """Free time across machines: the same search as GET /api/v1/availability."""
    home = current_user.home_branch if current_user.is_authenticated else None
    branches = all_branches(first=home)
    form = find_form(branches, request.args)
    if not request.args:  # a first visit starts at the person's library
        form.branch.data = [home.slug] if home else []
    results = None
    if form.validate():
        by_slug = {b.slug: b for b in branches}
        earliest, latest = form.window()
        results = services.search_free_time(
            now=clock.now(), kind=EquipmentKind(form.kind.data) if form.kind.data else None,
            branches=[by_slug[s] for s in form.branch.data or []], day=form.date.data,
            earliest=earliest, latest=latest, minutes=form.minutes())
        # No date searched each library's today; the form says which day that is.
        form.date.data = form.date.data or local_today(clock.now(), DEFAULT_TIMEZONE)
    return render_template(
        "booking/find.html", form=form,
        results=[(found, book_link(found)) for found in (results or [])[:FIND_SHOWN]],
        searched=results is not None, more=len(results or []) > FIND_SHOWN,
    ), 422 if form.errors else 200


@bp.route("/equipment/<id:equipment_id>/book", methods=["GET", "POST"])
@login_required
def book(equipment_id: int):  # type: ignore[no-untyped-def]
    """The booking form, in two steps that need no JavaScript: the form posts to a
    confirmation (when it ends, checked against the rules), which posts again with confirm."""
    machine = services.equipment_by_id(equipment_id)
    if machine.is_kit:
        return redirect(url_for("loans.loan", equipment_id=machine.id))
    zone = ZoneInfo(machine.branch.timezone)
    rerun = _rerun(machine)
    prefill = prefill_from_request(machine, zone)
    if rerun is not None and request.method == "GET":
        prefill.update(unattended=rerun.unattended, estimated_minutes=rerun.estimated_minutes)
    form = booking_form(machine, start_times(machine.slot_minutes, weekly_hours(machine.branch)),
                        extra_time=prefill.get("start"), **prefill)
    refusal = None
    if form.validate_on_submit():
        start = local_moment(form.date.data, parse_clock(form.start.data), zone)
        end = start + timedelta(minutes=form.duration.data)
        if rerun is not None:  # a failed job again: the same job (rebook_failed_job)
            form.unattended.data = rerun.unattended
            form.estimated_minutes.data = rerun.estimated_minutes
        job = {"unattended": bool(form.unattended.data),
               "estimated_minutes": form.estimated_minutes.data if form.unattended.data
               else None}
        if request.form.get("confirm") != "1":
            done = attempt(lambda: services.preview_booking(
                user=current_user, equipment=machine, start=start, end=end,
                guardian_email=form.guardian_email.data, rerun_of=rerun, **job))
            if not done.refused:
                return render_template(
                    "booking/confirm.html", form=form, equipment=machine,
                    branch=machine.branch, start=start, end=done.value, rerun=rerun,
                    pickup=services.pickup_time(machine.branch, start, done.value))
        else:
            done = attempt(lambda: services.rebook_failed_job(
                rerun, start=start, end=end, by=current_user) if rerun is not None
                else services.create_booking(
                    user=current_user, equipment=machine, start=start, end=end,
                    guardian_email=form.guardian_email.data, **job))
            if not done.refused:
                flash(_("Your booking waits for your guardian's consent: we have sent them an "
                        "e-mail. The time is kept for you until they answer.")
                      if guardians.is_pending(done.value) else _("Your booking is confirmed."),
                      "success")
                return redirect(url_for("booking.show", booking_id=done.value.id))
        refusal = done.refusal
    return render_template(
        "booking/book.html", form=form, equipment=machine, branch=machine.branch,
        refusal=refusal, rerun=rerun,
        suggestions=suggested_periods(refusal, machine.branch.timezone),
        rerun_times=_rerun_times(machine, rerun) if refusal is None else [],
        certified=_certified(machine, clock.now()), granting=_granting(machine, clock.now()),
    ), 422 if (refusal or form.errors) else 200


@bp.get("/bookings/<id:booking_id>")
@login_required
def show(booking_id: int):  # type: ignore[no-untyped-def]
    booking = services.booking_visible_to(booking_id, current_user)
    branch = booking.equipment.branch
    return render_template(
        "booking/show.html", booking=booking, equipment=booking.equipment, branch=branch,
        is_staff=manages_branch(current_user, branch), cancellable=_cancellable(booking),
        machine_job=machines.job_for_booking(booking),
        pickup=services.pickup_from(booking) if booking.unattended else None,
        job_form=JobEndForm(), material_form=_material_form(booking))


@bp.post("/bookings/<id:booking_id>/job/<outcome>")
@login_required
def end_job(booking_id: int, outcome: str):  # type: ignore[no-untyped-def]
    """Mark the job finished, failed or stopped early: the machine is free at once."""
    booking = services.booking_visible_to(booking_id, current_user)
    if outcome not in {o.value for o in JobOutcome}:
        abort(404)
    if not JobEndForm().validate_on_submit():
        abort(400)
    done = attempt(lambda: jobs.end_job(booking, JobOutcome(outcome), at=clock.now(),
                                        by=current_user, via=_via(booking)))
    flash(done.message or _("The job is marked as ended; the machine is free."),
          "error" if done.refused else "success")
    return redirect(safe_next_path(request.form.get("next"),
                                   url_for("booking.show", booking_id=booking.id)))


@bp.post("/bookings/<id:booking_id>/material")
@login_required
def record_material(booking_id: int):  # type: ignore[no-untyped-def]
    """Record the material the job used (again: corrects it)."""
    booking = services.booking_visible_to(booking_id, current_user)
    form = MaterialForm()
    if not form.validate_on_submit():
        flash(_("Please give the amount used as a number."), "error")
        return redirect(url_for("booking.show", booking_id=booking.id) + "#job-material")
    done = attempt(lambda: jobs.record_material(
        booking, amount=form.amount.data, material=form.material.data,
        colour=form.colour.data, by=current_user, via=_via(booking), at=clock.now()))
    flash(done.message or _("The material used is recorded."),
          "error" if done.refused else "success")
    return redirect(url_for("booking.show", booking_id=booking.id) + "#job-material")


@bp.get("/bookings/<id:booking_id>/receipt")
@login_required
def receipt(booking_id: int):  # type: ignore[no-untyped-def]
    """A printable receipt of the material a booking used and its cost (paid at the desk)."""
    booking = services.booking_visible_to(booking_id, current_user)
    if booking.job is None or booking.job.material_amount is None:
        abort(404)
    return render_template("booking/receipt.html", booking=booking,
                           equipment=booking.equipment, branch=booking.equipment.branch,
                           job=booking.job)


@bp.get("/bookings/<id:booking_id>/cancel")
@login_required
def cancel_confirm(booking_id: int):  # type: ignore[no-untyped-def]
    """Cancelling asks first: this page holds the button that cancels (no JavaScript)."""
    booking = services.booking_visible_to(booking_id, current_user)
    back = safe_next_path(request.args.get("next"),
                          url_for("booking.show", booking_id=booking.id))
    if not _cancellable(booking):
        flash(_("This booking can no longer be cancelled."), "error")
        return redirect(back)
    branch = booking.equipment.branch
    return render_template(
        "booking/cancel.html", booking=booking, equipment=booking.equipment, branch=branch,
        is_staff=manages_branch(current_user, branch) and booking.user_id != current_user.id,
        cancel_form=CancelForm(), back=back)


@bp.post("/bookings/<id:booking_id>/cancel")
@login_required
def cancel(booking_id: int):  # type: ignore[no-untyped-def]
    booking = services.booking_visible_to(booking_id, current_user)
    target = safe_next_path(request.form.get("next"),
                            url_for("booking.show", booking_id=booking.id))
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("The booking could not be cancelled. Please try again."), "error")
        return redirect(target)
    done = attempt(lambda: services.cancel_booking(booking, by=current_user,
                                                   reason=form.reason.data or ""))
    flash(done.message or _("The booking has been cancelled."),
          "error" if done.refused else "success")
    return redirect(target)


@bp.get("/me/bookings")
@login_required
def my_bookings():  # type: ignore[no-untyped-def]
    now = clock.now()
    upcoming = services.bookings_of(current_user, upcoming=True, now=now,
                                    page=requested_page("upcoming_page"))
    return render_template(
        "booking/my_bookings.html", upcoming=upcoming,
        past=services.bookings_of(current_user, upcoming=False, now=now,
                                  page=requested_page()),
        cancellable={b.id for b in upcoming if _cancellable(b)})


# -- helpers for the views above ----------------------------------------------------------

@dataclass(frozen=True)
class Week:
    first: date
    previous: date | None
    next: date | None


def _week(equipment: Equipment, requested: str | None, now: datetime) -> Week:
    """The Monday-to-Sunday week to show: this week at the earliest, and no later than the
    week of the last bookable day."""
    today = now.astimezone(ZoneInfo(equipment.branch.timezone)).date()
    this_monday = today - timedelta(days=today.weekday())
    last_day = today + timedelta(days=equipment.max_advance_days)
    last_monday = last_day - timedelta(days=last_day.weekday())
    try:
        day = date.fromisoformat(requested or "")
        first = day - timedelta(days=day.weekday())
    except (ValueError, OverflowError):
        first = this_monday
    first = min(max(first, this_monday), last_monday)
    week = timedelta(days=7)
    return Week(first, first - week if first > this_monday else None,
                first + week if first < last_monday else None)


@dataclass(frozen=True)
class Day:
    date: date
    today: date
    last: date  # the last day that may be booked
    previous: date | None
    next: date | None


def _day(equipment: Equipment, requested: str | None, now: datetime) -> Day:
    """The day to show in the day view: today at the earliest, the last bookable day at the
    latest; anything else (or nothing) is today."""
    today = now.astimezone(ZoneInfo(equipment.branch.timezone)).date()
    last = today + timedelta(days=equipment.max_advance_days)
    try:
        day = date.fromisoformat(requested or "")
    except (ValueError, OverflowError):
        day = today
    day = min(max(day, today), last)
    one = timedelta(days=1)
    return Day(day, today, last, day - one if day > today else None,
               day + one if day < last else None)


def _certified(equipment: Equipment, now: datetime) -> bool | None:
    """Whether the person holds the machine's certification; None when it needs none or
    nobody is logged in."""
    needed = equipment.requires_certification
    if needed is None or not current_user.is_authenticated:
        return None
    return holds_certification(current_user, needed, now)


def _granting(equipment: Equipment, now: datetime) -> list[Any]:
    """Upcoming courses that grant the certification the machine needs."""
    needed = equipment.requires_certification
    return upcoming_events_granting(needed, now) if needed is not None else []


def _rerun(machine: Equipment) -> Booking | None:
    """The failed job of ?rerun=<id> (or the posted rerun) to book again on this machine, or
    None; a booking the person may not book again is not found."""
    rerun_id = request.values.get("rerun", type=int)
    if rerun_id is None:
        return None
    booking = services.booking_visible_to(rerun_id, current_user)
    if booking.equipment_id != machine.id or services.rebook_refusal(booking,
                                                                     by=current_user):
        abort(404)
    return booking


def _rerun_times(machine: Equipment, rerun: Booking | None) -> list[dict[str, Any]]:
    """The next free times for a failed job booked again (an unattended one: its start)."""
    if rerun is None or request.method != "GET":
        return []
    minutes = (machine.min_minutes if rerun.unattended
               else int((rerun.end_at - rerun.start_at).total_seconds() // 60))
    return periods_from(services.next_free_times(machine, minutes, clock.now()),
                        machine.branch.timezone)


def _material_form(booking: Booking) -> MaterialForm:
    """The material form, filled with what was recorded (recording again corrects it)."""
    job = booking.job
    if job is None or job.material_amount is None:
        return MaterialForm(formdata=None)
    return MaterialForm(formdata=None, amount=f"{job.material_amount:g}",
                        material=job.material_name, colour=job.material_colour)


def _via(booking: Booking) -> str:
    """How a person ends a job or records material: staff at the desk, the booker on the web."""
    return "desk" if manages_branch(current_user, booking.equipment.branch) else "web"


def _cancellable(booking: Booking) -> bool:
    """Whether to offer a cancel button: the same rule the service applies when pressed."""
    return services.cancel_refusal(booking, by=current_user) is None
