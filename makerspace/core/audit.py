"""The audit log: who did what to whom, and when; shared by every area.

Kept for a year with the people in it (AUDIT_RETENTION_DAYS); after that, and when an account
is deleted, the entry stays and the people are taken out of it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from makerspace import clock
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.extensions import db


class AuditAction(enum.StrEnum):
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    BLOCKED = "blocked"
    BLOCK_LIFTED = "block_lifted"
    ATTENDED = "attended"
    EMAIL_VERIFIED = "email_verified"  # staff confirmed a person's address at the desk


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_subject_at", "subject_user_id", "at"),
                      SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stored as text without a database check: areas add actions as they grow.
    action: Mapped[AuditAction] = mapped_column(
        Enum(AuditAction, name="audit_action", native_enum=False, create_constraint=False,
             length=40, values_callable=lambda members: [m.value for m in members]))
    # None: the system (the no-show sweep), or taken out (see the module docstring).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    signup_id: Mapped[int | None] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    detail: Mapped[str] = mapped_column(String(500), default="")


def record(action: AuditAction, *, actor_id: int | None, subject_user_id: int | None = None,
           booking_id: int | None = None, signup_id: int | None = None, detail: str = "",
           at: datetime | None = None) -> AuditEntry:
    """Add an entry to the log in the caller's transaction."""
    entry = AuditEntry(at=at or clock.now(), action=action, actor_id=actor_id,
                       subject_user_id=subject_user_id, booking_id=booking_id,
                       signup_id=signup_id, detail=detail[:500])
    db.session.add(entry)
    return entry
