"""Reading JSON bodies and query parameters, with problem+json errors for bad input."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from makerspace.errors import DomainError, InvalidInput


class InvalidJson(DomainError):
    code = "invalid_json"
    status = 400
    title = _l("The request body must be a JSON object.")


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidJson()
    return body


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *,
          required: bool = True, default: Any = None) -> Any:
    """A field of the expected JSON type, or a 422 naming the field."""
    if name not in body or body[name] is None:
        if required:
            raise InvalidInput(_("“%(field)s” is required.", field=name), field=name)
        return default
    value = body[name]
    if isinstance(value, bool) and kind in (int, (int,)):
        value = "not an int"
    if not isinstance(value, kind):
        raise InvalidInput(_("“%(field)s” has the wrong type.", field=name), field=name)
    return value


def parse_moment(text: Any, zone_name: str, name: str) -> datetime:
    """ISO 8601 with an offset; without one, the time is read in the branch's zone."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError as error:
        raise InvalidInput(_("“%(field)s” must be an ISO 8601 date and time.", field=name),
                           field=name) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone_name))
    return moment


def query_date(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise InvalidInput(_("“%(field)s” must be a date (YYYY-MM-DD).", field=name),
                           field=name) from error


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(_("“%(field)s” must be a whole number from %(low)s to %(high)s.",
                             field=name, low=low, high=high), field=name)
    return int(raw)
