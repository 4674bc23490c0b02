"""Front page, language choice and health check."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request
from flask_login import current_user
from sqlalchemy import text

from makerspace.accounts.services import set_preferred_locale
from makerspace.branches.services import all_branches
from makerspace.core.forms import LanguageForm
from makerspace.core.safety import safe_next_path
from makerspace.extensions import db
from makerspace.i18n import LANGUAGE_COOKIE

bp = Blueprint("core", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template("core/index.html", branches=all_branches())


@bp.get("/accessibility")
def accessibility():  # type: ignore[no-untyped-def]
    """The accessibility statement (tilgjengelighetserklæring), linked from every page."""
    return render_template("core/accessibility.html",
                           contact=current_app.config.get("ACCESSIBILITY_CONTACT"))


@bp.post("/language")
def set_language():  # type: ignore[no-untyped-def]
    form = LanguageForm()
    lang = request.form.get("lang", "")
    if not form.validate_on_submit() or lang not in current_app.config["LANGUAGES"]:
        abort(400)
    if current_user.is_authenticated:
        set_preferred_locale(current_user, lang)
    response = redirect(safe_next_path(form.next.data))
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=ONE_YEAR, samesite="Lax", httponly=True)
    return response


@bp.get("/healthz")
def health():  # type: ignore[no-untyped-def]
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
