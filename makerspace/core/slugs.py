"""Short names in URLs (branch and certification slugs)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from makerspace.errors import InvalidInput

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# What checked_slug accepts before it lower-cases and trims (for the API document).
SLUG_ANY_CASE = r"^\s*[A-Za-z0-9]+(-[A-Za-z0-9]+)*\s*$"


class InvalidSlug(InvalidInput):
    code = "invalid_slug"
    title = _l("Short names may only contain a–z, 0–9 and hyphens.")


def checked_slug(text: str) -> str:
    """The slug lower-cased and trimmed, or InvalidSlug."""
    slug = text.strip().lower()
    if not SLUG.match(slug) or len(slug) > 64:
        raise InvalidSlug()
    return slug
