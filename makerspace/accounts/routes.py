"""Register, log in and out, profile, password, log-in sessions and API tokens.

The request's unit of work commits (makerspace.core.transaction); views never do.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
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
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    TokenForm,
    home_library_form,
)
from makerspace.accounts.models import User
from makerspace.branches.services import all_branches, branch_by_slug
from makerspace.core.forms import EmptyForm
from makerspace.core.safety import safe_next_path
from makerspace.core.transaction import attempt, form_page
from makerspace.extensions import limiter

bp = Blueprint("accounts", __name__)

ROLE_NAMES = {"citizen": _l("Citizen"), "librarian": _l("Librarian"), "admin": _l("County admin")}
# Which form field a refusal belongs to; others are shown above the form.
_FIELD_OF = {"weak_password": "password", "invalid_birth_year": "birth_year",
             "wrong_password": "current_password"}


def _guessing_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["ACCOUNT_RATE_LIMIT"]


def _posted_account() -> str:
    """The rate-limit key of the account a form names (the e-mail address typed in)."""
    return "account:" + services.normalise_email(request.form.get("email", ""))[:254]


def log_in(user: User) -> None:
    """Start a fresh, server-side session for the person in this browser (no fixation)."""
    session.clear()
    services.start_session(user)
    login_user(user)


def _end_this_session() -> None:
    services.end_session(current_user.session_token)
    logout_user()


def _show_refusal(form, refused) -> None:  # type: ignore[no-untyped-def]
    name = _FIELD_OF.get(refused.refusal.code, "email")
    field = getattr(form, name, None) or form.email
    field.errors.append(refused.message)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
def register():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        done = attempt(lambda: services.register_citizen(
            email=form.email.data, name=form.name.data, password=form.password.data,
            birth_year=form.birth_year.data, locale=_current_locale()))
        if not done.refused:
            # The same words whether the address was new or had an account already.
            flash(_("Thank you! We have sent an e-mail to %(email)s. Follow the link in it to "
                    "confirm your address, then log in here.",
                    email=services.normalise_email(form.email.data)), "info")
            return redirect(url_for("accounts.login"))
        _show_refusal(form, done)
    return form_page("accounts/register.html", form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_posted_account, methods=["POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        user = services.authenticate(email=form.email.data, password=form.password.data)
        if user is not None:
            log_in(user)
            flash(_("You are logged in."), "success")
            # Staff land where they work (their branch's day, or the choice of branches).
            landing = url_for("staff.start") if user.is_staff else url_for("core.index")
            return redirect(safe_next_path(form.next.data, landing))
        form.password.errors.append(_("Wrong e-mail address or password."))
    return form_page("accounts/login.html", form)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit() and current_user.is_authenticated:
        _end_this_session()
        flash(_("You are logged out."), "success")
    return redirect(url_for("core.index"))


def _profile_page(*, form: ProfileForm | None = None,
                  password_form: ChangePasswordForm | None = None,
                  new_token: str | None = None):  # type: ignore[no-untyped-def]
    user = current_user
    form = form or ProfileForm(formdata=None, obj=user, locale=user.locale or "")
    password_form = password_form or ChangePasswordForm(formdata=None)
    failed = bool(form.errors or password_form.errors)
    return render_template(
        "accounts/profile.html", form=form, password_form=password_form,
        home_form=home_library_form(all_branches(), user.home_branch.slug
                                    if user.home_branch else ""),
        token_form=TokenForm(formdata=None), empty_form=EmptyForm(), role_names=ROLE_NAMES,
        new_token=new_token, sessions=services.session_count(user)), 422 if failed else 200


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():  # type: ignore[no-untyped-def]
    form = ProfileForm(obj=current_user, locale=current_user.locale or "")
    if form.validate_on_submit():
        done = attempt(lambda: services.update_profile(
            current_user, name=form.name.data, birth_year=form.birth_year.data,
            locale=form.locale.data or None))
        if not done.refused:
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("accounts.profile"))
        form.birth_year.errors.append(done.message)
    return _profile_page(form=form)


@bp.post("/profile/home-library")
@login_required
def home_library():  # type: ignore[no-untyped-def]
    """Choose the home library (from the profile, or offered on a booking's page)."""
    form = home_library_form(all_branches(), formdata=request.form)
    target = safe_next_path(form.next.data, url_for("accounts.profile"))
    if not form.validate_on_submit():
        flash(_("The home library could not be saved. Please try again."), "error")
        return redirect(target)
    chosen = branch_by_slug(form.home_branch.data) if form.home_branch.data else None
    services.set_home_branch(current_user, chosen)
    flash(_("Your home library is now %(name)s.", name=chosen.name) if chosen else
          _("You have no home library now."), "success")
    return redirect(target)


@bp.post("/profile/password")
@login_required
def change_password():  # type: ignore[no-untyped-def]
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        done = attempt(lambda: services.change_own_password(
            user, current_password=form.current_password.data,
            new_password=form.password.data))
        if not done.refused:
            log_in(user)  # every other session ended with the old password
            flash(_("Your password has been changed. You have been logged out everywhere "
                    "else."), "success")
            return redirect(url_for("accounts.profile"))
        _show_refusal(form, done)
    return _profile_page(password_form=form)


@bp.post("/profile/sessions/end")
@login_required
def log_out_everywhere():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        services.end_all_sessions(current_user)
        logout_user()
        flash(_("You are logged out everywhere: on this device and every other."), "success")
        return redirect(url_for("accounts.login"))
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/tokens")
@login_required
def create_token():  # type: ignore[no-untyped-def]
    form = TokenForm()
    if not form.validate_on_submit():
        flash(_("Give the token a name."), "error")
        return redirect(url_for("accounts.profile", _anchor="tokens"))
    _token, raw = services.issue_api_token(current_user, name=form.name.data)
    # Shown once, on this answer only: never through the session cookie or a later page.
    return make_response(_profile_page(new_token=raw))


@bp.post("/profile/tokens/<id:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        services.revoke_api_token(current_user, token_id)
        flash(_("The token has been revoked."), "success")
    return redirect(url_for("accounts.profile", _anchor="tokens"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_posted_account, methods=["POST"])
def forgot_password():  # type: ignore[no-untyped-def]
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        # The same answer whether or not the address has an account.
        flash(_("If an account has this address, we have sent it a link to choose a new "
                "password. Check your e-mail."), "info")
        return redirect(url_for("accounts.login"))
    return form_page("accounts/forgot.html", form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
def reset_password(token: str):  # type: ignore[no-untyped-def]
    valid = attempt(lambda: services.check_reset_token(token))
    if valid.refused:
        return render_template("accounts/reset_invalid.html", message=valid.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        done = attempt(lambda: services.reset_password(token, new_password=form.password.data))
        if not done.refused:
            logout_user()  # every session of the person has ended, this one too
            flash(_("Your password has been changed. Log in with the new password."), "success")
            return redirect(url_for("accounts.login"))
        form.password.errors.append(done.message)
    return form_page("accounts/reset.html", form, token=token)


@bp.get("/verify/<token>")
def verify_email(token: str):  # type: ignore[no-untyped-def]
    # A GET that writes: the link comes from an e-mail. It is idempotent and the token is the
    # permission, so a mail scanner opening it first does no harm.
    done = attempt(lambda: services.verify_email(token))
    if done.refused:
        return render_template("accounts/verify.html", message=done.message,
                               form=EmptyForm()), 400
    flash(_("Thank you! Your e-mail address is confirmed."), "success")
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    return redirect(url_for("accounts.login"))


@bp.post("/verify/resend")
@login_required
def resend_verification():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        if current_user.email_verified_at is not None:
            flash(_("Your e-mail address is confirmed already."), "info")
        else:
            services.resend_verification(current_user)
            flash(_("We have sent a link to %(email)s. It can take a few minutes; look in the "
                    "spam folder too.", email=current_user.email), "info")
    return redirect(safe_next_path(request.form.get("next"), url_for("core.index")))


def _current_locale() -> str | None:
    locale = get_locale()
    return str(locale) if locale else None
