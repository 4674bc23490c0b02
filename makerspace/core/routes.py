"""Front page, language choice and health check."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request
from flask_login import current_user

from makerspace import clock
from makerspace.accounts.services import set_preferred_locale
from makerspace.booking.services import free_today
from makerspace.branches.services import all_branches
from makerspace.core.forms import LanguageForm
from makerspace.core.health import readiness_problem
from makerspace.core.safety import safe_next_path
from makerspace.i18n import LANGUAGE_COOKIE

bp = Blueprint("core", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    home = current_user.home_branch if current_user.is_authenticated else None
    return render_template(
        "core/index.html", branches=all_branches(first=home), home=home,
        free_today=free_today([home] if home else None, clock.now()))


@bp.get("/accessibility")
def accessibility():  # type: ignore[no-untyped-def]
    """The accessibility statement (tilgjengelighetserklæring), linked from every page."""
    return render_template("core/accessibility.html",
                           contact=current_app.config.get("ACCESSIBILITY_CONTACT"))


@bp.route("/language", methods=["GET", "POST"])
def set_language():  # type: ignore[no-untyped-def]
    """The language picker. A person who is logged in posts it (with the CSRF token of their
    session) and the choice is saved on their profile too. A visitor's picker is a GET form:
    the choice only goes into their own language cookie and changes nothing on the server,
    so offering it needs no session, and a page read by someone not logged in sets no
    cookie at all."""
    posted = request.method == "POST"
    sent = request.form if posted else request.args
    form = LanguageForm(sent) if posted else LanguageForm(sent, meta={"csrf": False})
    lang = sent.get("lang", "")
    if not form.validate() or lang not in current_app.config["LANGUAGES"]:
        abort(400)
    if posted and current_user.is_authenticated:
        set_preferred_locale(current_user, lang)
    response = redirect(safe_next_path(form.next.data))
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=ONE_YEAR, samesite="Lax", httponly=True)
    return response


@bp.get("/healthz")
def health():  # type: ignore[no-untyped-def]
    """Liveness: the process answers. Touches nothing, not even the database."""
    return {"status": "ok"}


@bp.get("/readyz")
def ready():  # type: ignore[no-untyped-def]
    """Readiness: the database answers and its schema is the one this code expects."""
    problem = readiness_problem()
    body = {"status": "ok" if problem is None else "unavailable", "reason": problem}
    response = jsonify({k: v for k, v in body.items() if v is not None})
    response.status_code = 200 if problem is None else 503
    response.headers["Cache-Control"] = "no-store"
    if problem is not None:
        response.headers["Retry-After"] = str(current_app.config["RETRY_AFTER_SECONDS"])
    return response
