"""The page an invitation link opens: the invited person gives their name and a password,
and lands where they will work."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from makerspace.accounts import invitations
from makerspace.accounts.routes import log_in
from makerspace.core.transaction import attempt, form_page
from makerspace.extensions import limiter

bp = Blueprint("accounts_invitations", __name__)


class AcceptForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    password = PasswordField(_l("Choose a password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})
    password_again = PasswordField(
        _l("The password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"})


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def accept(token: str):  # type: ignore[no-untyped-def]
    valid = attempt(lambda: invitations.invitation_for_token(token))
    if valid.refused:
        return render_template("accounts/invitation_invalid.html", message=valid.message), 400
    invitation = valid.value
    form = AcceptForm()
    if form.validate_on_submit():
        done = attempt(lambda: invitations.accept_invitation(
            token, name=form.name.data, password=form.password.data))
        if not done.refused:
            logout_user()
            log_in(done.value)
            flash(_("Welcome! You are logged in."), "success")
            return redirect(url_for("staff.start"))
        form.password.errors.append(done.message)
    return form_page("accounts/accept_invitation.html", form, token=token,
                     invitation=invitation)
