"""Error pages for people and RFC 9457 problem documents for the API."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from makerspace.api.problems import problem_response, validation_problem
from makerspace.errors import DomainError
from makerspace.extensions import db, login_manager

# The database is away: restarting, refusing connections, locked for too long (SQLite), or
# every connection of the pool busy. A client may try again shortly.
DATABASE_AWAY = (OperationalError, InterfaceError, PoolTimeout)
log = logging.getLogger(__name__)


def safe_rollback() -> None:
    """Roll back what the request did; with the connection gone the rollback itself may fail,
    and that must not hide the first error."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the connection is gone: drop the session instead)
        log.warning("rollback failed; closing the session", exc_info=True)
        try:
            db.session.close()
        except Exception:  # noqa: BLE001
            log.warning("closing the session failed too", exc_info=True)


def _wants_problem() -> bool:
    return request.path.startswith("/api/")


def _page(status: int, title: str, message: str):  # type: ignore[no-untyped-def]
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _http_texts(status: int) -> tuple[str, str]:
    texts = {
        400: (_("Bad request"), _("The request could not be understood. Please try again.")),
        401: (_("Log in required"), _("Please log in to continue.")),
        403: (_("Not allowed"), _("You do not have access to this page.")),
        404: (_("Page not found"), _("We could not find the page you asked for.")),
        405: (_("Not allowed"), _("This page cannot be used like that.")),
        413: (_("Too large"), _("What you sent is too large.")),
        429: (_("Too many requests"), _("Please wait a little and try again.")),
    }
    return texts.get(
        status,
        (_("Something went wrong"), _("An error occurred on our side. Please try again later.")),
    )


def unavailable_response():  # type: ignore[no-untyped-def]
    """503 with Retry-After, built without touching the database (the person is treated as
    logged out for this one page: looking them up would need the database)."""
    g._login_user = login_manager.anonymous_user()
    retry = str(current_app.config["RETRY_AFTER_SECONDS"])
    title = _("Folkeverksted is not available just now")
    message = _("We cannot reach the database. Please try again in a minute.")
    if _wants_problem():
        response = problem_response(503, "unavailable", title, message)
    else:
        response = current_app.make_response(_page(503, title, message))
    response.headers["Retry-After"] = retry
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    def database_away(error: Exception):  # type: ignore[no-untyped-def]
        safe_rollback()
        cause = getattr(error, "orig", None) or error
        app.logger.warning("database unavailable: %s: %s", type(cause).__name__,
                           str(cause).splitlines()[0] if str(cause) else "")
        return unavailable_response()

    for away in DATABASE_AWAY:
        app.register_error_handler(away, database_away)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        safe_rollback()
        message = _("The form had expired or was sent from elsewhere. Please try again.")
        if _wants_problem():
            return problem_response(400, "csrf_failed", _("Bad request"), message)
        return _page(400, _("The form could not be sent"), message)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):  # type: ignore[no-untyped-def]
        safe_rollback()
        if _wants_problem():
            return problem_response(
                error.status, error.code, str(error.title), str(error.message), **error.extra
            )
        return _page(error.status, str(error.title), str(error.message))

    @app.errorhandler(DataError)
    def data_error(error: DataError):  # type: ignore[no-untyped-def]
        # A value the database cannot hold (a NUL in text, a number out of its range) that
        # got past the checks: the input is at fault, not the server.
        safe_rollback()
        app.logger.warning("Input the database refused: %s", error.orig)
        if _wants_problem():
            return problem_response(422, "invalid_input", _("The input is not valid"),
                                    _("The input is not valid."))
        return _page(400, *_http_texts(400))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        if status >= 500:
            safe_rollback()
            g._login_user = login_manager.anonymous_user()  # the page must not need the db
        title, message = _http_texts(status)
        messages = (getattr(error, "data", None) or {}).get("messages")
        if _wants_problem() and messages is not None and status in (400, 422):
            return validation_problem(status, messages)  # the API's schemas refused the input
        if _wants_problem():
            code = {400: "bad_request", 401: "unauthorized", 404: "not_found",
                    405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}
            response = problem_response(status, code.get(status, "error"), title, message)
            if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
                response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
            return response
        return _page(status, title, message)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):
            return http_error(error)
        safe_rollback()
        app.logger.exception("Unhandled error", exc_info=error)
        if app.testing and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise error
        return http_error(InternalServerError())
