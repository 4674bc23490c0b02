"""Equipment, its booking rules, outages, bookings and booking blocks."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace.accounts.models import User
from makerspace.booking.rules import RULE_DEFAULTS
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification
from makerspace.checkin.codes import new_checkin_token
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, checked_enum, utcnow
from makerspace.extensions import db


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return checked_enum(cls, name, length=30)


class EquipmentKind(enum.StrEnum):
    PRINTER_3D = "3d-printer"
    LASER_CUTTER = "laser-cutter"
    VR_KIT = "vr-kit"
    VINYL_CUTTER = "vinyl-cutter"
    SEWING_MACHINE = "sewing-machine"
    PODCAST_STUDIO = "podcast-studio"
    DIGITISATION_STATION = "digitisation-station"
    OTHER = "other"
    # Lent for whole days, not booked by the slot (makerspace/loans): a pool of `quantity`
    # identical copies.
    KIT = "kit"


class MaterialUnit(enum.StrEnum):
    GRAMS = "g"
    METRES = "m"
    SHEETS = "sheet"


# The unit material is counted in, per kind of machine (one place); kinds left out count none.
MATERIAL_UNITS: dict[EquipmentKind, MaterialUnit] = {
    EquipmentKind.PRINTER_3D: MaterialUnit.GRAMS,
    EquipmentKind.LASER_CUTTER: MaterialUnit.SHEETS,
    EquipmentKind.VINYL_CUTTER: MaterialUnit.METRES,
    EquipmentKind.SEWING_MACHINE: MaterialUnit.METRES,
}


class Equipment(db.Model):
    __tablename__ = "equipment"
    __table_args__ = (
        CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="slot_minutes"),
        CheckConstraint("min_minutes >= slot_minutes AND min_minutes % slot_minutes = 0",
                        name="min_minutes"),
        CheckConstraint("max_minutes >= min_minutes AND max_minutes % slot_minutes = 0 "
                        "AND max_minutes <= 1440", name="max_minutes"),
        CheckConstraint("buffer_minutes >= 0 AND buffer_minutes <= 1440", name="buffer_minutes"),
        CheckConstraint("max_advance_days BETWEEN 0 AND 365", name="max_advance_days"),
        CheckConstraint("min_age IS NULL OR min_age BETWEEN 0 AND 100", name="min_age"),
        CheckConstraint("quantity BETWEEN 1 AND 100", name="quantity"),
        CheckConstraint("max_loan_days BETWEEN 1 AND 60", name="max_loan_days"),
        CheckConstraint("guardian_consent_under IS NULL OR guardian_consent_under BETWEEN 1 "
                        "AND 100", name="guardian_consent_under"),
        CheckConstraint("unattended_max_minutes BETWEEN 0 AND 1440",
                        name="unattended_max_minutes"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EquipmentKind] = mapped_column(_enum(EquipmentKind, "equipment_kind"))
    description: Mapped[str] = mapped_column(Text, default="")
    slot_minutes: Mapped[int] = mapped_column(Integer, default=RULE_DEFAULTS["slot_minutes"])
    min_minutes: Mapped[int] = mapped_column(Integer, default=RULE_DEFAULTS["min_minutes"])
    max_minutes: Mapped[int] = mapped_column(Integer, default=RULE_DEFAULTS["max_minutes"])
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=RULE_DEFAULTS["buffer_minutes"])
    max_advance_days: Mapped[int] = mapped_column(Integer,
                                                  default=RULE_DEFAULTS["max_advance_days"])
    min_age: Mapped[int | None] = mapped_column(Integer)
    # Kits (kind "kit"): how many identical copies the pool has, and the longest loan in days.
    quantity: Mapped[int] = mapped_column(Integer, default=RULE_DEFAULTS["quantity"],
                                          server_default="1")
    max_loan_days: Mapped[int] = mapped_column(Integer, default=RULE_DEFAULTS["max_loan_days"],
                                               server_default="7")
    # Below this age (as min_age counts it) a guardian must consent (booking/guardians.py).
    guardian_consent_under: Mapped[int | None] = mapped_column(Integer)
    # How long a job may run unattended past closing (docs/booking.md); 0: never.
    unattended_max_minutes: Mapped[int] = mapped_column(
        Integer, default=RULE_DEFAULTS["unattended_max_minutes"], server_default="0")
    requires_certification_id: Mapped[int | None] = mapped_column(
        ForeignKey("certifications.id", ondelete="SET NULL")
    )
    # Retired: kept with its history, takes no new bookings, hidden from the public lists.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    branch: Mapped[Branch] = relationship()
    requires_certification: Mapped[Certification | None] = relationship()
    outages: Mapped[list[EquipmentOutage]] = relationship(
        back_populates="equipment", order_by="EquipmentOutage.start_at",
        cascade="all, delete-orphan",
    )

    @property
    def is_kit(self) -> bool:
        """Lent for whole days (makerspace/loans), not booked by the slot."""
        return self.kind == EquipmentKind.KIT

    @property
    def allows_unattended(self) -> bool:
        return self.unattended_max_minutes > 0

    @property
    def material_unit(self) -> MaterialUnit | None:
        """What material used on this machine is counted in (None: nothing is counted)."""
        return MATERIAL_UNITS.get(self.kind)

    @property
    def durations(self) -> list[int]:
        """The booking lengths the machine allows, in minutes."""
        return list(range(self.min_minutes, self.max_minutes + 1, self.slot_minutes))


class EquipmentOutage(db.Model):
    """A period the machine is out of service; `end_at` None means until further notice."""

    __tablename__ = "equipment_outages"
    __table_args__ = (CheckConstraint("end_at IS NULL OR end_at > start_at", name="period"),
                      SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"),
                                              index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    equipment: Mapped[Equipment] = relationship(back_populates="outages")

    @hybrid_method
    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether the outage takes any of [start, end); in a query as well."""
        return self.start_at < end and (self.end_at is None or start < self.end_at)

    @covers.expression
    def covers(cls, start: datetime, end: datetime) -> ColumnElement[bool]:  # noqa: N805
        return and_(cls.start_at < end, or_(cls.end_at.is_(None), cls.end_at > start))


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    # Reserved for the first person waiting for the slot (makerspace/waits): it occupies the
    # machine like a booking until they take it (then it is confirmed) or the hold lapses
    # (then the row is deleted). Not a booking yet: no quota, no statistics, no check-in.
    HELD = "held"

    @classmethod
    def occupying(cls) -> tuple[BookingStatus, ...]:
        """What the machine is taken by: the active bookings and the holds. The database
        refuses two of these that overlap on one machine (migrations 0002 and 0018)."""
        return (*cls.active(), cls.HELD)

    @classmethod
    def active(cls) -> tuple[BookingStatus, ...]:
        """Bookings that hold the machine. The database refuses two of these (or one and a
        hold, see `occupying`) that overlap on one machine (PostgreSQL: an exclusion
        constraint; SQLite: triggers; migrations 0002 and 0018)."""
        return (cls.CONFIRMED, cls.CHECKED_IN, cls.COMPLETED)

    @classmethod
    def upcoming(cls) -> tuple[BookingStatus, ...]:
        """Bookings still to come or going on: they count towards the quota, can be cancelled
        and checked in."""
        return (cls.CONFIRMED, cls.CHECKED_IN)

    @property
    def is_active(self) -> bool:
        return self in self.active()

    @property
    def is_upcoming(self) -> bool:
        return self in self.upcoming()


class Cancellation(enum.StrEnum):
    """Who cancelled a booking, kept when the people are anonymised (for the statistics)."""

    BY_CITIZEN = "citizen"
    BY_STAFF = "staff"
    OUT_OF_SERVICE = "out_of_service"


# A booking lasts at most a day and its buffer at most a day (equipment constraints; an
# unattended job at most `unattended_max_minutes` <= 1440), so no booking holds a machine
# longer than this; availability queries rely on it to bound scans.
MAX_OCCUPIED_SPAN = timedelta(days=2)



class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="period"),
        CheckConstraint("occupied_until >= end_at", name="occupied_until"),
        Index("ix_bookings_equipment_occupied", "equipment_id", "occupied_until"),
        Index("ix_bookings_user_start", "user_id", "start_at"),
        # the no-show sweep and reminders: open bookings by start
        Index("ix_bookings_status_start", "status", "start_at"),
        # the statistics: a period's bookings, read from the index alone (makerspace/stats);
        # age_band last so that distinct citizens per age band need not visit the table
        Index("ix_bookings_stats", "start_at", "equipment_id", "status", "end_at",
              "citizen_key", "age_band"),
        # the statistics: one person's bookings in a period, so that a period's distinct
        # citizens can be worked out from kept numbers and a few days' bookings
        # (stats/counting.py, count_unseen)
        Index("ix_bookings_people", "citizen_key", "start_at", "equipment_id", "status",
              "age_band"),
        # the statistics: the bookings made since an open period's numbers were kept
        # (stats/counting.py, count_made_since)
        Index("ix_bookings_created_at", "created_at"),
        # the retention sweep: bookings that still name someone, by end
        Index("ix_bookings_named_end", "end_at", postgresql_where=text("user_id IS NOT NULL"),
              sqlite_where=text("user_id IS NOT NULL")),
        # the retention sweep: guest bookings that still name someone, by end
        Index("ix_bookings_guest_end", "end_at",
              postgresql_where=text("guest_name IS NOT NULL"),
              sqlite_where=text("guest_name IS NOT NULL")),
        # the night limit: a branch's unattended jobs by start
        Index("ix_bookings_unattended_start", "start_at", postgresql_where=text("unattended"),
              sqlite_where=text("unattended")),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    # None once anonymised (the account was deleted, or RETENTION_DAYS after the end): the
    # row stays for the statistics, without anyone's name on it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A guest booking (a walk-in without an account) has no user but a name and maybe a
    # phone number, for the branch's staff only; both go with the retention sweep. `is_guest`
    # stays, for the statistics.
    guest_name: Mapped[str | None] = mapped_column(String(200))
    guest_phone: Mapped[str | None] = mapped_column(String(40))
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The booker's age band at the start ("under-16", "16-25", "26-66", "67+"; None: unknown),
    # what the statistics keep of them.
    age_band: Mapped[str | None] = mapped_column(String(10))
    # What the statistics count distinct citizens by (makerspace/stats/keys.py): the same for
    # one person's bookings within a calendar year, and not derivable from the person once
    # the year's salt is gone; None for a booking without an account (a guest booking).
    citizen_key: Mapped[str | None] = mapped_column(String(16))
    # The person's first booking in the county (the statistics' first-time users).
    first_booking: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # end_at plus the machine's buffer (cooling, cleaning) when it was booked.
    occupied_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus, "booking_status"),
                                                  default=BookingStatus.CONFIRMED)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    cancellation: Mapped[Cancellation | None] = mapped_column(
        _enum(Cancellation, "cancellation"))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # Opaque check-in code (base32, 160 random bits) shown as a QR code; no personal data.
    checkin_token: Mapped[str] = mapped_column(String(32), unique=True,
                                               default=new_checkin_token)
    # Goes up on every change that calendar clients must see (iCal SEQUENCE).
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the reminder e-mail was queued (once per booking).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An unattended job (docs/booking.md): starts in staffed hours, may run past closing;
    # end_at is start + the estimated print time (not on the grid), occupied_until its end
    # plus the buffer.
    unattended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    estimated_minutes: Mapped[int | None] = mapped_column(Integer)
    # A re-run of this failed booking (booked with priority: outside the quota). No foreign
    # key: SQLite cannot add one in place, and bookings are anonymised, not deleted.
    rerun_of_id: Mapped[int | None] = mapped_column(Integer)

    equipment: Mapped[Equipment] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    job: Mapped[BookingJob | None] = relationship(back_populates="booking", uselist=False,
                                                  cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def person_name(self) -> str | None:
        """Who the booking is for, for staff: the account's name or the guest's; None once
        anonymised."""
        if self.user is not None:
            return self.user.name
        return self.guest_name


class BookingBlock(db.Model):
    """A person may not make new bookings until `ends_at` (no-shows); staff can lift it."""

    __tablename__ = "booking_blocks"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="period"), SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class JobOutcome(enum.StrEnum):
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"  # stopped early


class BookingJob(db.Model):
    """What happened on the machine during a booking: the job started and ended (and how),
    and the material used with what it cost (makerspace/booking/jobs.py)."""

    __tablename__ = "booking_jobs"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR outcome IS NOT NULL", name="outcome"),
        CheckConstraint("material_amount IS NULL OR material_amount >= 0",
                        name="material_amount"),
        CheckConstraint("material_cost_ore IS NULL OR material_cost_ore >= 0",
                        name="material_cost"),
    )

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"),
                                            primary_key=True, autoincrement=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    # "desk" (staff), "web" (the person), "api", "machine" (the printer reported it)
    started_via: Mapped[str | None] = mapped_column(String(20))
    # active_history on what the statistics count: a change knows the old value
    # (stats.rollup.add_job_change), even of a column not loaded before
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, active_history=True)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ended_via: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[JobOutcome | None] = mapped_column(_enum(JobOutcome, "job_outcome"),
                                                       active_history=True)
    # The material used, in the machine's unit when recorded, and its price then (øre per
    # unit) and cost (øre): a later price change leaves receipts alone.
    material_amount: Mapped[float | None] = mapped_column(Float, active_history=True)
    material_unit: Mapped[MaterialUnit | None] = mapped_column(
        _enum(MaterialUnit, "material_unit"), active_history=True)
    material_name: Mapped[str] = mapped_column(String(60), default="", server_default="")
    material_colour: Mapped[str] = mapped_column(String(60), default="", server_default="")
    material_price_ore: Mapped[int | None] = mapped_column(Integer)
    material_cost_ore: Mapped[int | None] = mapped_column(Integer)
    material_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    material_recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    booking: Mapped[Booking] = relationship(back_populates="job")

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.ended_at is None


class MaterialPrice(db.Model):
    """A branch's price per unit of material for a kind of machine (øre; 0: free). A kind
    without a row is free."""

    __tablename__ = "material_prices"
    __table_args__ = (
        UniqueConstraint("branch_id", "kind"),
        CheckConstraint("price_ore >= 0 AND price_ore <= 1000000", name="price_ore"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    kind: Mapped[EquipmentKind] = mapped_column(_enum(EquipmentKind, "equipment_kind"))
    price_ore: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
