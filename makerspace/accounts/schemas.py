"""API shapes of the accounts area."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Output


class MeSchema(Output):
    email = ma.fields.Email(required=True, allow_none=True, metadata={
        "description": "None for people who log in only with a library card or ID-porten"})
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["citizen", "librarian", "admin"]))
    branches = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "Slugs of the branches a librarian works at."})
    calendar_url = ma.fields.Url(required=True, metadata={
        "description": "Secret iCal feed of the caller's bookings and sign-ups"})
