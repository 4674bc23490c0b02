"""The session cookie, except on views that promise to set no cookie at all (the embedded
view sits on other sites, where a cookie of ours would need consent)."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

# Blueprints whose answers never carry Set-Cookie, whatever a view or extension touched.
COOKIELESS_BLUEPRINTS = frozenset({"embed"})


class CookielessWhereAsked(SecureCookieSessionInterface):
    """Flask's signed-cookie session, never saved (not even refreshed) for COOKIELESS views."""

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if has_request_context() and request.blueprint in COOKIELESS_BLUEPRINTS:
            return
        super().save_session(app, session, response)
