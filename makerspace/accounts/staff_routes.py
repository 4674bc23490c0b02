"""Staff look up a person by e-mail address: only people their library knows are found."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from makerspace import clock
from makerspace.accounts import services
from makerspace.accounts.forms import DeskVerifyForm, PersonSearchForm
from makerspace.auth import known_person_by_email, staff_required
from makerspace.certifications.services import certifications_of
from makerspace.core.transaction import form_page

bp = Blueprint("accounts_staff", __name__, url_prefix="/staff")


@bp.get("/people")
@staff_required
def people():  # type: ignore[no-untyped-def]
    form = PersonSearchForm(formdata=request.args or None)
    person = None
    if request.args and form.validate():
        person = known_person_by_email(current_user, form.email.data)
    return render_template("staff/people.html", form=form, person=person,
                           held=certifications_of(person) if person is not None else [],
                           searched=bool(request.args), now=clock.now())


@bp.route("/people/verify", methods=["GET", "POST"])
@staff_required
def verify_at_desk():  # type: ignore[no-untyped-def]
    """Confirm a person's e-mail address at the desk, so that a missing e-mail does not stop
    them booking. The answer is the same whether or not the address has an account."""
    form = DeskVerifyForm()
    if form.validate_on_submit():
        services.verify_at_desk(form.email.data, by=current_user)
        flash(_("Done. If %(email)s has an account that was not confirmed, it is confirmed "
                "now and the person can book.", email=services.normalise_email(form.email.data)),
              "success")
        return redirect(url_for("accounts_staff.verify_at_desk"))
    return form_page("accounts/desk_verify.html", form, None)
