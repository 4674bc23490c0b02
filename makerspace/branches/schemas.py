"""API shapes of the branches area."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Flag, Input, Output, Text
from makerspace.core.slugs import SLUG_ANY_CASE


class BranchSchema(Output):
    slug = ma.fields.String(required=True, metadata={"examples": ["steinkjer"]})
    name = ma.fields.String(required=True)
    municipality = ma.fields.String(required=True)
    timezone = ma.fields.String(required=True, metadata={"examples": ["Europe/Oslo"]})
    closed_on_public_holidays = ma.fields.Boolean(required=True)
    max_upcoming_bookings = ma.fields.Integer(required=True)
    address = ma.fields.String(required=True, metadata={"description": "Empty: not given"})
    map_url = ma.fields.String(required=True, metadata={
        "description": "A plain https link to a map; empty: not given"})
    contact_email = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)
    staffed_when_open = ma.fields.Boolean(required=True, metadata={
        "description": "False: staff are there only in the staffed hours (open without "
                       "staff, meråpent, the rest of the time)"})


class NewBranchSchema(Input):
    # Checked by the service (`invalid_slug`); upper case and spaces around are forgiven.
    slug = Text(required=True, min_length=1, max_length=64,
                metadata={"pattern": SLUG_ANY_CASE})
    name = Text(required=True, min_length=1, max_length=200)
    municipality = Text(required=True, min_length=1, max_length=100)
    timezone = Text(load_default="Europe/Oslo", min_length=1, max_length=64)
    closed_on_public_holidays = Flag(load_default=True)


class WeeklyHoursSchema(Output):
    # The shape only: the times themselves are the rules' business (`invalid_hours`).
    weekly = ma.fields.Dict(
        required=True, keys=ma.fields.String(),
        values=ma.fields.Raw(metadata={"type": "array", "items": {
            "type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}}),
        metadata={"description": "Weekday (mon…sun) to a list of [opens, closes] in HH:MM; "
                                 "24:00 allowed; a weekday left out or empty is closed.",
                  "examples": [{"mon": [["08:00", "20:00"]], "sun": []}]})


class NewWeeklyHoursSchema(WeeklyHoursSchema):
    class Meta:
        unknown = ma.EXCLUDE
