"""API shapes of the certifications area."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Input, Output, Stamp, Text
from makerspace.certifications.services import MAX_VALID_MONTHS
from makerspace.core.slugs import SLUG_ANY_CASE


class CertificationSchema(Output):
    slug = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    valid_months = ma.fields.Integer(required=True, allow_none=True)


class NewCertificationSchema(Input):
    # Checked by the service (`invalid_slug`); upper case and spaces around are forgiven.
    slug = Text(required=True, min_length=1, max_length=64,
                metadata={"pattern": SLUG_ANY_CASE})
    name = Text(required=True, min_length=1, max_length=200)
    valid_months = ma.fields.Integer(strict=True, allow_none=True,
                                     metadata={"minimum": 1, "maximum": MAX_VALID_MONTHS})


class NewGrantSchema(Input):
    user_email = Text(required=True, min_length=1, max_length=254)
    note = Text(max_length=500, load_default="")
    branch = ma.fields.String(metadata={
        "description": "Where it was granted (a branch the caller manages); default: the "
                       "caller's branch where the person is known"})


class GrantSchema(Output):
    certification = ma.fields.String(required=True)
    user_email = ma.fields.String(required=True)
    granted_at = Stamp(required=True)
    expires_at = Stamp(required=True, allow_none=True)
    note = ma.fields.String(required=True)


class HeldCertificationSchema(Output):
    certification = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    granted_at = Stamp(required=True)
    expires_at = Stamp(required=True, allow_none=True)
    valid = ma.fields.Boolean(required=True)
