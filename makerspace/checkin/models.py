"""The record of check-ins, no-shows, blocks and lifted blocks: who, when."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from makerspace.database import UTCDateTime, utcnow
from makerspace.extensions import db


class AuditAction(enum.StrEnum):
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    BLOCKED = "blocked"
    BLOCK_LIFTED = "block_lifted"
    ATTENDED = "attended"


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_subject_at", "subject_user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[AuditAction] = mapped_column(
        Enum(AuditAction, name="audit_action", native_enum=False, create_constraint=True,
             length=20, values_callable=lambda members: [m.value for m in members]))
    # None: the system (the no-show sweep).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    signup_id: Mapped[int | None] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    detail: Mapped[str] = mapped_column(String(500), default="")
