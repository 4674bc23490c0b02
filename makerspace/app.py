"""The app factory: the only place a Flask app is made (`wsgi.py` holds the one module-level
app; `flask --app makerspace` finds `create_app`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, abort, current_app, g, request, session
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from makerspace import (
    fast_answers,
    models,  # noqa: F401  (every mapper known before first use)
)
from makerspace.accounts.invitation_routes import bp as accounts_invitations_bp
from makerspace.accounts.models import User
from makerspace.accounts.routes import bp as accounts_bp
from makerspace.accounts.services import user_for_session
from makerspace.accounts.staff_routes import bp as accounts_staff_bp
from makerspace.api.fields import IdConverter
from makerspace.api.registry import install_api, read_api_token
from makerspace.booking import labels as booking_labels
from makerspace.booking import versions as availability_versions
from makerspace.booking.guardian_routes import bp as guardians_bp
from makerspace.booking.routes import bp as booking_bp
from makerspace.booking.staff_routes import bp as booking_staff_bp
from makerspace.branches import labels as branches_labels
from makerspace.branches.routes import bp as branches_bp
from makerspace.branches.staff_routes import bp as branches_staff_bp
from makerspace.calendar.routes import bp as calendar_bp
from makerspace.certifications.routes import bp as certifications_bp
from makerspace.checkin.routes import bp as checkin_bp
from makerspace.cli import register_commands
from makerspace.config import (
    DEFAULTS,
    check_config,
    database_uri,
    engine_options,
    ensure_secret_key,
    environment_overrides,
)
from makerspace.core import frame
from makerspace.core.errors import register_error_handlers
from makerspace.core.logs import install_log_redaction
from makerspace.core.memory import give_large_blocks_back
from makerspace.core.pagination import page_url
from makerspace.core.request_log import configure_logging, install_request_log
from makerspace.core.routes import bp as core_bp
from makerspace.core.sessions import CookielessWhereAsked
from makerspace.core.transaction import READS_FIRST, install_unit_of_work
from makerspace.database import read_only_transaction
from makerspace.embed.routes import bp as embed_bp
from makerspace.events import labels as events_labels
from makerspace.events.routes import bp as events_bp
from makerspace.events.services import connect as events_release_withdrawn_signups
from makerspace.events.staff_routes import bp as events_staff_bp
from makerspace.extensions import babel, csrf, db, limiter, login_manager
from makerspace.i18n import register_template_helpers, select_locale
from makerspace.identity import templating as identity_templating
from makerspace.identity.routes import bp as identity_bp
from makerspace.loans import labels as loans_labels
from makerspace.loans.routes import bp as loans_bp
from makerspace.loans.staff_routes import bp as loans_staff_bp
from makerspace.machines.routes import bp as machines_staff_bp
from makerspace.mail.routes import bp as mail_bp
from makerspace.mail.subscribers import connect as mail_listens_to_the_domain
from makerspace.metrics import install_metrics
from makerspace.privacy.routes import bp as privacy_bp
from makerspace.staff.routes import bp as staff_bp
from makerspace.stats.keys import connect as stats_keys_stamp_bookings
from makerspace.stats.rollup import connect as stats_rollup_follows_jobs
from makerspace.stats.routes import bp as stats_bp
from makerspace.waits import labels as waits_labels
from makerspace.waits.routes import bp as waits_bp
from makerspace.waits.services import connect as waits_listen_for_freed_slots

BLUEPRINTS = (core_bp, accounts_bp, accounts_invitations_bp, accounts_staff_bp, branches_bp,
              branches_staff_bp, booking_bp, booking_staff_bp, certifications_bp, staff_bp,
              events_bp, events_staff_bp, checkin_bp, calendar_bp, mail_bp, privacy_bp,
              identity_bp, embed_bp, stats_bp, loans_bp, loans_staff_bp, waits_bp,
              guardians_bp, machines_staff_bp)

REPO_ROOT = Path(__file__).resolve().parent.parent
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, instance/config.py, environment, then `config`."""
    # Named after the package, so templates, static files and instance/ are found there.
    app = Flask("makerspace", instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(environment_overrides(set(app.config)))
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    ensure_secret_key(app.config, app.instance_path)
    check_config(app.config)
    if app.config["ENVIRONMENT"] == "production" and "SESSION_COOKIE_SECURE" not in (config or {}):
        app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app.config, app.instance_path)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(REPO_ROOT / "translations"))
    app.session_interface = CookielessWhereAsked()

    give_large_blocks_back()
    install_log_redaction()
    configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    install_unit_of_work(app)
    install_request_log(app)
    # Right after the request timer: a repeated availability request may be answered here.
    availability_versions.install(app)
    app.before_request(availability_versions.answer_not_modified)
    install_metrics(app)
    _register_request_hooks(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    _init_migrations(app)
    csrf.init_app(app)
    limiter.init_app(app)
    # The limits are all on decorated views, and the decorators check them. Flask-Limiter's
    # own check before every request (for app-wide and blueprint limits, of which there are
    # none) cost a sixth of a cheap request's time.
    checks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in checks:  # not there when rate limits are off
        checks.remove(limiter._check_request_limit)
    if not app.config.get("RATELIMIT_HEADERS_ENABLED"):
        # Its after-request hook only adds X-RateLimit-* headers (off here) and applies
        # `deduct_when` limits (none here): a twentieth of a cheap request for nothing.
        after = app.after_request_funcs.get(None, [])
        after[:] = [f for f in after if getattr(getattr(f, "func", None), "__name__", "")
                    != "__inject_headers"]
    if app.config["PROXY_FIX_X_FOR"]:
        hops = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    babel.init_app(app, locale_selector=select_locale)
    register_template_helpers(app)
    frame.install(app)
    for template_globals in (booking_labels.TEMPLATE_GLOBALS, branches_labels.TEMPLATE_GLOBALS,
                             events_labels.TEMPLATE_GLOBALS,
                             identity_templating.TEMPLATE_GLOBALS,
                             loans_labels.TEMPLATE_GLOBALS, waits_labels.TEMPLATE_GLOBALS):
        app.jinja_env.globals.update(template_globals)
    app.jinja_env.globals["page_url"] = page_url
    mail_listens_to_the_domain()
    stats_keys_stamp_bookings()
    stats_rollup_follows_jobs()
    waits_listen_for_freed_slots()
    events_release_withdrawn_signups()

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # "basic", not "strong": a phone that moves from mobile data to the library's Wi-Fi changes
    # IP address exactly when its owner needs to show a booking at the desk.
    login_manager.session_protection = "basic"

    # The cookie names a server-side session, never a user id: logging out, a new password
    # or a deleted account ends it, whatever copy of the cookie is replayed later.
    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        return user_for_session(session_token)


def _init_migrations(app: Flask) -> None:
    """Flask-Migrate, loaded only where migrations are run: the `flask db` commands, tests and
    scripts that import it. It brings Alembic, Mako and Pygments, 11 MB in every web worker,
    which never migrates; /readyz reads the head revision from the files (core/health.py)."""
    if "flask_migrate" in sys.modules:
        _migrate(app)
    else:
        app.cli.add_command(_LazyDbCommands(app), "db")


def _migrate(app: Flask) -> Any:
    from flask_migrate import Migrate, cli

    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(REPO_ROOT / "migrations"))
    return cli.db


class _LazyDbCommands(click.Group):
    """`flask db …`: Flask-Migrate's group (its options, then its commands), loaded when the
    command is run."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Perform database migrations (Flask-Migrate).",
                         callback=self._options, params=[
                             click.Option(["-d", "--directory"], default=None,
                                          help="Migration script directory"),
                             click.Option(["-x", "--x-arg"], multiple=True,
                                          help="Additional arguments for env.py")])
        self.app = app

    @staticmethod
    @with_appcontext
    def _options(directory: str | None, x_arg: tuple[str, ...]) -> None:
        g.directory = directory  # where Flask-Migrate's own group callback puts them
        g.x_arg = x_arg

    def list_commands(self, ctx: click.Context) -> list[str]:
        return _migrate(self.app).list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return _migrate(self.app).get_command(ctx, cmd_name)


def _register_blueprints(app: Flask) -> None:
    # `<id:…>` in routes: ids from 1 to 2^31 − 1; anything else is "not found", never a 500.
    app.url_map.converters["id"] = IdConverter
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    install_api(app)


# Answered without the ORM session (health checks, files): no transaction, no user lookup.
SESSIONLESS = {"static", "core.health", "core.ready", "metrics.metrics"}


def _personal(response) -> bool:  # type: ignore[no-untyped-def]
    """Whether the answer was made for someone: a logged-in person or an API token."""
    if request.endpoint in SESSIONLESS:
        return False
    if request.headers.get("Authorization"):
        return True
    if "_login_user" not in g and not session.get("_user_id") and (
            current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            not in request.cookies):
        return False  # nobody can be logged in: no need to ask Flask-Login to look
    return bool(getattr(current_user, "is_authenticated", False))


def security_header_defaults(app: Flask) -> list[tuple[str, str]]:
    """The headers every answer gets unless its view set them."""
    defaults = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Content-Security-Policy",
         "default-src 'self'; img-src 'self' data:; object-src 'none'; "
         "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    ]
    if app.config["ENVIRONMENT"] == "production" and app.config["BASE_URL"].startswith(
            "https://"):
        defaults.insert(0, ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return defaults


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def nothing_with_nul() -> None:
        # No database stores a NUL character; a path with one names nothing, and a form
        # field with one is not something a person typed.
        if "\x00" in request.path:
            abort(404)
        # Werkzeug fills request.form from these two types only; asking it on a JSON call
        # costs a look at an empty body (2 % of a repeated scan).
        if request.mimetype in FORM_TYPES and any(
                "\x00" in value for value in request.form.values()):
            abort(400)

    @app.before_request
    def readers_do_not_lock() -> None:
        if (request.method in SAFE_METHODS and request.endpoint not in SESSIONLESS) or (
                getattr(app.view_functions.get(request.endpoint), READS_FIRST, False)):
            read_only_transaction(db.session)

    # After the transaction's mode is chosen: reading the token begins the transaction.
    app.before_request(read_api_token)

    defaults = security_header_defaults(app)
    # The availability 304 answered in front of Flask carries the same headers.
    fast_answers.install(app, [*defaults, ("X-Frame-Options", "DENY")])

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        headers = response.headers
        present = {name.lower() for name, _value in headers}  # one pass, not one per header
        if _personal(response) and "cache-control" not in present:
            # Pages and answers with someone's data: never kept by a shared cache, a browser's
            # back-forward cache or a proxy. Views that know better (feeds) set their own.
            headers["Cache-Control"] = "private, no-store"
        if "frame-ancestors" not in headers.get("Content-Security-Policy", "") and (
                "x-frame-options" not in present):
            # A view that says who may frame it (the embedded view) has no X-Frame-Options,
            # which cannot name sites; every other answer may be framed by nobody.
            headers["X-Frame-Options"] = "DENY"
        for name, value in defaults:
            if name.lower() not in present:
                headers.add(name, value)
        if "vary" in present:
            response.vary.update(("Cookie", "Accept-Language"))
        else:
            headers["Vary"] = "Cookie, Accept-Language"
        return response
