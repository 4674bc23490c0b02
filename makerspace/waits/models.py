"""Waiting for a taken slot of a machine, and the hold the first in line gets when it frees.

A hold is a booking row in the status `held` (makerspace/booking/models.py): the database's
overlap guarantee (migrations 0002 and 0018) covers it like any booking, so nobody else can
book a held slot and no slot can be held twice. The wait points at its hold while it lasts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace.accounts.models import User
from makerspace.booking.models import Booking, Equipment
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.extensions import db


class SlotWait(db.Model):
    """Someone waits for [start_at, end_at) on a machine; first come, first served."""

    __tablename__ = "slot_waits"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="period"),
        # a hold has a booking row and an end, or neither
        CheckConstraint("(booking_id IS NULL) = (hold_expires_at IS NULL)", name="hold"),
        UniqueConstraint("user_id", "equipment_id", "start_at", "end_at",
                         name="uq_slot_waits_one_per_slot"),
        Index("ix_slot_waits_equipment_start", "equipment_id", "start_at"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The held booking row while the slot is held for this person (one hold per row);
    # deleting the row (the hold lapsed) deletes the wait with it.
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), unique=True)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship()
    equipment: Mapped[Equipment] = relationship()
    booking: Mapped[Booking | None] = relationship()

    @property
    def is_held(self) -> bool:
        return self.booking_id is not None
