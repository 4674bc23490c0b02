"""One JSON line per request and per job, and a request id a person can quote.

The id comes from the proxy's `X-Request-Id` when it looks like one, else it is made here; it is
returned in the `X-Request-Id` header and shown on error pages. Lines name the route pattern
(`/calendar/me/<token>.ics`), never the path with its secrets, and pass the redaction filter.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, request
from flask.logging import default_handler

from makerspace.core.logs import RedactSecrets

REQUEST_LOG = logging.getLogger("makerspace.requests")
JOB_LOG = logging.getLogger("makerspace.jobs")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Fields of a LogRecord that are not the caller's `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """A record as one JSON object: time, level, logger, message and the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


_HANDLER_NAME = "folkeverksted"


def configure_logging(app: Flask) -> None:
    """Send the app's, the requests' and the jobs' logs to stderr as JSON lines (LOG_FORMAT
    "json") or plain text ("text"), at LOG_LEVEL. Once per process."""
    root = logging.getLogger("makerspace")
    if any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactSecrets())
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    root.removeHandler(default_handler)  # Flask's app.logger is this logger: ours speaks


def valid_request_id(offered: str) -> bool:
    """Whether a proxy's X-Request-Id looks like one (else a new id is made)."""
    return bool(_REQUEST_ID.match(offered))


def request_seconds() -> float | None:
    """How long the current request has taken so far (None before it was timed)."""
    started = g.get("request_started")
    return time.perf_counter() - started if started is not None else None


def request_id() -> str | None:
    """The current request's id (for error pages)."""
    return g.get("request_id")


def install_request_log(app: Flask) -> None:
    @app.before_request
    def start() -> None:
        offered = request.headers.get("X-Request-Id", "")
        g.request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def finish(response):  # type: ignore[no-untyped-def]
        if "request_id" not in g:  # failed before `start` ran
            g.request_id = uuid.uuid4().hex
        response.headers["X-Request-Id"] = g.request_id
        seconds = request_seconds()
        REQUEST_LOG.info("request", extra={
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else None,
            "status": response.status_code, "request_id": g.request_id,
            "duration_ms": round(seconds * 1000, 2) if seconds is not None else None})
        return response

    app.jinja_env.globals["request_id"] = request_id
