"""Branches: look up, create (admins) and change settings."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from makerspace.branches.models import DEFAULT_TIMEZONE, Branch
from makerspace.core.slugs import checked_slug
from makerspace.errors import AlreadyExists, InvalidInput, NotFound
from makerspace.extensions import db


class UnknownBranch(NotFound):
    code = "unknown_branch"
    title = _l("There is no such library.")


class BranchExists(AlreadyExists):
    code = "branch_exists"
    title = _l("A library with this short name exists already.")


class UnknownTimezone(InvalidInput):
    code = "unknown_timezone"
    title = _l("Unknown time zone.")


def branch_by_slug(slug: str) -> Branch:
    """The branch with this slug, or UnknownBranch."""
    branch = db.session.scalar(select(Branch).where(Branch.slug == slug))
    if branch is None:
        raise UnknownBranch()
    return branch


def all_branches(*, first: Branch | None = None) -> list[Branch]:
    """Every branch by name; `first` (a person's home library) at the top."""
    branches = list(db.session.scalars(select(Branch).order_by(Branch.name)))
    return sorted(branches, key=lambda b: first is None or b.id != first.id)


def create_branch(*, slug: str, name: str, municipality: str,
                  timezone: str = DEFAULT_TIMEZONE, closed_on_public_holidays: bool = True
                  ) -> Branch:
    """A new library branch (admins)."""
    slug = checked_slug(slug)
    if not name.strip() or not municipality.strip():
        raise InvalidInput(_l("Name and municipality are required."))
    if timezone not in available_timezones():
        raise UnknownTimezone()
    if db.session.scalar(select(Branch.id).where(Branch.slug == slug)) is not None:
        raise BranchExists()
    branch = Branch(slug=slug, name=name.strip(), municipality=municipality.strip(),
                    timezone=timezone, closed_on_public_holidays=closed_on_public_holidays)
    db.session.add(branch)
    db.session.flush()
    return branch


class InvalidMapLink(InvalidInput):
    code = "invalid_map_link"
    title = _l("The map link must be a web address starting with https://.")


class InvalidContact(InvalidInput):
    code = "invalid_contact"
    title = _l("The contact e-mail or phone number is not valid.")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{3,40}$")


def update_branch(branch: Branch, *, slug: str, name: str, municipality: str, timezone: str,
                  address: str = "", map_url: str = "", contact_email: str = "",
                  contact_phone: str = "") -> Branch:
    """Change what a branch is called and what its public page says (admins). A new slug
    changes the branch's addresses; the old ones stop working."""
    slug = checked_slug(slug)
    if not name.strip() or not municipality.strip():
        raise InvalidInput(_l("Name and municipality are required."))
    if timezone not in available_timezones():
        raise UnknownTimezone()
    if slug != branch.slug and db.session.scalar(
            select(Branch.id).where(Branch.slug == slug)) is not None:
        raise BranchExists()
    map_url, contact_email, contact_phone = (map_url.strip(), contact_email.strip().lower(),
                                             contact_phone.strip())
    if (len(name.strip()) > 200 or len(municipality.strip()) > 100
            or len(address.strip()) > 300 or len(map_url) > 500 or len(contact_email) > 254):
        raise InvalidInput(_l("One of the texts is longer than allowed."))
    if map_url and not (map_url.startswith("https://") and len(map_url) > len("https://")
                        and not any(c.isspace() for c in map_url)):
        raise InvalidMapLink()
    if contact_email and not _EMAIL.match(contact_email):
        raise InvalidContact(_l("The contact e-mail address is not valid."))
    if contact_phone and not _PHONE.match(contact_phone):
        raise InvalidContact(_l("A phone number has digits, spaces and perhaps a leading +."))
    branch.slug, branch.name, branch.municipality = slug, name.strip(), municipality.strip()
    branch.timezone, branch.address = timezone, address.strip()
    branch.map_url, branch.contact_email, branch.contact_phone = (map_url, contact_email,
                                                                  contact_phone)
    db.session.flush()
    return branch


def update_branch_settings(branch: Branch, *, closed_on_public_holidays: bool,
                           max_upcoming_bookings: int,
                           staff_feed_full_names: bool | None = None) -> Branch:
    """Switch the public-holiday rule, the booking quota and whether the staff calendar
    feed shows full names (None: leave as it is)."""
    if not 0 <= max_upcoming_bookings <= 100:
        raise InvalidInput(_l("The number of upcoming bookings must be 0 to 100."))
    branch.closed_on_public_holidays = closed_on_public_holidays
    branch.max_upcoming_bookings = max_upcoming_bookings
    if staff_feed_full_names is not None:
        branch.staff_feed_full_names = staff_feed_full_names
    db.session.flush()
    return branch
