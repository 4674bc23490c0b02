"""Pages for waiting for a taken slot and taking a hold (the link in the e-mail)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from makerspace import clock
from makerspace.booking.forms import booking_form, prefill_from_request, start_times
from makerspace.booking.models import BookingStatus
from makerspace.booking.services import equipment_by_id
from makerspace.branches.hours import local_moment, parse_clock, weekly_hours
from makerspace.core.forms import EmptyForm
from makerspace.core.safety import safe_next_path
from makerspace.core.transaction import attempt
from makerspace.errors import DomainError
from makerspace.waits import services

bp = Blueprint("waits", __name__)

MY_WAITS = "booking.my_bookings"


@bp.route("/equipment/<id:equipment_id>/wait", methods=["GET", "POST"])
@login_required
def new(equipment_id: int):  # type: ignore[no-untyped-def]
    """Wait for a taken time: the same date, start and duration as the booking form."""
    machine = equipment_by_id(equipment_id)
    zone = ZoneInfo(machine.branch.timezone)
    prefill = prefill_from_request(machine, zone)
    form = booking_form(machine, start_times(machine.slot_minutes, weekly_hours(machine.branch)),
                        extra_time=prefill.get("start"), **prefill)
    refusal = None
    if form.validate_on_submit():
        start = local_moment(form.date.data, parse_clock(form.start.data), zone)
        end = start + timedelta(minutes=form.duration.data)
        done = attempt(lambda: services.create_wait(user=current_user, equipment=machine,
                                                    start=start, end=end))
        if not done.refused:
            flash(_("You are waiting for this time. We will e-mail you if it comes free."),
                  "success")
            return redirect(url_for(MY_WAITS) + "#waits")
        refusal = done.refusal
    return render_template(
        "waits/new.html", form=form, equipment=machine, branch=machine.branch,
        refusal=refusal, limit=services.max_waits(), hold_minutes=services.hold_minutes(),
    ), 422 if (refusal or form.errors) else 200


@bp.post("/me/waits/<id:wait_id>/cancel")
@login_required
def cancel(wait_id: int):  # type: ignore[no-untyped-def]
    wait = services.wait_of(current_user, wait_id)
    if EmptyForm().validate_on_submit():
        services.cancel_wait(wait)
        flash(_("You are no longer waiting for that time."), "success")
    else:
        flash(_("That did not work. Please try again."), "error")
    return redirect(safe_next_path(request.form.get("next"), url_for(MY_WAITS) + "#waits"))


@bp.post("/me/waits/<id:wait_id>/take")
@login_required
def take(wait_id: int):  # type: ignore[no-untyped-def]
    wait = services.wait_of(current_user, wait_id)
    if not EmptyForm().validate_on_submit():
        flash(_("That did not work. Please try again."), "error")
        return redirect(url_for(MY_WAITS) + "#waits")
    done = attempt(lambda: services.take_hold_of_wait(wait, user=current_user))
    if done.refused:
        flash(done.message, "error")
        return redirect(url_for(MY_WAITS) + "#waits")
    flash(_("Your booking is confirmed."), "success")
    return redirect(url_for("booking.show", booking_id=done.value.id))


@bp.route("/holds/<token>", methods=["GET", "POST"])
def hold(token: str):  # type: ignore[no-untyped-def]
    """The link in the e-mail: what is held and until when, and one button to book it. The
    link itself says whose hold it is, so no log-in is needed."""
    form = EmptyForm()
    try:
        booking = services.booking_for_hold_token(token)
    except DomainError as problem:
        return render_template("waits/hold.html", problem=problem, booking=None,
                               form=form), problem.status
    problem = None
    if request.method == "POST" and form.validate_on_submit():
        done = attempt(lambda: services.take_hold(booking, user=booking.user))
        if not done.refused:
            flash(_("Your booking is confirmed."), "success")
            return redirect(url_for("waits.hold", token=token))
        problem = done.refusal
    elif request.method == "POST":
        problem = DomainError(_("That did not work. Please try again."))
    wait = services.wait_holding(booking) if booking.status == BookingStatus.HELD else None
    return render_template(
        "waits/hold.html", problem=problem, booking=booking, wait=wait, form=form,
        equipment=booking.equipment, branch=booking.equipment.branch,
        now=clock.now(), is_holder=(current_user.is_authenticated
                                    and current_user.id == booking.user_id),
    ), (problem.status if problem is not None else 200)
