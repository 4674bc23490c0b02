"""Certifications: a course passed that unlocks machines (e.g. "Laserkutter – grunnkurs")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace.accounts.models import User
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.extensions import db


class Certification(db.Model):
    __tablename__ = "certifications"
    __table_args__ = (
        CheckConstraint("valid_months IS NULL OR valid_months > 0", name="valid_months"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # None: valid for ever once granted.
    valid_months: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserCertification(db.Model):
    """A person holds a certification, granted by staff (or by attending a course)."""

    __tablename__ = "user_certifications"
    __table_args__ = (UniqueConstraint("user_id", "certification_id"), SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    certification_id: Mapped[int] = mapped_column(
        ForeignKey("certifications.id", ondelete="CASCADE"), index=True
    )
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Where it was granted (a course there, or staff there); None: by the county.
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(500), default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
    certification: Mapped[Certification] = relationship()

    def valid_at(self, moment: datetime) -> bool:
        return self.expires_at is None or moment < self.expires_at
