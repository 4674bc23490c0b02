"""Library branches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from makerspace.database import UTCDateTime, utcnow
from makerspace.extensions import db

DEFAULT_TIMEZONE = "Europe/Oslo"


class Branch(db.Model):
    __tablename__ = "branches"
    __table_args__ = (CheckConstraint("length(slug) between 1 and 64", name="slug_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Branch {self.slug}>"
