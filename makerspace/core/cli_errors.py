"""What a command says when the database is dead, empty or damaged: one translated line that
says what is wrong and what to do, and a non-zero exit; `-v` adds the traceback."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from makerspace.extensions import db


def cli_locale() -> str:
    """The operator's language from LANGUAGE / LC_ALL / LANG (nb, nn or en), else the default."""
    languages = current_app.config["LANGUAGES"]
    for name in ("LANGUAGE", "LC_ALL", "LANG"):
        code = os.environ.get(name, "")[:2].lower()
        code = "nb" if code == "no" else code
        if code in languages:
            return code
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _where() -> str:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def describe(error: SQLAlchemyError) -> str:
    """The database's trouble in one line, in the operator's language."""
    text = str(getattr(error, "orig", None) or error).lower()
    where = _where()
    if "no such table" in text or "does not exist" in text and "relation" in text:
        return _("The database %(where)s has no tables yet. Run: flask db upgrade", where=where)
    if "not a database" in text or "malformed" in text:
        return _("The database file %(where)s is damaged or not a database. Restore it from "
                 "a backup (docs/deploy.md).", where=where)
    if "locked" in text:
        return _("The database %(where)s is busy: another process holds its lock. Try again.",
                 where=where)
    if "connect" in text or "connection" in text or "unable to open" in text:
        return _("Cannot reach the database %(where)s. Is it running? Check DATABASE_URL.",
                 where=where)
    first = str(getattr(error, "orig", None) or error).splitlines()[0]
    return _("The database %(where)s refused: %(error)s", where=where, error=first)


def database_command(command: Callable[..., Any]) -> Callable[..., Any]:
    """A command in the app context whose database errors are told in one line."""

    @click.option("-v", "--verbose", is_flag=True, help="On an error, show the traceback too.")
    @with_appcontext
    @wraps(command)
    def run(*args: Any, verbose: bool = False, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SQLAlchemyError as error:
            if verbose:
                traceback.print_exc()
            try:
                db.session.rollback()
            except SQLAlchemyError:
                db.session.close()
            with force_locale(cli_locale()):
                raise click.ClickException(describe(error)) from error

    return run
