"""Staff look up a person by e-mail address: only people their library knows are found."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from makerspace import clock
from makerspace.accounts.forms import PersonSearchForm
from makerspace.auth import known_person_by_email, staff_required
from makerspace.certifications.services import certifications_of

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
