"""Branches: look up, create (admins) and change settings."""

from __future__ import annotations

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


def all_branches() -> list[Branch]:
    return list(db.session.scalars(select(Branch).order_by(Branch.name)))


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
