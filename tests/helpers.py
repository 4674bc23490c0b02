"""Small helpers shared by test modules."""

from __future__ import annotations

import functools
import re
from typing import Any

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def html_lang(body: bytes) -> str | None:
    match = re.search(rb'<html lang="([^"]+)"', body)
    return match.group(1).decode() if match else None


def without_csrf(page: str) -> str:
    """A page without its CSRF tokens, which carry a timestamp (to compare two pages)."""
    return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', 'name="csrf_token"', page)


def sign_in(client: Any, user: Any) -> Any:
    """Log a user in on a test client without the form: a real server-side session."""
    from flask import has_app_context

    from makerspace.accounts.models import User
    from makerspace.accounts.services import start_session
    from makerspace.extensions import db

    def start() -> str:
        raw = start_session(db.session.get(User, user.id))
        db.session.commit()
        return raw

    if has_app_context():
        raw = start()
    else:
        with client.application.app_context():
            raw = start()
    with client.session_transaction() as session:
        session["_user_id"] = raw
        session["_fresh"] = True
    return client


@functools.cache
def api_document() -> dict[str, Any]:
    """The OpenAPI document the app serves (it does not depend on the database)."""
    from makerspace import create_app
    from makerspace.api.registry import openapi_document
    from tests.databases import test_config

    app = create_app(test_config("sqlite://"))
    with app.app_context():
        return openapi_document(app)


def matches(body: Any, schema_name: str) -> None:
    """The body fits the named component schema of the document."""
    import jsonschema

    document = api_document()
    jsonschema.validate(body, {**document["components"]["schemas"][schema_name],
                               "components": document["components"]},
                        cls=jsonschema.Draft202012Validator)
