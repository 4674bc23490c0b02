"""Short names in URLs (branch and certification slugs)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from makerspace.errors import InvalidInput

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class InvalidSlug(InvalidInput):
    code = "invalid_slug"
    title = _l("Short names may only contain a–z, 0–9 and hyphens.")


def checked_slug(text: str) -> str:
    """The slug lower-cased and trimmed, or InvalidSlug."""
    slug = text.strip().lower()
    if not SLUG.match(slug) or len(slug) > 64:
        raise InvalidSlug()
    return slug
