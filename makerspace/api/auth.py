"""Bearer-token authentication for the API."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import g, request
from flask_babel import lazy_gettext as _l

from makerspace.accounts.models import User
from makerspace.accounts.services import user_for_api_token
from makerspace.errors import DomainError


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    title = _l("A valid API token is required.")


class InvalidToken(Unauthorized):
    code = "invalid_token"
    title = _l("The API token is not valid or has been revoked.")


def load_api_user() -> None:
    """Read `Authorization: Bearer …`; an unknown token is refused outright."""
    g.api_user = None
    header = request.headers.get("Authorization", "")
    if not header:
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken()
    user = user_for_api_token(token.strip())
    if user is None:
        raise InvalidToken()
    g.api_user = user


def api_user() -> User:
    """The authenticated API user (call only behind @token_required)."""
    return g.api_user


def token_required(view: Any) -> Any:
    """An endpoint that needs a valid bearer token (401 without one)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("api_user") is None:
            raise Unauthorized()
        return view(*args, **kwargs)

    return wrapper
