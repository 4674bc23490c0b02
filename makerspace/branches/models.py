"""Library branches."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from makerspace import clock
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.extensions import db

DEFAULT_TIMEZONE = "Europe/Oslo"


def new_feed_token() -> str:
    """A secret for a calendar feed URL (256 random bits)."""
    return secrets.token_urlsafe(32)


def new_hours_version() -> str:
    """Random, not a counter: a branch made again with a reused id never meets an old one."""
    return secrets.token_hex(8)


class Branch(db.Model):
    __tablename__ = "branches"
    __table_args__ = (
        CheckConstraint("length(slug) between 1 and 64", name="slug_length"),
        CheckConstraint("max_upcoming_bookings >= 0", name="max_upcoming_bookings"),
        CheckConstraint("unattended_per_night IS NULL OR unattended_per_night >= 0",
                        name="unattended_per_night"),
        CheckConstraint("unattended_pickup_minutes BETWEEN 0 AND 720",
                        name="unattended_pickup_minutes"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    closed_on_public_holidays: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    # Upcoming bookings one citizen may hold at this branch at a time.
    max_upcoming_bookings: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    # Check-in opens this many minutes before the start and closes this many after it.
    checkin_opens_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    checkin_closes_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    # Secret for the staff iCal feed URL (with names); librarians can rotate it.
    staff_calendar_token: Mapped[str] = mapped_column(String(64), unique=True,
                                                      default=new_feed_token)
    # The staff feed ends up on Google's or Microsoft's servers once subscribed: it shows
    # initials unless the branch chooses full names.
    staff_feed_full_names: Mapped[bool] = mapped_column(Boolean, default=False,
                                                        server_default=false())
    # Changes with every change to the weekly hours or the date exceptions: the key of the
    # opening hours each process keeps (branches.hours), so a change is seen by the next
    # request everywhere, with no query to ask whether anything changed.
    hours_version: Mapped[str] = mapped_column(String(16), default=new_hours_version,
                                               server_default="0")
    # A temporary closure (renovation, staff shortage): while `closure_notice` is not empty,
    # the notice is shown on the branch's pages and no booking may fall between
    # `closed_from` and `closed_until` (None: until further notice).
    closure_notice: Mapped[str] = mapped_column(String(500), default="", server_default="")
    closed_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the public branch page tells visitors; blank: not given.
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # A plain link to a map (https), never an embedded map that tracks the reader.
    map_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # True: staff are there whenever the library is open. False: only in the weekly
    # StaffedHours (inside the opening hours of each date; see branches.hours.staffed_for_days).
    staffed_when_open: Mapped[bool] = mapped_column(Boolean, default=True,
                                                    server_default=true())
    # Unattended jobs (docs/booking.md): at most this many a night at the branch (None: no
    # limit); none on the day before a closed day unless allowed; a job must end by the next
    # opening plus the pick-up margin.
    unattended_per_night: Mapped[int | None] = mapped_column(Integer, default=1,
                                                             server_default="1")
    unattended_before_closed_day: Mapped[bool] = mapped_column(Boolean, default=False,
                                                               server_default=false())
    unattended_pickup_minutes: Mapped[int] = mapped_column(Integer, default=60,
                                                           server_default="60")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def closure_covers(self, start: datetime, end: datetime) -> bool:
        """Whether a temporary closure falls on any part of [start, end)."""
        if not self.closure_notice or self.closed_from is None:
            return False
        return self.closed_from < end and (self.closed_until is None or start < self.closed_until)

    def closure_shown(self, now: datetime) -> bool:
        """Whether the closure notice is to be shown now (it has not ended)."""
        return bool(self.closure_notice) and (self.closed_until is None
                                              or self.closed_until > now)

    @property
    def closure_now(self) -> bool:
        """Whether the notice is to be shown at this moment (for the pages)."""
        return self.closure_shown(clock.now())

    def checkin_window(self, start: datetime) -> tuple[datetime, datetime]:
        """[opens, closes) for something starting at `start`: from `checkin_opens_minutes`
        before until `checkin_closes_minutes` after; a booking not checked in when it closes
        is a no-show."""
        return (start - timedelta(minutes=self.checkin_opens_minutes),
                start + timedelta(minutes=self.checkin_closes_minutes))

    def __repr__(self) -> str:
        return f"<Branch {self.slug}>"


class WeeklyHours(db.Model):
    """One opening interval on a weekday (0 = Monday). Several a day are allowed."""

    __tablename__ = "weekly_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        # minutes after local midnight; 1440 is 24:00
        CheckConstraint("opens_minute >= 0 AND opens_minute < closes_minute "
                        "AND closes_minute <= 1440", name="interval"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"),
                                           index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens_minute: Mapped[int] = mapped_column(Integer)
    closes_minute: Mapped[int] = mapped_column(Integer)


class StaffedHours(db.Model):
    """One interval on a weekday (0 = Monday) when staff are present, for a branch that is
    not staffed whenever it is open (meråpent: open with a library card, without staff).
    Staffed time on a date is these intervals cut to that date's opening hours, so a closed
    day or shorter special hours are never staffed beyond them."""

    __tablename__ = "staffed_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens_minute >= 0 AND opens_minute < closes_minute "
                        "AND closes_minute <= 1440", name="interval"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"),
                                           index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens_minute: Mapped[int] = mapped_column(Integer)
    closes_minute: Mapped[int] = mapped_column(Integer)


class DateException(db.Model):
    """A date with other hours than usual: closed (no minutes) or special hours (one row per
    interval). It also overrides the public-holiday rule for that date."""

    __tablename__ = "date_exceptions"
    __table_args__ = (
        CheckConstraint(
            "(opens_minute IS NULL AND closes_minute IS NULL) OR "
            "(opens_minute >= 0 AND opens_minute < closes_minute AND closes_minute <= 1440)",
            name="interval",
        ),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    opens_minute: Mapped[int | None] = mapped_column(Integer)
    closes_minute: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")

    @property
    def closed(self) -> bool:
        return self.opens_minute is None


Index("ix_date_exceptions_branch_day", DateException.branch_id, DateException.day)
