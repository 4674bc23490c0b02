"""The field types every area's API schemas are made of, with translated error messages and
bounds that keep nonsense (ids of 2^31 and more, the year 1 or 9999) out of the database.

Input schemas ignore fields they do not know (old clients may send more); output schemas
forbid them, so the OpenAPI document says `additionalProperties: false` and the suite's
response check holds the API to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import validate
from werkzeug.routing import IntegerConverter

from makerspace.core.forms import EARLIEST_DAY, LATEST_DAY

# PostgreSQL's integer: an id beyond it names nothing.
MAX_ID = 2**31 - 1

REQUIRED = _l("is required.")
NULL = _l("may not be empty (null).")
_MESSAGES = {"required": REQUIRED, "null": NULL, "invalid": _l("has the wrong type."),
             "validator_failed": _l("is not valid.")}


def _nul_free(value: Any, path: str = "") -> str | None:
    """The name of the first field whose text holds a NUL character (no database keeps it)."""
    if isinstance(value, str):
        return path or "_schema" if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, inner in items:
        found = _nul_free(inner, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


class _SharedSchema(ma.Schema):
    """A schema instance is never changed once made: every request reads it, and so may every
    part of the API document. flask-smorest deep-copies what each decorator stores (the doc of
    an endpoint, schemas and all, once per decorator), which copied every field of every
    schema a dozen times over: 10 MB of each worker (docs/performance.md)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedSchema:
        return self


class Input(_SharedSchema):
    """A request body or query: unknown fields are ignored; text with NUL in a known field is
    refused (an unknown field is dropped before it could reach the database)."""

    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def _refuse_nul(self, data: Any, **_: Any) -> Any:
        known = {field.data_key or name for name, field in self.load_fields.items()}
        name = _nul_free({key: value for key, value in data.items() if key in known}
                         if isinstance(data, dict) else {})
        if name:
            raise ma.ValidationError({name.split(".")[0]: [str(_l("may not contain NUL."))]})
        return data


class Output(_SharedSchema):
    """A response: exactly these fields (additionalProperties: false in the document)."""

    class Meta:
        unknown = ma.RAISE


def _messages(**more: Any) -> dict[str, Any]:
    return {**_MESSAGES, **more}


def Id(**kwargs: Any) -> ma.fields.Integer:  # noqa: N802  (a field type, named like one)
    """The id of something: a whole number from 1 to 2^31 − 1."""
    return ma.fields.Integer(strict=True, validate=validate.Range(
        1, MAX_ID, error=_l("must be a whole number from {min} to {max}.")),
        error_messages=_messages(invalid=_l("must be a whole number.")), **kwargs)


def Whole(low: int, high: int, *, strict: bool = True, **kwargs: Any  # noqa: N802
          ) -> ma.fields.Integer:
    """A whole number in [low, high] (strict: a JSON number, not text; queries are text)."""
    return ma.fields.Integer(strict=strict, validate=validate.Range(
        low, high, error=_l("must be a whole number from {min} to {max}.")),
        error_messages=_messages(invalid=_l("must be a whole number.")), **kwargs)


def Text(*, min_length: int = 0, max_length: int = 500, **kwargs: Any) -> ma.fields.String:  # noqa: N802
    """Text of a bounded length (a required text may not be blank)."""
    more = kwargs.pop("validate", None)
    checks = [validate.Length(min_length, max_length,
                              error=_l("must be {min} to {max} characters long.")),
              *([more] if more else [])]
    return ma.fields.String(validate=checks,
                            error_messages=_messages(invalid=_l("must be text.")), **kwargs)


class _JsonBoolean(ma.fields.Boolean):
    """true or false, and nothing else (not 0, 1, "yes")."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def Flag(**kwargs: Any) -> ma.fields.Boolean:  # noqa: N802
    return _JsonBoolean(error_messages=_messages(invalid=_l("must be true or false.")),
                        **kwargs)


class Moment(ma.fields.String):
    """ISO 8601 date and time, with an offset or without (then read in the branch's zone by
    the view, which knows the branch). Loads to text; `Moment.parse` makes the datetime."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "ISO 8601; without an offset the time is read in the branch's zone")
        super().__init__(validate=self._valid, error_messages=_messages(
            invalid=_l("must be a date and time (ISO 8601).")), **kwargs)

    @staticmethod
    def _valid(text: str) -> None:
        Moment.parse(text, "UTC")

    @staticmethod
    def parse(text: str, zone_name: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as error:
            raise ma.ValidationError(str(_l("must be a date and time (ISO 8601).")),
                                     ) from error
        if not EARLIEST_DAY <= moment.date() <= LATEST_DAY:
            raise ma.ValidationError(str(_l("must be between the years 2000 and 2999.")))
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone_name))


def Day(**kwargs: Any) -> ma.fields.Date:  # noqa: N802
    """A date (YYYY-MM-DD) between the years 2000 and 2999."""
    return ma.fields.Date(validate=validate.Range(
        EARLIEST_DAY, LATEST_DAY, error=_l("must be between the years 2000 and 2999.")),
        error_messages=_messages(invalid=_l("must be a date (YYYY-MM-DD).")), **kwargs)


def Stamp(**kwargs: Any) -> ma.fields.DateTime:  # noqa: N802
    """A moment the API answers with (ISO 8601 with offset)."""
    return ma.fields.DateTime(**kwargs)


def _up_to(limit: str) -> str:
    """A regular expression for the whole numbers 1 … limit without leading zeros."""
    shorter = f"[1-9]\\d{{0,{len(limit) - 2}}}" if len(limit) > 1 else ""
    same_length = [
        f"{limit[:i]}[{'1' if i == 0 else '0'}-{int(digit) - 1}]\\d{{{len(limit) - i - 1}}}"
        for i, digit in enumerate(limit) if int(digit) > (1 if i == 0 else 0)]
    return "|".join(p for p in (shorter, *same_length, limit) if p)


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: a whole number from 1 to 2^31 − 1; anything else is a 404.

    The bound is in the regular expression itself, not only in the conversion: Werkzeug
    answers 405 instead of 404 when a path matches another method's rule but fails a check."""

    regex = _up_to(str(MAX_ID))

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        super().__init__(map, min=1, max=MAX_ID)


def id_converter_schema(_converter: IdConverter) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}


class PageQuery(Input):
    """?page=N&per_page=M on a list; the answer's Link header points to the neighbours."""

    page = Whole(1, 10_000, strict=False, load_default=1)
    per_page = Whole(1, 100, strict=False, load_default=50)
