"""The audit log: who did what to whom, and when; shared by every area.

Kept for a year with the people in it (AUDIT_RETENTION_DAYS); after that, and when an account
is deleted, the entry stays and the people are taken out of it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum, ForeignKey, Index, String, insert
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
    # A job started on the machine within the check-in window (makerspace/machines).
    STARTED_ON_MACHINE = "started_on_machine"
    # Staff overriding a rule, each with a reason in `detail` (the librarian's desk).
    QUOTA_OVERRIDDEN = "quota_overridden"
    CHECKED_IN_EARLY = "checked_in_early"
    CHECKED_IN_LATE = "checked_in_late"
    SEAT_OUT_OF_TURN = "seat_out_of_turn"
    GUEST_BOOKED = "guest_booked"
    ADDED_AT_DOOR = "added_at_door"
    # Kits lent for days: handed over and taken back at the desk.
    LOAN_PICKED_UP = "loan_picked_up"
    LOAN_LENT_AT_DESK = "loan_lent_at_desk"
    LOAN_RETURNED = "loan_returned"
    # Jobs on machines (booking/jobs.py); `detail` says how and by what way.
    JOB_STARTED = "job_started"
    JOB_ENDED = "job_ended"
    MATERIAL_RECORDED = "material_recorded"
    MATERIAL_PRICE_SET = "material_price_set"
    # Machines and branches.
    EQUIPMENT_RETIRED = "equipment_retired"
    BRANCH_CLOSED = "branch_closed"
    BRANCH_REOPENED = "branch_reopened"
    # Staff and roles.
    STAFF_INVITED = "staff_invited"
    INVITATION_ACCEPTED = "invitation_accepted"
    BRANCH_ASSIGNED = "branch_assigned"
    BRANCH_UNASSIGNED = "branch_unassigned"
    ROLE_CHANGED = "role_changed"
    EMAIL_VERIFIED = "email_verified"  # staff confirmed a person's address at the desk

    @classmethod
    def overrides(cls) -> tuple[AuditAction, ...]:
        """Rules staff set aside, with a reason: shown as such on the desk's pages."""
        return (cls.QUOTA_OVERRIDDEN, cls.CHECKED_IN_EARLY, cls.CHECKED_IN_LATE,
                cls.SEAT_OUT_OF_TURN)


# How the desk's pages name an override (the reason follows).
OVERRIDE_LABELS = {
    "quota_overridden": _l("Booked past the quota"),
    "checked_in_early": _l("Checked in early"),
    "checked_in_late": _l("Checked in late"),
    "seat_out_of_turn": _l("Seat given out of turn"),
}

# How the staff page names a change to staff and roles (the detail follows).
STAFF_ACTION_LABELS = {
    "staff_invited": _l("Invited"),
    "invitation_accepted": _l("Invitation accepted"),
    "branch_assigned": _l("Library added"),
    "branch_unassigned": _l("Library removed"),
    "role_changed": _l("Role changed"),
}


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
           at: datetime | None = None) -> None:
    """Add an entry to the log in the caller's transaction, at once: one INSERT, after the
    session's pending changes (the booking or person it names) are flushed. No object is
    made: nothing reads an entry back in the transaction that writes it, and the unit of
    work's flush of an entry cost as much as the rest of a scan."""
    db.session.execute(_INSERT_ENTRY, {
        "at": at or clock.now(), "action": action, "actor_id": actor_id,
        "subject_user_id": subject_user_id, "booking_id": booking_id,
        "signup_id": signup_id, "detail": detail[:500]})


_INSERT_ENTRY = insert(AuditEntry.__table__)
