"""Register, log in and out, profile and API tokens."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from makerspace.accounts import services
from makerspace.accounts.forms import (
    DeleteAccountForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    TokenForm,
)
from makerspace.accounts.privacy import delete_account, export_personal_data
from makerspace.core.forms import EmptyForm
from makerspace.core.safety import safe_next_path
from makerspace.errors import DomainError
from makerspace.extensions import db, limiter

bp = Blueprint("accounts", __name__)

ROLE_NAMES = {"citizen": _l("Citizen"), "librarian": _l("Librarian"), "admin": _l("County admin")}


def _guessing_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
def register():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_citizen(
                email=form.email.data, name=form.name.data, password=form.password.data,
                birth_year=form.birth_year.data, locale=_current_locale(),
            )
        except DomainError as error:
            form.email.errors.append(str(error.message))
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome! Your account has been created."), "success")
            flash(_("We have sent you an e-mail. Follow the link in it to confirm your address "
                    "before your first booking."), "info")
            return redirect(url_for("core.index"))
    return render_template("accounts/register.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        user = services.authenticate(email=form.email.data, password=form.password.data)
        if user is not None:
            session.clear()  # a fresh session on login: no fixation
            login_user(user)
            flash(_("You are logged in."), "success")
            return redirect(safe_next_path(form.next.data, url_for("core.index")))
        form.password.errors.append(_("Wrong e-mail address or password."))
    return render_template("accounts/login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        logout_user()
        flash(_("You are logged out."), "success")
    return redirect(url_for("core.index"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():  # type: ignore[no-untyped-def]
    form = ProfileForm(obj=current_user, locale=current_user.locale or "")
    if form.validate_on_submit():
        services.update_profile(current_user, name=form.name.data,
                                birth_year=form.birth_year.data, locale=form.locale.data or None)
        db.session.commit()
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form, token_form=TokenForm(),
                           empty_form=EmptyForm(), role_names=ROLE_NAMES,
                           new_token=session.pop("new_token", None))


@bp.get("/profile/export.json")
@login_required
def export_data():  # type: ignore[no-untyped-def]
    response = jsonify(export_personal_data(current_user))
    response.headers["Content-Disposition"] = 'attachment; filename="folkeverksted-data.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/profile/delete", methods=["GET", "POST"])
@login_required
def delete_account_view():  # type: ignore[no-untyped-def]
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            delete_account(current_user._get_current_object(), password=form.password.data)
        except DomainError as error:
            form.password.errors.append(str(error.message))
        else:
            db.session.commit()
            logout_user()
            flash(_("Your account and your data have been deleted."), "success")
            return redirect(url_for("core.index"))
    return render_template("accounts/delete.html", form=form), 422 if form.errors else 200


@bp.post("/profile/tokens")
@login_required
def create_token():  # type: ignore[no-untyped-def]
    form = TokenForm()
    if not form.validate_on_submit():
        flash(_("Give the token a name."), "error")
        return redirect(url_for("accounts.profile"))
    _token, raw = services.issue_api_token(current_user, name=form.name.data)
    db.session.commit()
    session["new_token"] = raw  # shown once on the next page, then gone
    return redirect(url_for("accounts.profile", _anchor="tokens"))


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        services.revoke_api_token(current_user, token_id)
        db.session.commit()
        flash(_("The token has been revoked."), "success")
    return redirect(url_for("accounts.profile", _anchor="tokens"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
def forgot_password():  # type: ignore[no-untyped-def]
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        # The same answer whether or not the address has an account.
        flash(_("If an account has this address, we have sent it a link to choose a new "
                "password. Check your e-mail."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form), 422 if form.errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
def reset_password(token: str):  # type: ignore[no-untyped-def]
    try:
        services.check_reset_token(token)
    except DomainError as error:
        return render_template("accounts/reset_invalid.html", message=error.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, new_password=form.password.data)
        except DomainError as error:
            form.password.errors.append(str(error.message))
        else:
            db.session.commit()
            flash(_("Your password has been changed. Log in with the new password."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form, token=token), \
        422 if form.errors else 200


@bp.get("/verify/<token>")
def verify_email(token: str):  # type: ignore[no-untyped-def]
    # A GET that writes: the link comes from an e-mail. It is idempotent and the token is the
    # permission, so a mail scanner opening it first does no harm.
    try:
        services.verify_email(token)
    except DomainError as error:
        db.session.rollback()
        return render_template("accounts/verify.html", message=error.message,
                               form=EmptyForm()), 400
    db.session.commit()
    flash(_("Thank you! Your e-mail address is confirmed."), "success")
    return redirect(url_for("core.index"))


@bp.post("/verify/resend")
@login_required
def resend_verification():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        if current_user.email_verified_at is not None:
            flash(_("Your e-mail address is confirmed already."), "info")
        elif services.resend_verification(current_user):
            db.session.commit()
            flash(_("We have sent a new link to %(email)s.", email=current_user.email), "info")
        else:
            flash(_("We sent you a link a moment ago. Please check your e-mail, and the spam "
                    "folder too."), "info")
    return redirect(safe_next_path(request.form.get("next"), url_for("core.index")))


def _current_locale() -> str | None:
    locale = get_locale()
    return str(locale) if locale else None
