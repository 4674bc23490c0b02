"""Log in with a library card and PIN or with ID-porten / Feide; the linked log-ins on the
profile. The request's unit of work commits; views never do."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from makerspace.accounts import services as accounts
from makerspace.accounts.models import User
from makerspace.branches.services import branch_by_slug
from makerspace.core.forms import EmptyForm
from makerspace.core.safety import safe_next_path
from makerspace.core.transaction import attempt, form_page
from makerspace.errors import DomainError
from makerspace.extensions import db, limiter
from makerspace.identity import openid, services
from makerspace.identity.forms import CardLoginForm, DetailsForm

bp = Blueprint("identity", __name__)
log = logging.getLogger(__name__)
PENDING = "identity_pending_link"
FLOW = "identity_flow"


def _guessing_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["ACCOUNT_RATE_LIMIT"]


def _posted_card() -> str:
    """The rate-limit key of the card a form names: its keyed hash, never the number."""
    return "card:" + services.card_digest(request.form.get("card_number", "")[:40])


def _locale() -> str | None:
    locale = get_locale()
    return str(locale) if locale else None


def _log_in(user: User) -> None:
    # As accounts.routes.log_in: a fresh server-side session in this browser (no fixation).
    session.clear()
    accounts.start_session(user)
    login_user(user)


def _after_log_in(user: User, created: bool, next_path: str | None):  # type: ignore[no-untyped-def]
    _log_in(user)
    target = safe_next_path(next_path, url_for("core.index"))
    if created:
        return redirect(url_for("identity.details", next=target))
    flash(_("You are logged in."), "success")
    return redirect(target)


def _library_choices() -> list[tuple[str, str]]:
    libraries = services.card_libraries()
    if not libraries:
        return []
    choices = [("", _("Another library"))]
    for slug in sorted(libraries):
        try:
            choices.append((slug, branch_by_slug(slug).name))
        except DomainError:
            continue  # a slug in the settings without a branch: not offered
    return choices


@bp.route("/login/card", methods=["GET", "POST"])
@limiter.limit(_guessing_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_posted_card, methods=["POST"])
def card_login():  # type: ignore[no-untyped-def]
    if not services.card_login_offered():
        abort(404)
    form = CardLoginForm(next=request.args.get("next"))
    form.library.choices = _library_choices() or [("", "")]
    if form.validate_on_submit():
        link_to = current_user._get_current_object() if current_user.is_authenticated else None
        done = attempt(lambda: services.log_in_with_card(
            card_number=form.card_number.data, pin=form.pin.data,
            branch_slug=form.library.data or None, link_to=link_to, locale=_locale()))
        if not done.refused and done.value.blocked is None:
            if link_to is not None:
                flash(_("Your library card is linked to your account."), "success")
                return redirect(url_for("accounts.profile", _anchor="logins"))
            return _after_log_in(done.value.user, done.value.created, form.next.data)
        if done.refused:
            if done.refusal.code == "card_refused":
                form.pin.errors.append(done.message)
                return form_page("identity/card_login.html", form)
            return render_template("identity/card_login.html", form=form,
                                   problem=done.message), done.refusal.status
        # A blocked card: the refusal is shown, and the block kept on the linked account
        # (a 4xx answer would roll it back).
        return render_template("identity/card_login.html", form=form,
                               problem=str(done.value.blocked.message))
    return form_page("identity/card_login.html", form)


@bp.route("/profile/welcome", methods=["GET", "POST"])
@login_required
def details():  # type: ignore[no-untyped-def]
    form = DetailsForm(obj=current_user, next=request.args.get("next"))
    if form.validate_on_submit():
        user = current_user._get_current_object()
        done = attempt(lambda: services.complete_details(user, name=form.name.data,
                                                         email=form.email.data))
        if not done.refused:
            if user.email and user.email_verified_at is None:
                flash(_("Thank you! We have sent an e-mail to %(email)s. Follow the link in it "
                        "to confirm your address.", email=user.email), "info")
            else:
                flash(_("Your profile has been saved."), "success")
            return redirect(safe_next_path(form.next.data, url_for("core.index")))
        form.email.errors.append(done.message)
    later = safe_next_path(form.next.data, url_for("core.index"))
    return form_page("identity/details.html", form, later=later)


# -- OpenID Connect -----------------------------------------------------------------------

def _callback_url(key: str) -> str:
    # The address registered with the provider: from BASE_URL, whatever host the request used.
    return current_app.config["BASE_URL"].rstrip("/") + url_for("identity.openid_callback",
                                                                provider_key=key)


@bp.get("/login/with/<provider_key>")
def openid_start(provider_key: str):  # type: ignore[no-untyped-def]
    if openid.provider(provider_key) is None:
        abort(404)
    session[FLOW] = {"next": safe_next_path(request.args.get("next"), url_for("core.index")),
                     "link": bool(current_user.is_authenticated)}
    try:
        return openid.client(provider_key).authorize_redirect(_callback_url(provider_key))
    except openid.refusals() as error:
        log.warning("OpenID provider %s: %s", provider_key, error)
        return _openid_failed(provider_key, unavailable=True)


def _openid_failed(provider_key: str, unavailable: bool = False):  # type: ignore[no-untyped-def]
    found = openid.provider(provider_key)
    name = found.name if found else provider_key
    message = (_("%(name)s does not answer. Try again in a few minutes, or log in another "
                 "way.", name=name) if unavailable else
               _("The log-in with %(name)s did not go through. Please start again.", name=name))
    return render_template("identity/openid_failed.html", message=message), (
        503 if unavailable else 400)


@bp.get("/login/with/<provider_key>/callback")
def openid_callback(provider_key: str):  # type: ignore[no-untyped-def]
    found = openid.provider(provider_key)
    if found is None:
        abort(404)
    flow = session.pop(FLOW, None) or {}
    try:
        token = openid.client(provider_key).authorize_access_token(
            leeway=int(current_app.config["OIDC_LEEWAY_SECONDS"]))
    except openid.refusals() as error:
        log.warning("OpenID log-in with %s refused: %s", provider_key, error)
        return _openid_failed(provider_key)
    claims = token.get("userinfo")
    if not claims or not claims.get("sub") or not claims.get("iss"):
        log.warning("OpenID log-in with %s: no ID token", provider_key)
        return _openid_failed(provider_key)
    claims = dict(claims) | _userinfo(provider_key, token, str(claims["sub"]))
    link_to = (current_user._get_current_object()
               if flow.get("link") and current_user.is_authenticated else None)
    name = claims.get("name") or " ".join(
        part for part in (claims.get("given_name"), claims.get("family_name")) if part)
    done = attempt(lambda: services.log_in_with_openid(
        provider=provider_key, issuer=str(claims["iss"]), subject=str(claims["sub"]),
        email=claims.get("email"), email_verified=claims.get("email_verified") is True,
        name=name or "", link_to=link_to, locale=_locale()))
    if done.refused:
        return render_template("identity/openid_failed.html", message=done.message), 409
    outcome = done.value
    if link_to is not None:
        flash(_("Your %(name)s log-in is linked to your account.", name=found.name), "success")
        return redirect(url_for("accounts.profile", _anchor="logins"))
    if outcome.candidate is not None:
        session[PENDING] = {"provider": provider_key, "issuer": str(claims["iss"]),
                            "subject": str(claims["sub"]), "user_id": outcome.candidate.id,
                            "name": name or "", "next": flow.get("next")}
        return redirect(url_for("identity.confirm_link"))
    return _after_log_in(outcome.user, outcome.created, flow.get("next"))


def _userinfo(provider_key: str, token: dict, subject: str) -> dict:
    """E-mail and name from the userinfo endpoint, where the ID token leaves them out (Feide,
    and providers that put only `sub` in it); only for the same subject."""
    wanted = ("email", "email_verified", "name", "given_name", "family_name")
    try:
        info = openid.client(provider_key).userinfo(token=token)
    except openid.refusals() as error:
        log.info("OpenID provider %s: no userinfo (%s)", provider_key, error)
        return {}
    if str(info.get("sub")) != subject:
        return {}
    return {key: info[key] for key in wanted if key in info}


@bp.route("/login/link", methods=["GET", "POST"])
def confirm_link():  # type: ignore[no-untyped-def]
    pending = session.get(PENDING)
    found = openid.provider(pending["provider"]) if pending else None
    candidate = db.session.get(User, pending["user_id"]) if pending and found else None
    if candidate is None:
        abort(404)
    form = EmptyForm()
    if form.validate_on_submit():
        session.pop(PENDING, None)
        if request.form.get("choice") == "link":
            done = attempt(lambda: services.link_openid(
                candidate, provider=pending["provider"], issuer=pending["issuer"],
                subject=pending["subject"]))
            user, created = candidate, False
        else:
            done = attempt(lambda: services.new_account_for_openid(
                provider=pending["provider"], issuer=pending["issuer"],
                subject=pending["subject"], name=pending["name"], locale=_locale()))
            user, created = done.value, True
        if done.refused:
            return render_template("identity/openid_failed.html", message=done.message), 409
        return _after_log_in(user, created, pending.get("next"))
    return render_template("identity/confirm_link.html", form=form, provider=found,
                           email=candidate.email)


@bp.post("/profile/logins/<id:identity_id>/remove")
@login_required
def remove_login(identity_id: int):  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        done = attempt(lambda: services.remove_identity(current_user, identity_id))
        if done.refused:
            if done.refusal.status == 404:
                abort(404)
            flash(done.message, "error")
        else:
            flash(_("The log-in has been removed from your account."), "success")
    return redirect(url_for("accounts.profile", _anchor="logins"))
