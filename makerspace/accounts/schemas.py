"""API shapes of the accounts area."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Input, Output, Text


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


class NewInvitationSchema(Input):
    email = Text(required=True, min_length=3, max_length=254)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["librarian", "admin"]))
    branches = ma.fields.List(Text(min_length=1, max_length=64), load_default=list,
                              validate=ma.validate.Length(max=100), metadata={
                                  "description": "Slugs of the branches (librarians: at "
                                                 "least one)"})


class InvitationSchema(Output):
    id = ma.fields.Integer(required=True)
    email = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["librarian", "admin"]))
    branches = ma.fields.List(ma.fields.String(), required=True)
    expires_at = ma.fields.DateTime(required=True)
