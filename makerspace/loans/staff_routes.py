"""The desk's pages for kit loans: to pick up today, due back today, overdue; and lending
a kit over the desk to someone the library knows."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from makerspace.auth import (
    known_person_by_email,
    managed_branch_or_404,
    not_known_here,
    staff_required,
)
from makerspace.core.transaction import attempt, form_page
from makerspace.loans import services
from makerspace.loans.forms import LendForm

bp = Blueprint("loans_staff", __name__)


@bp.get("/staff/<slug>/loans")
@staff_required
def desk(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    response = make_response(render_template("loans/desk.html", branch=branch,
                                             lists=services.desk_lists(branch)))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/staff/<slug>/loans/new", methods=["GET", "POST"])
@staff_required
def lend(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    kits = {kit.id: kit for kit in services.kits_at(branch)}
    form = LendForm()
    form.kit.choices = [SelectChoice(k.id, k.name) for k in kits.values()]
    if not form.is_submitted():
        form.pickup_date.data = services.today_at(branch)
        form.return_date.data = form.pickup_date.data + timedelta(days=1)
    problem = None
    if form.validate_on_submit():
        person = known_person_by_email(current_user, form.email.data)
        if person is None:
            form.email.errors.append(not_known_here())
        else:
            done = attempt(lambda: services.lend_at_desk(
                person=person, kit=kits[form.kit.data], pickup=form.pickup_date.data,
                back=form.return_date.data, by=current_user))
            if not done.refused:
                flash(_("%(kit)s is lent to %(name)s.", kit=done.value.equipment.name,
                        name=person.name), "success")
                return redirect(url_for("loans.show", loan_id=done.value.id))
            problem = done.message
    return form_page("loans/lend.html", form, problem, branch=branch)
