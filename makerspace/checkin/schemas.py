"""API shapes of the check-in area."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Input, Output, Text


class ScanSchema(Input):
    code = Text(required=True, min_length=1, max_length=500, metadata={
        "description": "What the scanner read: the check-in URL (even with separators mangled "
                       "by a keyboard layout) or the bare token.",
        "examples": ["https://folkeverksted.no/c/JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"]})
    condition = ma.fields.String(load_default="complete", validate=ma.validate.OneOf(
        ["complete", "damaged", "parts_missing"]), metadata={
        "description": "A kit loan's code when the kit is out: the state it came back in"})
    note = Text(max_length=1000, load_default="", metadata={
        "description": "A kit loan coming back: what is damaged or missing (required unless "
                       "`complete`)"})


class CheckinResultSchema(Output):
    result = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["checked_in", "already_checked_in", "picked_up", "returned"]), metadata={
        "description": "Scanning twice is harmless: the second answer is `already_checked_in` "
                       "with the first check-in's time. A kit loan's code: `picked_up` (handed "
                       "over; `checked_in_at` is when) or, once it is out, `returned`."})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["booking", "signup", "loan"]))
    id = ma.fields.Integer(required=True, metadata={
        "description": "The booking's, sign-up's or loan's id"})
    name = ma.fields.String(required=True, metadata={"description": "The person's name"})
    what = ma.fields.String(required=True, metadata={
        "description": "The machine's name or the event's title"})
    start = ma.fields.String(required=True, metadata={"format": "date-time"})
    end = ma.fields.String(required=True, metadata={"format": "date-time"})
    checked_in_at = ma.fields.String(required=True, allow_none=True,
                                     metadata={"format": "date-time"})
