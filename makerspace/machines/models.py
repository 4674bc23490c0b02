"""A machine's connection to the software that drives it (OctoPrint, Moonraker, PrusaLink),
what the poller last saw of it, and the jobs it has run."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace.booking.models import Booking, Equipment
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, checked_enum, utcnow
from makerspace.extensions import db


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return checked_enum(cls, name, length=20)


class ConnectionKind(enum.StrEnum):
    OCTOPRINT = "octoprint"
    MOONRAKER = "moonraker"
    PRUSALINK = "prusalink"


class MachineStatus(enum.StrEnum):
    """Whether the poller reached the machine the last time it asked."""

    UNKNOWN = "unknown"  # not asked yet
    ONLINE = "online"
    OFFLINE = "offline"  # unreachable, timed out, refused the key, or the printer is off


class JobState(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # A different job appeared without the poller seeing this one end: how it ended is not
    # known, and nothing is done to its booking on a guess.
    UNKNOWN = "unknown"

    @classmethod
    def open(cls) -> tuple[JobState, ...]:
        return (cls.RUNNING, cls.PAUSED)


class MachineConnection(db.Model):
    __tablename__ = "machine_connections"
    __table_args__ = (
        CheckConstraint("failures >= 0", name="failures"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[ConnectionKind] = mapped_column(_enum(ConnectionKind, "connection_kind"))
    url: Mapped[str] = mapped_column(String(500))
    # Fernet token of the API key (makerspace/machines/secrets.py); never shown again.
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    # What the machine's job events may do to a booking.
    check_in_on_start: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    finish_on_end: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # What the poller last saw.
    status: Mapped[MachineStatus] = mapped_column(_enum(MachineStatus, "machine_status"),
                                                  default=MachineStatus.UNKNOWN)
    printer_state: Mapped[str] = mapped_column(String(30), default="")
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the next poll is due (a claim moves it on, so two workers do not ask at once).
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    equipment: Mapped[Equipment] = relationship()


class MachineJob(db.Model):
    """A job the poller saw on a machine: with the booking it ran in, or none ("in use
    without booking")."""

    __tablename__ = "machine_jobs"
    __table_args__ = (
        CheckConstraint("progress IS NULL OR (progress >= 0 AND progress <= 100)",
                        name="progress"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="period"),
        # At most one open job per machine, even with two pollers at once.
        Index("uq_machine_jobs_open", "equipment_id", unique=True,
              postgresql_where=text("ended_at IS NULL"), sqlite_where=text("ended_at IS NULL")),
        Index("ix_machine_jobs_equipment_started", "equipment_id", "started_at"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), index=True)
    # How the machine names the job (file name, job id): staff and the booking's owner only.
    remote_key: Mapped[str] = mapped_column(String(300))
    state: Mapped[JobState] = mapped_column(_enum(JobState, "machine_job_state"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress: Mapped[float | None] = mapped_column(Float)
    estimated_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filament_mm: Mapped[float | None] = mapped_column(Float)
    filament_grams: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    booking: Mapped[Booking | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.ended_at is None
