"""API shapes of the calendar area."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Output


class FeedAddressSchema(Output):
    url = ma.fields.Url(required=True, metadata={"description": "The secret feed address"})


class PersonalFeedSchema(Output):
    calendar_url = ma.fields.Url(required=True, metadata={
        "description": "The secret address of the caller's own feed"})
