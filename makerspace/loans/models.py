"""Loans of kits (equipment of kind "kit") for whole days."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace.accounts.models import User
from makerspace.booking.models import Equipment
from makerspace.checkin.codes import new_checkin_token
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, checked_enum, utcnow
from makerspace.extensions import db


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return checked_enum(cls, name, length=30)


class LoanStatus(enum.StrEnum):
    RESERVED = "reserved"  # made, not picked up yet
    PICKED_UP = "picked_up"  # out with the borrower
    RETURNED = "returned"
    CANCELLED = "cancelled"
    NOT_PICKED_UP = "not_picked_up"  # the pick-up day passed without anyone coming

    @classmethod
    def live(cls) -> tuple[LoanStatus, ...]:
        """Loans that hold a copy of the kit: counted against the pool's quantity."""
        return (cls.RESERVED, cls.PICKED_UP)


class ReturnCondition(enum.StrEnum):
    """What staff noted when the kit came back."""

    COMPLETE = "complete"
    DAMAGED = "damaged"
    PARTS_MISSING = "parts_missing"


class Loan(db.Model):
    """One copy of a kit lent from `pickup_date` to `return_date` (both whole days, in the
    owning branch's zone; the copy counts as out on both)."""

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint("return_date > pickup_date", name="period"),
        Index("ix_loans_equipment_return", "equipment_id", "return_date"),
        Index("ix_loans_user_status", "user_id", "status"),
        # the sweep (reminders, overdue notices, pick-ups missed) and the desk's lists
        Index("ix_loans_status_return", "status", "return_date"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    # None once anonymised (the account was deleted, or RETENTION_DAYS after the return).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pickup_date: Mapped[date] = mapped_column(Date)
    return_date: Mapped[date] = mapped_column(Date)
    status: Mapped[LoanStatus] = mapped_column(_enum(LoanStatus, "loan_status"),
                                               default=LoanStatus.RESERVED)
    # Opaque code (base32, 160 random bits) shown as a QR code; the scan station finds the
    # loan by it, as it finds bookings and sign-ups.
    checkin_token: Mapped[str] = mapped_column(String(32), unique=True,
                                               default=new_checkin_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    picked_up_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    condition: Mapped[ReturnCondition | None] = mapped_column(
        _enum(ReturnCondition, "return_condition"))
    # What staff noted on return (damage, missing parts); for the branch's staff.
    return_note: Mapped[str] = mapped_column(String(1000), default="")
    # When the reminder (the day before the return) and the overdue notice were queued.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    equipment: Mapped[Equipment] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    picked_up_by: Mapped[User | None] = relationship(foreign_keys=[picked_up_by_id])
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])

    @property
    def days(self) -> int:
        """The loan's length in days (Monday to the next Monday: 7)."""
        return (self.return_date - self.pickup_date).days

    def is_overdue(self, today: date) -> bool:
        """Out with the borrower past its return day (`today` in the branch's zone)."""
        return self.status == LoanStatus.PICKED_UP and self.return_date < today
