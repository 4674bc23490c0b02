"""Domain errors: raised by services, shown by views and the API the same way."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A rule said no. `code` is machine-readable and stable; `message` is for people."""

    code = "error"
    status = 400
    title: Any = _l("The request could not be carried out")

    def __init__(self, message: Any = None, **extra: Any) -> None:
        super().__init__(str(message) if message is not None else self.code)
        self.message = message if message is not None else self.title
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = _l("Not found")


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = _l("You may not do this")


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422
    title = _l("The input is not valid")


class AlreadyExists(DomainError):
    code = "already_exists"
    status = 409
    title = _l("It exists already")
