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

    def open_session(self, app: Flask, request: Any) -> Any:
        # Most requests carry no session cookie (the API, feeds, first visits): an empty
        # session without building the signing serializer, which cost a tenth of a cheap
        # request. A secret key is still required, as Flask's own interface requires it.
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if has_request_context() and request.blueprint in COOKIELESS_BLUEPRINTS:
            return
        super().save_session(app, session, response)
