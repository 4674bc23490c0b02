"""Certification pages for staff: grant one to a person the library knows, see what a person
holds, and (admins) the county's list of certifications."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from makerspace import clock
from makerspace.auth import (
    admin_required,
    known_person_by_email,
    known_person_or_404,
    managed_branch_or_404,
    not_known_here,
    staff_required,
)
from makerspace.certifications.forms import CertificationForm, GrantForm
from makerspace.certifications.services import (
    all_certifications,
    certification_by_slug,
    certifications_of,
    create_certification,
    grant_certification,
)
from makerspace.core.transaction import attempt, form_page

bp = Blueprint("certifications", __name__, url_prefix="/staff")


@bp.route("/<slug>/certifications/grant", methods=["GET", "POST"])
@staff_required
def grant(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = GrantForm()
    form.certification.choices = [SelectChoice(c.slug, c.name) for c in all_certifications()]
    problem = None
    if form.validate_on_submit():
        citizen = known_person_by_email(current_user, form.email.data)
        if citizen is None:
            form.email.errors.append(not_known_here())
        else:
            done = attempt(lambda: grant_certification(
                user=citizen, certification=certification_by_slug(form.certification.data),
                granted_by=current_user, note=form.note.data or "", branch=branch))
            if not done.refused:
                flash(_("%(name)s now holds “%(certification)s”.", name=citizen.name,
                        certification=done.value.certification.name), "success")
                return redirect(url_for("staff.branch", slug=slug))
            problem = done.message
    return form_page("staff/grant.html", form, problem, branch=branch)


@bp.get("/people/<id:user_id>/certifications")
@staff_required
def person_certifications(user_id: int):  # type: ignore[no-untyped-def]
    person = known_person_or_404(user_id)
    return render_template("events/person_certifications.html", person=person,
                           held=certifications_of(person), now=clock.now())


@bp.route("/admin/certifications", methods=["GET", "POST"])
@admin_required
def certifications():  # type: ignore[no-untyped-def]
    form = CertificationForm()
    problem = None
    if form.validate_on_submit():
        done = attempt(lambda: create_certification(
            slug=form.slug.data, name=form.name.data, valid_months=form.valid_months.data))
        if not done.refused:
            flash(_("The certification has been created."), "success")
            return redirect(url_for("certifications.certifications"))
        problem = done.message
    return form_page("staff/certifications.html", form, problem,
                     certifications=all_certifications())
