"""RFC 9457 problem details: the one shape of every API error, and its schema."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import Response, request
from flask_babel import gettext as _

from makerspace.api.fields import Output

PROBLEM_TYPE_PREFIX = "urn:folkeverksted:problem:"
PROBLEM_JSON = "application/problem+json"


class IntervalSchema(Output):
    start = ma.fields.DateTime(required=True)
    end = ma.fields.DateTime(required=True)


class ProblemSchema(Output):
    """RFC 9457 problem details with a machine-readable `code`; the other fields appear with
    the refusals that carry them."""

    type = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    detail = ma.fields.String(required=True)
    code = ma.fields.String(required=True, metadata={"description": "Stable and machine-readable"})
    field = ma.fields.String(metadata={"description": "The input field that is wrong"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                            metadata={"description": "Every wrong field with its reasons"})
    suggestions = ma.fields.List(ma.fields.Nested(IntervalSchema), metadata={
        "description": "Refusals about the time: the nearest free periods of the same length"})
    certification = ma.fields.String(metadata={"description": "`not_certified`: the slug"})
    until = ma.fields.String(metadata={"description": "`blocked`: until when"})
    opens_at = ma.fields.String(metadata={"description": "`too_early`: when check-in opens"})
    closed_at = ma.fields.String(metadata={"description": "`too_late`: when it closed"})
    branch = ma.fields.String(metadata={"description": "`wrong_branch`: the code's branch"})
    loan = ma.fields.Integer(metadata={"description": "`overdue_loan`: the overdue loan's id"})
    pickup_date = ma.fields.String(metadata={
        "description": "`too_early` for a kit loan: its pick-up day"})


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
    response = Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                        mimetype=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="folkeverksted"'
    return response


def _reasons(found: Any) -> dict[str, list[str]]:
    """{"field": ["reason", …]} from marshmallow's nested messages."""
    reasons: dict[str, list[str]] = {}
    for name, messages in (found.items() if isinstance(found, dict) else []):
        if isinstance(messages, dict):  # a nested field: name.inner
            for inner, texts in _reasons(messages).items():
                reasons[f"{name}.{inner}"] = texts
        else:
            reasons[str(name)] = [str(m) for m in messages]
    return reasons


def validation_problem(status: int, messages: dict[str, Any]) -> Response:
    """The problem for input the schemas refused (webargs puts their messages on the error):
    a body that is not a JSON object is 400 `invalid_json`; wrong fields are 422
    `invalid_input`, with `field` (the first) and `errors` (all)."""
    body_messages = messages.get("json")
    if status == 400 or isinstance(body_messages, list) or (
            isinstance(body_messages, dict) and "_schema" in body_messages) or (
            "json" in messages and not isinstance(request.get_json(silent=True, force=True),
                                                  dict)):
        return problem_response(400, "invalid_json", _("Bad request"),
                                _("The request body must be a JSON object."))
    reasons: dict[str, list[str]] = {}
    for location in ("json", "query", "view_args", "path"):
        reasons |= _reasons(messages.get(location))
    field, texts = next(iter(reasons.items()), ("", [""]))
    detail = _("“%(field)s” %(reason)s", field=field, reason=texts[0]) if field else \
        _("The input is not valid.")
    return problem_response(422, "invalid_input", _("The input is not valid"), detail,
                            field=field, errors=reasons)
