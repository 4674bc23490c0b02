"""API shapes of the identity area."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Input, Output, Text


class CardTokenRequestSchema(Input):
    card_number = Text(min_length=1, max_length=40, required=True,
                       metadata={"description": "The number on the library card"})
    pin = Text(min_length=1, max_length=40, required=True)
    library = Text(max_length=100, metadata={
        "description": "A branch's slug, where branches have a library system of their own "
                       "(SIP2_BRANCHES); leave out otherwise"})
    name = Text(max_length=100, metadata={
        "description": "A name for the token, shown on the profile (default: Library card)"})


class CardTokenSchema(Output):
    token = ma.fields.String(required=True, metadata={
        "description": "A bearer token for `Authorization: Bearer`; shown once. The person "
                       "sees and revokes it on their profile."})
    name = ma.fields.String(required=True)
