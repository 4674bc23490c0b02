"""One unit of work per request: the view's changes are committed once, when it answers with
success (1xx–3xx), and rolled back on any exception or error answer (4xx, 5xx).

Views and API endpoints therefore never commit. Services flush and never commit. A view that
wants to show a refusal on the same page asks `attempt()` to run the service call: a refusal
(a DomainError) rolls back what the call changed and comes back as a value to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Generic, TypeVar

from flask import Flask, Response, make_response, render_template
from sqlalchemy.exc import OperationalError

from makerspace.database import write_refused_to_reader
from makerspace.errors import DomainError
from makerspace.extensions import db

T = TypeVar("T")


def _committing(view: Callable[..., Any]) -> Callable[..., Response]:
    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Response:
        try:
            return _once(view, args, kwargs)
        except OperationalError as error:
            if not (getattr(view, READS_FIRST, False) and write_refused_to_reader(error)):
                raise
        # SQLite: another request wrote between this one's first read and its first write,
        # so what it read may be old. Once more, from the start, holding the write lock.
        return _once(view, args, kwargs)

    return run


def _once(view: Callable[..., Any], args: Any, kwargs: Any) -> Response:
    try:
        response = make_response(view(*args, **kwargs))
    except BaseException:
        _rollback_quietly()
        raise
    if not _in_transaction():
        return response
    if response.status_code < 400:
        db.session.commit()
    else:
        _rollback_quietly()
    return response


READS_FIRST = "makerspace_reads_first"


def reads_first(view: Callable[..., T]) -> Callable[..., T]:
    """A write that most often only reads (a repeated scan): on SQLite its transaction
    begins as a reader, side by side with other requests, and takes the write lock only
    when it writes. SQLite refuses that write if another was committed since this request's
    first read (its snapshot would be old): the request then runs again as a writer from
    the start, as every other write does. On PostgreSQL nothing changes."""
    setattr(view, READS_FIRST, True)
    return view


def _in_transaction() -> bool:
    # Without making a session for a view that never asked for one (health, static files).
    return db.session.registry.has() and db.session().in_transaction()


def _rollback_quietly() -> None:
    """A rollback that cannot hide the error that caused it (the connection may be gone)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        db.session.close()


def install_unit_of_work(app: Flask) -> None:
    """Wrap every view of the app (call once every blueprint is registered)."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = _committing(view)


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What came of a service call: its value, or the rule that refused it."""

    value: T | None = None
    refusal: DomainError | None = None

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    @property
    def message(self) -> str | None:
        """The refusal in words, for the page (None when it went through)."""
        return str(self.refusal.message) if self.refusal is not None else None


def attempt(call: Callable[[], T]) -> Attempt[T]:
    """Run a service call; a refusal rolls back what it changed and is returned, not raised."""
    try:
        return Attempt(value=call())
    except DomainError as refusal:
        db.session.rollback()
        return Attempt(refusal=refusal)


def form_page(template: str, form: Any, problem: str | None = None, **context: Any
              ) -> tuple[str, int]:
    """A page with a form: 422 when the form or the service refused it (nothing is kept)."""
    status = 422 if (form is not None and form.errors) or problem else 200
    return render_template(template, form=form, problem=problem, **context), status
