"""Answers given in front of Flask, for the one request where Flask's own work is most of the
cost: a repeated availability request whose ETag still holds (`If-None-Match` → 304), or,
without `If-None-Match`, whose answer for the same change tokens is kept (200, the same bytes).

The 304 is decided from the change tokens alone (booking/versions.py): no session, no query,
no argument parsing, no request context. It carries what the app's hooks would have added
(the security headers, `Vary`, `X-Request-Id`), and it is logged and counted like every
other request. Anything else, and any request with an `Origin` (CORS headers are the app's
business), goes on to Flask unchanged, where the same check runs again as a before-request
hook.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask

from makerspace import clock
from makerspace.booking import versions
from makerspace.booking.availability import next_whole_minute
from makerspace.core.request_log import REQUEST_LOG, valid_request_id
from makerspace.metrics import REQUEST_SECONDS

_AVAILABILITY = re.compile(r"^/api/v1/equipment/([1-9][0-9]{0,9})/availability$")
ROUTE = "/api/v1/equipment/<id:equipment_id>/availability"

StartResponse = Callable[..., Any]


def _first_values(query: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        found.setdefault(name, value)
    return found


class NotModifiedInFront:
    """WSGI middleware: the availability 304 without Flask."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]],
                 headers: list[tuple[str, str]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.headers = headers  # the security headers every answer gets
        self.observe = {status: REQUEST_SECONDS.labels("GET", ROUTE, str(status)).observe
                        for status in (200, 304)}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        started = time.perf_counter()
        if environ.get("REQUEST_METHOD") == "GET" and "HTTP_ORIGIN" not in environ:
            matched = _AVAILABILITY.match(environ.get("PATH_INFO", ""))
            if matched and int(matched.group(1)) <= 2**31 - 1:
                tag = self._current_tag(int(matched.group(1)), environ)
                if tag is not None:
                    offered = environ.get("HTTP_IF_NONE_MATCH")
                    if offered and _offers(offered, tag):
                        return self._answer(304, tag, None, environ, start_response, started)
                    # No tag, or an old one (every client's, once a minute): the kept answer.
                    body = versions.kept_pages(self.app.extensions).get(
                        versions.answer_key(tag))
                    if body is not None:
                        return self._answer(200, tag, body, environ, start_response, started)
        return self.wsgi_app(environ, start_response)

    def _current_tag(self, equipment_id: int, environ: dict[str, Any]) -> str | None:
        return versions.known_tag(
            equipment_id, next_whole_minute(clock.now()),
            versions.query_key(_first_values(environ.get("QUERY_STRING", ""))),
            extensions=self.app.extensions)

    def _answer(self, status: int, tag: str, body: bytes | None, environ: dict[str, Any],
                start_response: StartResponse, started: float) -> Iterable[bytes]:
        """A 304, or the kept answer (200) for the same tokens."""
        asked = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = asked if valid_request_id(asked) else uuid.uuid4().hex
        headers = [("ETag", f'"{tag}"'), ("Cache-Control", "no-cache"), *self.headers,
                   ("Vary", "Cookie, Accept-Language"), ("X-Request-Id", request_id)]
        if body is not None:
            headers[:0] = [("Content-Type", "application/json"),
                           ("Content-Length", str(len(body)))]
        start_response("304 NOT MODIFIED" if status == 304 else "200 OK", headers)
        seconds = time.perf_counter() - started
        REQUEST_LOG.info("request", extra={
            "method": "GET", "route": ROUTE, "status": status, "request_id": request_id,
            "duration_ms": round(seconds * 1000, 2)})
        self.observe[status](seconds)
        return [] if body is None else [body]


def _offers(header: str, tag: str) -> bool:
    """Whether an If-None-Match header names this (strong) tag, or is `*`."""
    for part in header.split(","):
        part = part.strip()
        if part in ("*", f'"{tag}"'):  # strong comparison, as Flask's ETags.contains
            return True
    return False


def install(app: Flask, headers: list[tuple[str, str]]) -> None:
    """Put the middleware in front of the app (outermost: it needs no proxy headers)."""
    app.wsgi_app = NotModifiedInFront(app, app.wsgi_app, headers)  # type: ignore[method-assign]
