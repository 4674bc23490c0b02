"""A person's own data, to the end: export all of it, delete the account, and the retention
sweep that takes people out of what is old.

What is kept, why and for how long is written down in docs/privacy.md; this module is where
that record is carried out. Every table that refers to a person has an exporter here (a test
derives the list of such tables from the schema and fails when one is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import String, cast, delete, literal, or_, select, update

from makerspace import clock
from makerspace.accounts.invitations import Invitation
from makerspace.accounts.models import User, UserSession, branch_staff
from makerspace.accounts.services import check_it_is_them
from makerspace.booking.guardians import ConsentStatus, GuardianConsent, consents_of
from makerspace.booking.models import (
    Booking,
    BookingBlock,
    BookingJob,
    BookingStatus,
    EquipmentOutage,
)
from makerspace.booking.services import cancel_booking
from makerspace.branches.models import Branch
from makerspace.certifications.models import UserCertification
from makerspace.core.audit import AuditEntry
from makerspace.events.models import Event, Signup, SignupStatus
from makerspace.events.services import leave
from makerspace.extensions import db
from makerspace.identity.models import Identity
from makerspace.loans.models import Loan, LoanStatus
from makerspace.loans.services import cancel_loan
from makerspace.machines.models import MachineJob
from makerspace.mail.links import with_link
from makerspace.mail.messages import preview
from makerspace.mail.models import OutboxMessage, OutboxStatus
from makerspace.stats.models import StatsSubscription
from makerspace.waits.models import SlotWait
from makerspace.waits.services import forget_waits_of

# What an anonymised booking or sign-up has instead of a check-in code: never 32 base32
# characters, so no scan finds it.
ANONYMOUS_TOKEN_PREFIX = "anon-"  # noqa: S105  (a marker, not a secret)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _roles(row: Any, user_id: int, columns: dict[str, str]) -> list[str]:
    """Which of a row's person columns name this person (e.g. ["booker", "cancelled_by"])."""
    return [role for column, role in columns.items() if getattr(row, column) == user_id]


def _rows(model: Any, user_id: int, columns: dict[str, str], order: Any) -> list[Any]:
    where = or_(*(getattr(model, column) == user_id for column in columns))
    return list(db.session.scalars(select(model).where(where).order_by(order)))


# -- export -------------------------------------------------------------------------------

BOOKING_PEOPLE = {"user_id": "booker", "created_by_id": "booked_by",
                  "cancelled_by_id": "cancelled_by", "checked_in_by_id": "checked_in_by"}
SIGNUP_PEOPLE = {"user_id": "participant", "created_by_id": "signed_up_by",
                 "attendance_marked_by_id": "attendance_marked_by"}
BLOCK_PEOPLE = {"user_id": "blocked", "created_by_id": "blocked_by", "lifted_by_id": "lifted_by"}
GRANT_PEOPLE = {"user_id": "holder", "granted_by_id": "granted_by"}
LOAN_PEOPLE = {"user_id": "borrower", "picked_up_by_id": "handed_over_by",
               "returned_by_id": "taken_back_by"}
AUDIT_PEOPLE = {"subject_user_id": "subject", "actor_id": "actor"}


def _bookings(user: User) -> list[dict[str, Any]]:
    found = []
    for b in _rows(Booking, user.id, BOOKING_PEOPLE, Booking.start_at):
        roles = _roles(b, user.id, BOOKING_PEOPLE)
        row = {"id": b.id, "you_are": roles, "machine": b.equipment.name,
               "library": b.equipment.branch.name, "start": _iso(b.start_at),
               "end": _iso(b.end_at), "status": b.status.value}
        if "booker" in roles:  # someone else's booking: only what the person did to it
            row |= {"created_at": _iso(b.created_at), "checked_in_at": _iso(b.checked_in_at),
                    "cancelled_at": _iso(b.cancelled_at),
                    "cancel_reason": b.cancel_reason or None, "age_band": b.age_band}
        found.append(row)
    return found


def _signups(user: User) -> list[dict[str, Any]]:
    found = []
    for s in _rows(Signup, user.id, SIGNUP_PEOPLE, Signup.created_at):
        roles = _roles(s, user.id, SIGNUP_PEOPLE)
        row = {"id": s.id, "you_are": roles, "event": s.event.title,
               "library": s.event.branch.name, "start": _iso(s.event.start_at),
               "status": s.status.value}
        if "participant" in roles:
            row |= {"created_at": _iso(s.created_at), "attended_at": _iso(s.attended_at),
                    "cancelled_at": _iso(s.cancelled_at), "age_band": s.age_band}
        found.append(row)
    return found


def _loans(user: User) -> list[dict[str, Any]]:
    found = []
    for loan in _rows(Loan, user.id, LOAN_PEOPLE, Loan.pickup_date):
        roles = _roles(loan, user.id, LOAN_PEOPLE)
        row = {"id": loan.id, "you_are": roles, "kit": loan.equipment.name,
               "library": loan.equipment.branch.name,
               "pickup_date": loan.pickup_date.isoformat(),
               "return_date": loan.return_date.isoformat(), "status": loan.status.value,
               "picked_up_at": _iso(loan.picked_up_at), "returned_at": _iso(loan.returned_at)}
        if "borrower" in roles:  # staff who handed it over see only what they did
            row |= {"created_at": _iso(loan.created_at), "cancelled_at": _iso(loan.cancelled_at),
                    "condition": loan.condition.value if loan.condition else None,
                    "return_note": loan.return_note or None}
        found.append(row)
    return found


def _blocks(user: User) -> list[dict[str, Any]]:
    found = []
    for b in _rows(BookingBlock, user.id, BLOCK_PEOPLE, BookingBlock.starts_at):
        roles = _roles(b, user.id, BLOCK_PEOPLE)
        row = {"id": b.id, "you_are": roles, "from": _iso(b.starts_at), "until": _iso(b.ends_at),
               "lifted_at": _iso(b.lifted_at)}
        if "blocked" in roles:
            row["reason"] = b.reason
        found.append(row)
    return found


def _certifications(user: User) -> list[dict[str, Any]]:
    found = []
    for h in _rows(UserCertification, user.id, GRANT_PEOPLE, UserCertification.granted_at):
        roles = _roles(h, user.id, GRANT_PEOPLE)
        branch = db.session.get(Branch, h.branch_id) if h.branch_id else None
        row = {"you_are": roles, "certification": h.certification.name,
               "granted_at": _iso(h.granted_at), "library": branch.name if branch else None}
        if "holder" in roles:
            row |= {"expires_at": _iso(h.expires_at), "note": h.note,
                    "granted_by": h.granted_by.name if h.granted_by else None}
        found.append(row)
    return found


def _audit(user: User) -> list[dict[str, Any]]:
    return [{"at": _iso(e.at), "action": e.action.value, "you_are": _roles(e, user.id,
                                                                         AUDIT_PEOPLE),
             "booking": e.booking_id, "signup": e.signup_id, "detail": e.detail}
            for e in _rows(AuditEntry, user.id, AUDIT_PEOPLE, AuditEntry.at)]


def _outbox(user: User) -> list[dict[str, Any]]:
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id)
                                  .order_by(OutboxMessage.created_at))
    note = "[personal link, made when sent]"
    exported = []
    for m in messages:
        text, _html, files = preview(m)  # one not written yet: what it would say now
        exported.append({"kind": m.kind, "to": m.to_email, "subject": m.subject,
                         "status": m.status.value, "created_at": _iso(m.created_at),
                         "sent_at": _iso(m.sent_at), "text": with_link(text, note),
                         "attachments": files})
    return exported


def _outages(user: User) -> list[dict[str, Any]]:
    return [{"machine": o.equipment.name, "from": _iso(o.start_at), "until": _iso(o.end_at),
             "reason": o.reason, "you_are": ["created_by"]}
            for o in db.session.scalars(select(EquipmentOutage).where(
                EquipmentOutage.created_by_id == user.id).order_by(EquipmentOutage.start_at))]


def _invitations(user: User) -> list[dict[str, Any]]:
    """Invitations the person sent (as an admin) or got (to their address)."""
    rows = db.session.scalars(select(Invitation).where(or_(
        Invitation.invited_by_id == user.id, Invitation.email == user.email))
        .order_by(Invitation.created_at))
    return [{"email": i.email, "role": i.role.value, "created_at": _iso(i.created_at),
             "accepted_at": _iso(i.accepted_at),
             "you_are": ["invited_by"] if i.invited_by_id == user.id else ["invited"]}
            for i in rows]


def _branches(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(select(Branch.slug, Branch.name).join(
        branch_staff, branch_staff.c.branch_id == Branch.id).where(
        branch_staff.c.user_id == user.id).order_by(Branch.name))
    return [{"library": slug, "name": name} for slug, name in rows]


def _tokens(user: User) -> list[dict[str, Any]]:
    return [{"name": t.name, "created_at": _iso(t.created_at)} for t in user.api_tokens]


def _identities(user: User) -> list[dict[str, Any]]:
    # Which kind of log-in and when; the card's hash and the provider's subject stay here.
    return [{"kind": i.kind.value, "provider": i.provider, "created_at": _iso(i.created_at),
             "last_used_at": _iso(i.last_used_at), "card_blocked": i.blocked_message}
            for i in db.session.scalars(select(Identity).where(
                Identity.user_id == user.id).order_by(Identity.created_at))]


def _sessions(user: User) -> list[dict[str, Any]]:
    return [{"created_at": _iso(s.created_at), "expires_at": _iso(s.expires_at)}
            for s in db.session.scalars(select(UserSession).where(
                UserSession.user_id == user.id).order_by(UserSession.created_at))]


# One exporter per table that refers to a person; the keys are the tables' names.
def _stats_subscriptions(user: User) -> list[dict[str, Any]]:
    found = db.session.get(StatsSubscription, user.id)
    return [{"monthly_summary": True, "created_at": _iso(found.created_at)}] if found else []


def _slot_waits(user: User) -> list[dict[str, Any]]:
    return [{"id": w.id, "equipment": w.equipment.name, "branch": w.equipment.branch.slug,
             "start": _iso(w.start_at), "end": _iso(w.end_at), "created_at": _iso(w.created_at),
             "hold_expires_at": _iso(w.hold_expires_at)}
            for w in db.session.scalars(select(SlotWait).where(SlotWait.user_id == user.id)
                                        .order_by(SlotWait.start_at, SlotWait.id))]


EXPORTERS: dict[str, Callable[[User], list[dict[str, Any]]]] = {
    "api_tokens": _tokens,
    "audit_entries": _audit,
    "booking_blocks": _blocks,
    "bookings": _bookings,
    "branch_staff": _branches,
    "equipment_outages": _outages,
    "identities": _identities,
    "invitations": _invitations,
    "loans": _loans,
    "outbox_messages": _outbox,
    "signups": _signups,
    "slot_waits": _slot_waits,
    "stats_subscriptions": _stats_subscriptions,
    "user_certifications": _certifications,
    "user_sessions": _sessions,
}


def _guardian_consents(user: User) -> list[dict[str, Any]]:
    return [{"equipment_id": c.equipment_id, "event_id": c.event_id, "series_id": c.series_id,
             "guardian_email": c.guardian_email,
             "status": c.status.value, "requested_at": _iso(c.requested_at),
             "expires_at": _iso(c.expires_at), "answered_at": _iso(c.answered_at)}
            for c in consents_of(user)]


EXPORTERS["guardian_consents"] = _guardian_consents


def _booking_jobs(user: User) -> list[dict[str, Any]]:
    """Jobs on the person's bookings, and jobs they started or ended (as staff)."""
    jobs = db.session.scalars(select(BookingJob).join(Booking).where(or_(
        Booking.user_id == user.id, BookingJob.started_by_id == user.id,
        BookingJob.ended_by_id == user.id)).order_by(BookingJob.booking_id))
    return [{"booking_id": j.booking_id, "started_at": _iso(j.started_at),
             "started_via": j.started_via, "ended_at": _iso(j.ended_at),
             "ended_via": j.ended_via, "outcome": j.outcome.value if j.outcome else None,
             "material_amount": j.material_amount,
             "material_unit": j.material_unit.value if j.material_unit else None,
             "material_name": j.material_name, "material_colour": j.material_colour,
             "material_cost_ore": j.material_cost_ore} for j in jobs]


EXPORTERS["booking_jobs"] = _booking_jobs


def _machine_jobs(user: User) -> list[dict[str, Any]]:
    """What the person's machines reported during their bookings: the job's name (often a
    file name the person chose) and how it went."""
    jobs = db.session.scalars(select(MachineJob).join(Booking).where(
        Booking.user_id == user.id).order_by(MachineJob.started_at, MachineJob.id))
    return [{"booking_id": j.booking_id, "job_name": j.remote_key or None,
             "state": j.state.value, "started_at": _iso(j.started_at),
             "ended_at": _iso(j.ended_at), "progress": j.progress,
             "filament_grams": j.filament_grams} for j in jobs]


EXPORTERS["machine_jobs"] = _machine_jobs


def export_personal_data(user: User) -> dict[str, Any]:
    """Everything Folkeverksted keeps about a person, table by table, as plain data. Secrets
    (password hash, token hashes, check-in codes) are left out: they are not information
    about the person, and they must not leave the house."""
    return {
        "account": {"email": user.email, "name": user.name, "birth_year": user.birth_year,
                    "role": user.role.value, "language": user.locale,
                    "home_library": user.home_branch.slug if user.home_branch else None,
                    "created_at": _iso(user.created_at),
                    "email_verified_at": _iso(user.email_verified_at)},
        **{table: export(user) for table, export in EXPORTERS.items()},
    }


# -- anonymising and deleting -------------------------------------------------------------

def _anonymous_token(model: Any) -> Any:
    return literal(ANONYMOUS_TOKEN_PREFIX) + cast(model.id, String)


def anonymise_bookings(*conditions: Any) -> int:
    """Take the person out of the bookings matching `conditions`: who booked, why it was
    cancelled and the check-in code go; machine, times, status, age band and how it was
    cancelled stay for the statistics."""
    result = db.session.execute(
        update(Booking).where(Booking.user_id.is_not(None), *conditions)
        .values(user_id=None, cancel_reason="", checkin_token=_anonymous_token(Booking))
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def anonymise_guest_bookings(*conditions: Any) -> int:
    """The same for guest bookings (walk-ins without an account): the guest's name and phone
    number and the check-in code go; `is_guest` stays for the statistics."""
    result = db.session.execute(
        update(Booking).where(Booking.guest_name.is_not(None), *conditions)
        .values(guest_name=None, guest_phone=None, cancel_reason="",
                checkin_token=_anonymous_token(Booking))
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def anonymise_signups(*conditions: Any) -> int:
    """The same for sign-ups: event, status, attendance and age band stay."""
    result = db.session.execute(
        update(Signup).where(Signup.user_id.is_not(None), *conditions)
        .values(user_id=None, checkin_token=_anonymous_token(Signup))
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def anonymise_loans(*conditions: Any) -> int:
    """Take the borrower out of the loans matching `conditions`: kit, days, status and what
    came back damaged stay (for the kit's own history); the note and the code go."""
    result = db.session.execute(
        update(Loan).where(Loan.user_id.is_not(None), *conditions)
        .values(user_id=None, return_note="", checkin_token=_anonymous_token(Loan))
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def forget_job_names(*conditions: Any) -> int:
    """Blank the names (file names) of the ended machine jobs matching `conditions`; state,
    times and filament stay. An open job keeps its name: the poller tells jobs apart by it."""
    result = db.session.execute(
        update(MachineJob).where(MachineJob.ended_at.is_not(None), MachineJob.remote_key != "",
                                 *conditions)
        .values(remote_key="").execution_options(synchronize_session=False))
    return result.rowcount or 0


def _audit_without_people(*conditions: Any, **columns: None) -> int:
    """Keep the audit entries, without the people in them (the columns given)."""
    result = db.session.execute(
        update(AuditEntry).where(*conditions).values(**columns)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def delete_account(user: User, *, password: str | None) -> None:
    """Delete a person's account after they confirm with their password (or, without one, a
    fresh log-in). Their seats go to
    the waitlist and their upcoming bookings are cancelled first; then their bookings and
    sign-ups are anonymised, the audit log forgets them, and everything else about them
    (e-mail sent and unsent, blocks, certifications, tokens, sessions) is deleted."""
    check_it_is_them(user, password=password)
    now = clock.now()
    for signup in db.session.scalars(select(Signup).where(
            Signup.user_id == user.id, Signup.status.in_(SignupStatus.live()))).all():
        leave(signup, by=user)  # a freed seat goes to the first on the waitlist
    for booking in db.session.scalars(select(Booking).where(
            Booking.user_id == user.id, Booking.status == BookingStatus.CONFIRMED,
            Booking.start_at > now)).all():
        cancel_booking(booking, by=user)
    for loan in db.session.scalars(select(Loan).where(
            Loan.user_id == user.id, Loan.status == LoanStatus.RESERVED)).all():
        cancel_loan(loan, by=user)  # the copy goes back to the pool
    forget_waits_of(user)  # a time held for them goes to the next person waiting
    db.session.flush()
    forget_job_names(MachineJob.booking_id.in_(select(Booking.id).where(
        Booking.user_id == user.id)))
    anonymise_bookings(Booking.user_id == user.id)
    # A kit still out stays on the library's desk list as out, without the name.
    anonymise_loans(Loan.user_id == user.id)
    anonymise_signups(Signup.user_id == user.id)
    _audit_without_people(AuditEntry.subject_user_id == user.id, subject_user_id=None)
    _audit_without_people(AuditEntry.actor_id == user.id, actor_id=None)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id))
    db.session.execute(delete(BookingBlock).where(BookingBlock.user_id == user.id))
    db.session.execute(delete(GuardianConsent).where(GuardianConsent.user_id == user.id))
    db.session.execute(delete(Invitation).where(Invitation.email == user.email))
    db.session.expire_all()  # the bulk statements above bypassed the identity map
    db.session.delete(db.session.get(User, user.id))
    db.session.flush()


# -- retention ----------------------------------------------------------------------------

@dataclass
class RetentionReport:
    bookings: int = 0
    signups: int = 0
    loans: int = 0
    messages: int = 0
    audit_entries: int = 0
    blocks: int = 0
    sessions: int = 0
    job_names: int = 0

    def summary(self) -> str:
        return (f"retention: {self.bookings} booking(s), {self.signups} sign-up(s) and "
                f"{self.loans} loan(s) anonymised, {self.messages} e-mail(s), "
                f"{self.blocks} block(s) and "
                f"{self.sessions} session(s) deleted, {self.audit_entries} audit entr(y/ies) "
                f"without names, {self.job_names} machine job name(s) removed.")


def _days(name: str) -> timedelta:
    return timedelta(days=int(current_app.config[name]))


def sweep_retention(now: datetime | None = None) -> RetentionReport:
    """Carry out the retention times of docs/privacy.md (run by `flask tick`; idempotent)."""
    now = now or clock.now()
    ended_before = now - _days("RETENTION_DAYS")
    ended_events = select(Event.id).where(Event.end_at < ended_before)
    report = RetentionReport(
        bookings=anonymise_bookings(Booking.end_at < ended_before)
        + anonymise_guest_bookings(Booking.end_at < ended_before),
        signups=anonymise_signups(Signup.event_id.in_(ended_events)),
        # Never a kit still out: the library must know who has it.
        loans=anonymise_loans(Loan.status != LoanStatus.PICKED_UP,
                              Loan.return_date < ended_before.date()),
        audit_entries=_audit_without_people(
            AuditEntry.at < now - _days("AUDIT_RETENTION_DAYS"),
            or_(AuditEntry.subject_user_id.is_not(None), AuditEntry.actor_id.is_not(None)),
            subject_user_id=None, actor_id=None),
    )
    # A job's name (a file name) goes when its booking is anonymised; so does the name of a
    # job that ran without a booking, after as long.
    report.job_names = forget_job_names(MachineJob.ended_at < ended_before)
    report.messages = db.session.execute(delete(OutboxMessage).where(
        OutboxMessage.status != OutboxStatus.PENDING,
        OutboxMessage.created_at < now - _days("OUTBOX_RETENTION_DAYS"))).rowcount or 0
    # A consent no longer live (withdrawn, expired) is kept as long as a booking is.
    db.session.execute(delete(GuardianConsent).where(
        GuardianConsent.status.not_in(ConsentStatus.live()),
        GuardianConsent.answered_at.is_(None) | (GuardianConsent.answered_at < ended_before),
        GuardianConsent.expires_at < ended_before))
    report.blocks = db.session.execute(delete(BookingBlock).where(
        BookingBlock.ends_at < ended_before)).rowcount or 0
    report.sessions = db.session.execute(delete(UserSession).where(
        UserSession.expires_at <= now)).rowcount or 0
    # An invitation names an address: gone once it has been used or expired for a while.
    db.session.execute(delete(Invitation).where(
        Invitation.expires_at < now - _days("OUTBOX_RETENTION_DAYS")))
    db.session.flush()
    return report

