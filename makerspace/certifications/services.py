"""Certifications: create, grant, and ask whether someone holds one."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification, UserCertification
from makerspace.core.slugs import checked_slug
from makerspace.errors import AlreadyExists, InvalidInput, NotFound
from makerspace.extensions import db

MAX_VALID_MONTHS = 1200  # a hundred years: "for ever" is None


class UnknownCertification(NotFound):
    code = "unknown_certification"
    title = _l("There is no such certification.")


class CertificationExists(AlreadyExists):
    code = "certification_exists"
    title = _l("A certification with this short name exists already.")


def certification_by_slug(slug: str) -> Certification:
    """The certification with this slug, or UnknownCertification."""
    found = db.session.scalar(select(Certification).where(Certification.slug == slug))
    if found is None:
        raise UnknownCertification()
    return found


def create_certification(*, slug: str, name: str, valid_months: int | None = None
                         ) -> Certification:
    """A new kind of certification (admins)."""
    slug = checked_slug(slug)
    if not name.strip():
        raise InvalidInput(_l("A name is required."))
    if valid_months is not None and not 1 <= valid_months <= MAX_VALID_MONTHS:
        raise InvalidInput(_l("The validity must be 1 to 1200 months."), field="valid_months")
    if db.session.scalar(select(Certification.id).where(Certification.slug == slug)):
        raise CertificationExists()
    certification = Certification(slug=slug, name=name.strip(), valid_months=valid_months)
    db.session.add(certification)
    db.session.flush()
    return certification


def grant_certification(*, user: User, certification: Certification, granted_by: User | None,
                        note: str = "", at: datetime | None = None,
                        branch: Branch | None = None) -> UserCertification:
    """Grant (or renew) a certification (at `branch`: a course or staff there); it expires
    after the certification's validity."""
    at = at or clock.now()
    expires = at + relativedelta(months=certification.valid_months) \
        if certification.valid_months else None
    held = db.session.scalar(select(UserCertification).where(
        UserCertification.user_id == user.id,
        UserCertification.certification_id == certification.id))
    if held is None:
        held = UserCertification(user=user, certification=certification)
        db.session.add(held)
    held.granted_by = granted_by
    held.granted_at = at
    held.expires_at = expires
    held.note = note.strip()[:500]
    held.branch_id = branch.id if branch is not None else None
    db.session.flush()
    return held


def holds_certification(user: User, certification: Certification, at: datetime) -> bool:
    """True when the user holds the certification and it is still valid at `at`."""
    held = db.session.scalar(select(UserCertification).where(
        UserCertification.user_id == user.id,
        UserCertification.certification_id == certification.id))
    return held is not None and held.valid_at(at)


def certifications_of(user: User) -> list[UserCertification]:
    """Everything a person holds or held, newest first."""
    return list(db.session.scalars(
        select(UserCertification).where(UserCertification.user_id == user.id)
        .order_by(UserCertification.granted_at.desc())))


def all_certifications() -> list[Certification]:
    return list(db.session.scalars(select(Certification).order_by(Certification.name)))
