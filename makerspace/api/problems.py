"""RFC 9457 problem details."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

PROBLEM_TYPE_PREFIX = "urn:folkeverksted:problem:"


def problem_response(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    """An `application/problem+json` response with a stable, machine-readable `code`."""
    body = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "status": status,
        "title": title,
        "detail": detail,
        "code": code,
        **extra,
    }
    response = Response(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        mimetype="application/problem+json",
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="folkeverksted"'
    return response
