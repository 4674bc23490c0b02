"""Citizen pages for kits lent for days: the kit with its free days, the loan form, a loan
with its QR code, and one's own loans."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from makerspace import clock
from makerspace.auth import manages_branch
from makerspace.checkin.qr_images import qr_image
from makerspace.core.forms import EmptyForm
from makerspace.core.pagination import requested_page
from makerspace.core.transaction import attempt
from makerspace.loans import services
from makerspace.loans.forms import LoanForm

bp = Blueprint("loans", __name__)


@bp.get("/kits/<id:equipment_id>")
def kit(equipment_id: int):  # type: ignore[no-untyped-def]
    found = services.kit_by_id(equipment_id)
    return render_template("loans/kit.html", kit=found, branch=found.branch,
                           days=services.pickup_days(found))


@bp.route("/kits/<id:equipment_id>/loan", methods=["GET", "POST"])
@login_required
def loan(equipment_id: int):  # type: ignore[no-untyped-def]
    found = services.kit_by_id(equipment_id)
    form = LoanForm()
    refusal = None
    if form.validate_on_submit():
        done = attempt(lambda: services.create_loan(
            user=current_user, kit=found, pickup=form.pickup_date.data,
            back=form.return_date.data))
        if not done.refused:
            flash(_("Your loan is confirmed."), "success")
            return redirect(url_for("loans.show", loan_id=done.value.id))
        refusal = done.refusal
    elif not form.is_submitted():
        days = [d for d in services.pickup_days(found) if d.can_pick_up]
        if days:
            form.pickup_date.data, form.return_date.data = days[0].day, days[0].latest_return
    return render_template("loans/loan.html", form=form, kit=found, branch=found.branch,
                           refusal=refusal, days=services.pickup_days(found),
                           ), 422 if (refusal or form.errors) else 200


@bp.get("/loans/<id:loan_id>")
@login_required
def show(loan_id: int):  # type: ignore[no-untyped-def]
    found = services.loan_visible_to(loan_id, current_user)
    branch = found.equipment.branch
    return render_template(
        "loans/show.html", loan=found, kit=found.equipment, branch=branch,
        is_staff=manages_branch(current_user, branch), form=EmptyForm(),
        cancellable=services.cancel_refusal(found, by=current_user) is None,
        overdue=found.is_overdue(services.today_at(branch)))


@bp.post("/loans/<id:loan_id>/cancel")
@login_required
def cancel(loan_id: int):  # type: ignore[no-untyped-def]
    found = services.loan_visible_to(loan_id, current_user)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("loans.show", loan_id=found.id))
    done = attempt(lambda: services.cancel_loan(found, by=current_user))
    flash(done.message or _("The loan has been cancelled."),
          "error" if done.refused else "success")
    return redirect(url_for("loans.show", loan_id=loan_id))


@bp.get("/me/loans")
@login_required
def my_loans():  # type: ignore[no-untyped-def]
    now = clock.now()
    return render_template("loans/mine.html",
                           loans=services.loans_of(current_user, page=requested_page()),
                           today_at=lambda branch: services.today_at(branch, now))


@bp.get("/loans/<id:loan_id>/qr.svg")
@login_required
def qr_svg(loan_id: int):  # type: ignore[no-untyped-def]
    return qr_image(services.loan_visible_to(loan_id, current_user).checkin_token, "svg")


@bp.get("/loans/<id:loan_id>/qr.png")
@login_required
def qr_png(loan_id: int):  # type: ignore[no-untyped-def]
    return qr_image(services.loan_visible_to(loan_id, current_user).checkin_token, "png")
