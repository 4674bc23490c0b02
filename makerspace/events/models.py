"""Sessions: courses, workshops and open-workshop hours, with sign-ups and waitlists.

Called `Event` in code: the word "session" belongs to Flask and SQLAlchemy.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace.accounts.models import User
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification
from makerspace.checkin.codes import new_checkin_token
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, checked_enum, utcnow
from makerspace.extensions import db


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return checked_enum(cls, name, length=20)


class EventStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class EventCategory(enum.StrEnum):
    """What a course is about, for the course list's filter."""

    PRINTING_3D = "3d-printing"
    LASER = "laser"
    SEWING = "sewing"
    VR = "vr"
    DIGITAL_SKILLS = "digital-skills"
    PODCAST = "podcast"
    DIGITISATION = "digitisation"
    OPEN_WORKSHOP = "open-workshop"
    OTHER = "other"


CATEGORY_VALUES = ", ".join(f"'{c.value}'" for c in EventCategory)
# The languages a description may be written in; the first is the default and the fallback.
DESCRIPTION_LANGUAGES = ("nb", "nn", "en")


class EventSeries(db.Model):
    """A weekly series; its occurrences are ordinary events, each editable on its own."""

    __tablename__ = "event_series"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"),
                                           index=True)
    rule: Mapped[str] = mapped_column(String(500))  # RFC 5545 RRULE, for the record
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="period"),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("min_age IS NULL OR min_age BETWEEN 0 AND 100", name="min_age"),
        CheckConstraint("guardian_consent_under IS NULL OR guardian_consent_under BETWEEN 1 "
                        "AND 100", name="guardian_consent_under"),
        CheckConstraint(f"category IS NULL OR category IN ({CATEGORY_VALUES})",
                        name="category"),
        Index("ix_events_branch_start", "branch_id", "start_at"),
        Index("ix_events_start", "start_at"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_series.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # bokmål, the default
    description_nn: Mapped[str] = mapped_column(Text, default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    category: Mapped[str | None] = mapped_column(String(30))
    instructor: Mapped[str] = mapped_column(String(200), default="")
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    # None: sign-up is open from creation / closes at the start.
    signup_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signup_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    min_age: Mapped[int | None] = mapped_column(Integer)
    # Below this age (as min_age counts it) a guardian must consent once for the course, or
    # for the whole weekly series (booking/guardians.py).
    guardian_consent_under: Mapped[int | None] = mapped_column(Integer)
    requires_certification_id: Mapped[int | None] = mapped_column(
        ForeignKey("certifications.id", ondelete="SET NULL"))
    grants_certification_id: Mapped[int | None] = mapped_column(
        ForeignKey("certifications.id", ondelete="SET NULL"))
    status: Mapped[EventStatus] = mapped_column(_enum(EventStatus, "event_status"),
                                                default=EventStatus.SCHEDULED)
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    # Goes up on every change that calendar clients must see (iCal SEQUENCE).
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    branch: Mapped[Branch] = relationship()
    series: Mapped[EventSeries | None] = relationship()
    requires_certification: Mapped[Certification | None] = relationship(
        foreign_keys=[requires_certification_id])
    grants_certification: Mapped[Certification | None] = relationship(
        foreign_keys=[grants_certification_id])

    @property
    def signup_deadline(self) -> datetime:
        return self.signup_closes_at or self.start_at

    def seats_left(self, confirmed: int) -> int:
        """Seats still free when `confirmed` people have one (never below 0)."""
        return max(self.capacity - confirmed, 0)

    def description_in(self, locale: str | None) -> str:
        """The description in the reader's language, else bokmål, else whichever exists."""
        written = {"nb": self.description, "nn": self.description_nn,
                   "en": self.description_en}
        for language in (locale, *DESCRIPTION_LANGUAGES):
            if language in written and written[language].strip():
                return written[language]
        return ""

    def signup_window(self, now: datetime) -> str:
        """"not_yet", "open" or "closed": the one rule for when people may sign up."""
        if self.status == EventStatus.CANCELLED or now >= self.signup_deadline:
            return "closed"
        if self.signup_opens_at is not None and now < self.signup_opens_at:
            return "not_yet"
        return "open"


class SignupStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"

    @classmethod
    def live(cls) -> tuple[SignupStatus, ...]:
        """A seat or a place on the waitlist: one of these per person and event."""
        return (cls.CONFIRMED, cls.WAITLISTED)

    @property
    def is_live(self) -> bool:
        return self in self.live()


class Signup(db.Model):
    __tablename__ = "signups"
    __table_args__ = (
        # One live sign-up per person and event; leaving and joining again is allowed.
        Index("uq_signups_event_user_live", "event_id", "user_id", unique=True,
              postgresql_where=text("status IN ('confirmed', 'waitlisted')"),
              sqlite_where=text("status IN ('confirmed', 'waitlisted')")),
        # Waitlist order is unique within an event.
        Index("uq_signups_event_queue_number", "event_id", "queue_number", unique=True,
              postgresql_where=text("status = 'waitlisted'"),
              sqlite_where=text("status = 'waitlisted'")),
        CheckConstraint("(status = 'waitlisted') = (queue_number IS NOT NULL)",
                        name="queue_number"),
        Index("ix_signups_user", "user_id"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # None once anonymised (as bookings are); age_band is what the statistics keep.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    age_band: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[SignupStatus] = mapped_column(_enum(SignupStatus, "signup_status"))
    # Order on the waitlist (first come, first served); the place in the queue is counted
    # from it, so promotions never renumber rows.
    queue_number: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attendance_marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkin_token: Mapped[str] = mapped_column(String(32), unique=True,
                                               default=new_checkin_token)
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
