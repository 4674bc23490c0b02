"""The page a guardian's link opens (booking/guardians.py): what a young person asked them,
with a button to agree and one to withdraw. The signed link is the only key: a bad or someone
else's link is "not found"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from makerspace.booking import guardians
from makerspace.core.forms import EmptyForm

bp = Blueprint("guardians", __name__)


@bp.app_template_global()
def guardian_consent(item):  # type: ignore[no-untyped-def]
    """For the booking and course pages, the day grid and the attendee list: "pending",
    "given", "withdrawn" or None (a booking or a sign-up)."""
    return guardians.consent_state(item)


@bp.route("/guardian/<token>")
def page(token: str):  # type: ignore[no-untyped-def]
    consents = guardians.consents_for_token(token)
    return render_template("booking/guardian.html", consents=consents, token=token,
                           person=consents[0].user, form=EmptyForm(),
                           bookings={c.id: guardians.covered_bookings(c) for c in consents},
                           signups={c.id: guardians.covered_signups(c) for c in consents},
                           courses={c.id: guardians.consent_course(c) for c in consents})


@bp.route("/guardian/<token>/<id:consent_id>/consent", methods=["POST"])
def consent(token: str, consent_id: int):  # type: ignore[no-untyped-def]
    found = guardians.consent_for_token(token, consent_id)
    if EmptyForm().validate_on_submit():
        guardians.give_consent(found)
        flash(_("Thank you: you have agreed, and the course seats are confirmed.")
              if found.for_course else
              _("Thank you: you have agreed, and the bookings are confirmed."), "success")
    return redirect(url_for("guardians.page", token=token))


@bp.route("/guardian/<token>/<id:consent_id>/withdraw", methods=["POST"])
def withdraw(token: str, consent_id: int):  # type: ignore[no-untyped-def]
    found = guardians.consent_for_token(token, consent_id)
    if EmptyForm().validate_on_submit():
        guardians.withdraw_consent(found)
        flash(_("Your consent is withdrawn, and the course dates that had not started are "
                "cancelled.") if found.for_course else
              _("Your consent is withdrawn, and the bookings that had not started are "
                "cancelled."), "success")
    return redirect(url_for("guardians.page", token=token))
