"""Logging that keeps secrets out of the log files: calendar-feed, reset, verification and
check-in tokens sit in URL paths, and access logs write whole request lines."""

from __future__ import annotations

import logging
import re
from typing import Any

# Paths whose last part is a secret: the personal and staff feeds, password reset, address
# verification, check-in codes (any case: scanners upper-case them).
_SECRET_IN_PATH = re.compile(
    r"(?i)(/calendar/(?:me|staff)/|/password/reset/|/verify/|/c/)[^/\s?\"'.]+")
REDACTED = r"\1[redacted]"
# Loggers that write request lines: werkzeug's development server and gunicorn's access log.
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access")


def redact(text: str) -> str:
    """The text with every secret path part replaced by [redacted]."""
    return _SECRET_IN_PATH.sub(REDACTED, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "link_for_developer", False):
            return True  # development without mail: the link is the point (mail.links)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redact_value(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(value) for value in record.args)
        return True


_FILTER = RedactSecrets()


def install_log_redaction() -> None:
    """Put the filter on the request loggers (once; safe to call for every app)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
