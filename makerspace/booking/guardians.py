"""A guardian's consent for young makers (issue 20): a machine or a course may need it below
an age (`Equipment.guardian_consent_under`, `Event.guardian_consent_under`). The young person
names a guardian's e-mail address; the guardian gets a link (through the outbox) and consents
once per person and machine, or per person and course (a weekly series counts as one course);
that consent covers every later booking of the machine, or every sign-up for the course,
until the guardian withdraws it. This module is the one place for the rule: the booking and
events services ask it, and the pages and the API show what `consent_state()` answers.

A booking made while the consent is pending is a normal `confirmed` row, so it holds the slot
(the database's overlap guard sees it) and counts towards the quota; what makes it pending is
the consent, and `consent_state()` says so to the pages and the API. If the guardian does not
answer by `expires_at` (CONSENT_WAIT, at most until the booking starts), `expire_consents`
cancels the bookings it covered; withdrawing cancels the person's bookings of that machine
that have not started yet.

Sign-ups for a course work the same way: a sign-up made while the consent is pending is an
ordinary `confirmed` (or `waitlisted`) row, so it takes its seat at once and the course can
never be overbooked (the event row lock in events/services.py counts it); it shows no check-in
code and the desk refuses it until the guardian agrees. A course's guardian has
COURSE_CONSENT_WAIT (at most until the course starts) so that an unanswered request does not
keep a seat from the waitlist for long; expiry or withdrawal cancels the sign-ups and gives
the freed seats to the waitlist."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.booking import errors
from makerspace.booking.models import Booking, BookingStatus, Cancellation, Equipment
from makerspace.core import signals
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.errors import NotFound
from makerspace.events.models import Event, EventSeries, Signup, SignupStatus
from makerspace.extensions import db

# How long a guardian has to answer (never past the start of the booking that asked).
CONSENT_WAIT = timedelta(days=7)
# A course's seat is scarcer than a machine's hour: a shorter wait (never past the start).
COURSE_CONSENT_WAIT = timedelta(days=3)
CONSENT_SALT = "folkeverksted.guardian-consent"
WITHDRAWN_REASON = _l("The guardian withdrew their consent.")
EXPIRED_REASON = _l("The guardian did not answer in time.")


class ConsentStatus(enum.StrEnum):
    PENDING = "pending"
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"

    @classmethod
    def live(cls) -> tuple[ConsentStatus, ...]:
        return (cls.PENDING, cls.GIVEN)


LIVE = "status IN ('pending', 'given')"
TARGET = " + ".join(f"CASE WHEN {c} IS NULL THEN 0 ELSE 1 END"
                   for c in ("equipment_id", "event_id", "series_id")) + " = 1"


class GuardianConsent(db.Model):
    __tablename__ = "guardian_consents"
    __table_args__ = (
        # One live consent (asked or given) per person and machine, course or series; a second
        # booking or sign-up reuses it.
        Index("uq_guardian_consents_live", "user_id", "equipment_id", unique=True,
              postgresql_where=text(LIVE), sqlite_where=text(LIVE)),
        Index("uq_guardian_consents_live_event", "user_id", "event_id", unique=True,
              postgresql_where=text(LIVE), sqlite_where=text(LIVE)),
        Index("uq_guardian_consents_live_series", "user_id", "series_id", unique=True,
              postgresql_where=text(LIVE), sqlite_where=text(LIVE)),
        CheckConstraint("expires_at > requested_at", name="expiry"),
        # What it is for: exactly one machine, one course, or one weekly series.
        CheckConstraint(TARGET, name="target"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE"))
    # A course (one event), or every occurrence of a weekly series (event/series.py).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_series.id", ondelete="CASCADE"))
    # Personal data of the guardian: in the person's export, gone with the account or by the
    # retention sweep once the consent is no longer live (makerspace/privacy).
    guardian_email: Mapped[str] = mapped_column(String(254))
    status: Mapped[ConsentStatus] = mapped_column(
        Enum(ConsentStatus, name="guardian_consent_status", native_enum=False,
             create_constraint=True, length=20,
             values_callable=lambda cls: [m.value for m in cls]),
        default=ConsentStatus.PENDING)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    equipment: Mapped[Equipment | None] = relationship()
    event: Mapped[Event | None] = relationship()
    series: Mapped[EventSeries | None] = relationship()

    @property
    def for_course(self) -> bool:
        return self.equipment_id is None


def consent_needed(user: User, equipment: Equipment | Event, start: datetime) -> bool:
    """The machine or course asks a guardian below its age, and the person is below it (or
    their age is unknown) at the start."""
    under = equipment.guardian_consent_under
    if under is None:
        return False
    age = user.age_in(start)
    return age is None or age < under


def live_consent(user_id: int, equipment_id: int) -> GuardianConsent | None:
    return db.session.scalar(select(GuardianConsent).where(
        GuardianConsent.user_id == user_id, GuardianConsent.equipment_id == equipment_id,
        GuardianConsent.status.in_(ConsentStatus.live())))


def _clean_email(value: str | None) -> str | None:
    email = (value or "").strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or " " in email:
        return None
    return email


def check_guardian_email(*, user: User, equipment: Equipment, start: datetime,
                         guardian_email: str | None) -> None:
    """What ask_for_booking would refuse, changing nothing (the booking's preview step)."""
    if consent_needed(user, equipment, start) and live_consent(user.id, equipment.id) is None:
        email = _clean_email(guardian_email)
        if email is None or email == (user.email or "").lower():
            raise errors.GuardianConsentRequired(field="guardian_email")


def ask_for_booking(*, user: User, equipment: Equipment, start: datetime,
                    guardian_email: str | None, now: datetime) -> GuardianConsent | None:
    """Before a booking is added: None when no consent is needed; the given or pending consent
    that covers it; or a new pending one (the guardian is e-mailed). Raises
    GuardianConsentRequired when one is needed and no usable address was given."""
    if not consent_needed(user, equipment, start):
        return None
    consent = live_consent(user.id, equipment.id)
    if consent is not None:
        if consent.status == ConsentStatus.PENDING:  # a later booking: answer by its start too
            consent.expires_at = min(consent.expires_at, max(start, now + timedelta(minutes=1)))
        return consent
    email = _clean_email(guardian_email)
    if email is None or email == (user.email or "").lower():
        raise errors.GuardianConsentRequired(field="guardian_email")
    consent = GuardianConsent(user=user, equipment=equipment, guardian_email=email,
                              status=ConsentStatus.PENDING, requested_at=now,
                              expires_at=max(min(now + CONSENT_WAIT, start),
                                             now + timedelta(minutes=1)))
    db.session.add(consent)
    db.session.flush()
    signals.guardian_consent_requested.send(consent)
    return consent


def consent_state(item: Booking | Signup) -> str | None:
    """"pending" or "given" for a booking or sign-up that needs a guardian's consent
    ("withdrawn" for one cancelled by that); None otherwise."""
    if isinstance(item, Signup):
        return _signup_consent_state(item)
    booking = item
    if booking.user_id is None or booking.equipment.guardian_consent_under is None:
        return None
    if booking.user is None or not consent_needed(booking.user, booking.equipment,
                                                  booking.start_at):
        return None
    consent = live_consent(booking.user_id, booking.equipment_id)
    if consent is None:
        return ConsentStatus.WITHDRAWN.value if booking.status == BookingStatus.CANCELLED \
            else None
    return consent.status.value


def is_pending(item: Booking | Signup) -> bool:
    return consent_state(item) == ConsentStatus.PENDING.value


def _covered_bookings(consent: GuardianConsent, now: datetime, *,
                      unended: bool = False) -> list[Booking]:
    """The person's bookings of the machine that have not started yet (`unended`: or not
    ended: a booking never consented to must not go on)."""
    moment = Booking.end_at if unended else Booking.start_at
    return list(db.session.scalars(select(Booking).where(
        Booking.user_id == consent.user_id, Booking.equipment_id == consent.equipment_id,
        Booking.status == BookingStatus.CONFIRMED, moment > now)
        .order_by(Booking.start_at)))


def covered_bookings(consent: GuardianConsent) -> list[Booking]:
    """What the consent covers now: the person's bookings of the machine still to come."""
    if consent.status not in ConsentStatus.live() or consent.for_course:
        return []
    return _covered_bookings(consent, clock.now())


def give_consent(consent: GuardianConsent) -> list[Booking]:
    """The guardian agrees: the pending bookings are confirmed (the person is e-mailed)."""
    now = clock.now()
    db.session.refresh(consent, with_for_update=True)  # against a withdrawal at the same time
    if consent.status == ConsentStatus.GIVEN:
        return []  # a second click changes nothing
    if consent.status != ConsentStatus.PENDING or consent.expires_at <= now:
        raise ConsentClosed()
    consent.status, consent.answered_at = ConsentStatus.GIVEN, now
    if consent.for_course:
        signups = _covered_signups(consent, now)
        db.session.flush()
        signals.guardian_consent_given.send(consent, bookings=[], signups=signups)
        return []
    bookings = _covered_bookings(consent, now)
    db.session.flush()
    signals.guardian_consent_given.send(consent, bookings=bookings, signups=[])
    return bookings


def _cancel_covered(consent: GuardianConsent, now: datetime, reason: object, *,
                    unended: bool = False) -> list[Booking]:
    """Cancel the bookings a machine's consent covered. A course's sign-ups are the events
    area's to release (a freed seat goes to its waitlist): `_withdrawn` asks it."""
    if consent.for_course:
        return []
    bookings = _covered_bookings(consent, now, unended=unended)
    for booking in bookings:
        booking.status = BookingStatus.CANCELLED
        booking.sequence += 1
        booking.cancelled_at = now
        booking.cancelled_by_id = None
        booking.cancel_reason = str(reason)
        booking.cancellation = Cancellation.BY_CITIZEN
    return bookings


def withdraw_consent(consent: GuardianConsent) -> list[Booking]:
    """The guardian takes it back (asked or given): the person's bookings of the machine, or
    sign-ups for the course, that have not started are cancelled (a freed seat goes to the
    waitlist); a new booking or sign-up needs a new consent."""
    now = clock.now()
    db.session.refresh(consent, with_for_update=True)
    if consent.status not in ConsentStatus.live():
        return []
    consent.status, consent.answered_at = ConsentStatus.WITHDRAWN, now
    bookings = _cancel_covered(consent, now, WITHDRAWN_REASON)
    _withdrawn(consent, now, bookings, unended=False)
    return bookings


def expire_consents(now: datetime | None = None) -> int:
    """Pending consents nobody answered in time: expired, their bookings cancelled (run by
    `flask tick`)."""
    now = now or clock.now()
    consents = list(db.session.scalars(select(GuardianConsent).where(
        GuardianConsent.status == ConsentStatus.PENDING, GuardianConsent.expires_at <= now)
        .order_by(GuardianConsent.id).with_for_update(skip_locked=True)))
    for consent in consents:
        consent.status = ConsentStatus.EXPIRED
        bookings = _cancel_covered(consent, now, EXPIRED_REASON, unended=True)
        _withdrawn(consent, now, bookings, unended=True)
    return len(consents)


def _withdrawn(consent: GuardianConsent, now: datetime, bookings: list[Booking], *,
               unended: bool) -> None:
    """Say that a consent no longer holds, with the bookings cancelled and, for a course,
    the sign-ups it covered: the events area releases those in the same transaction
    (events.services.connect)."""
    db.session.flush()
    signups = _covered_signups(consent, now, unended=unended) if consent.for_course else []
    signals.guardian_consent_withdrawn.send(consent, bookings=bookings, signups=signups,
                                            now=now)


# -- courses ---------------------------------------------------------------------------------

def _course_target(event: Event) -> dict[str, int]:
    """A weekly series is one course: one consent covers all its occurrences."""
    return {"series_id": event.series_id} if event.series_id is not None \
        else {"event_id": event.id}


def live_course_consent(user_id: int, event: Event) -> GuardianConsent | None:
    (column, value), = _course_target(event).items()
    return db.session.scalar(select(GuardianConsent).where(
        GuardianConsent.user_id == user_id, getattr(GuardianConsent, column) == value,
        GuardianConsent.status.in_(ConsentStatus.live())))


def check_signup_email(*, user: User, event: Event, guardian_email: str | None) -> None:
    """What ask_for_signup would refuse, changing nothing (the sign-up form shows the field)."""
    if consent_needed(user, event, event.start_at) \
            and live_course_consent(user.id, event) is None:
        email = _clean_email(guardian_email)
        if email is None or email == (user.email or "").lower():
            raise errors.GuardianConsentRequired(field="guardian_email")


def ask_for_signup(*, user: User, event: Event, guardian_email: str | None,
                   now: datetime) -> GuardianConsent | None:
    """Before a sign-up is added (the event row locked): None when no consent is needed; the
    given or pending consent for the course or series; or a new pending one (the guardian is
    e-mailed). Raises GuardianConsentRequired when one is needed and no usable address was
    given."""
    if not consent_needed(user, event, event.start_at):
        return None
    answer_by = max(min(now + COURSE_CONSENT_WAIT, event.start_at), now + timedelta(minutes=1))
    consent = live_course_consent(user.id, event)
    if consent is not None:
        if consent.status == ConsentStatus.PENDING:  # a later date: answer by its start too
            consent.expires_at = min(consent.expires_at, answer_by)
        return consent
    check_signup_email(user=user, event=event, guardian_email=guardian_email)
    consent = GuardianConsent(user=user, guardian_email=_clean_email(guardian_email),
                              status=ConsentStatus.PENDING, requested_at=now,
                              expires_at=answer_by, **_course_target(event))
    db.session.add(consent)
    db.session.flush()
    signals.guardian_consent_requested.send(consent)
    return consent


def _signup_consent_state(signup: Signup) -> str | None:
    event = signup.event
    if event.guardian_consent_under is None or signup.user is None \
            or not consent_needed(signup.user, event, event.start_at):
        return None
    consent = live_course_consent(signup.user.id, event)
    if consent is None:
        return ConsentStatus.WITHDRAWN.value if signup.status == SignupStatus.CANCELLED \
            else None
    return consent.status.value


def _covered_signups(consent: GuardianConsent, now: datetime, *,
                     unended: bool = False) -> list[Signup]:
    """The person's live sign-ups for the course (each date of the series) that have not
    started (`unended`: or not ended)."""
    moment = Event.end_at if unended else Event.start_at
    target = (Event.series_id == consent.series_id if consent.series_id is not None
              else Event.id == consent.event_id)
    return list(db.session.scalars(select(Signup).join(Event).where(
        Signup.user_id == consent.user_id, target, Signup.status.in_(SignupStatus.live()),
        moment > now).order_by(Event.start_at, Signup.id)))


def consent_course(consent: GuardianConsent) -> Event | None:
    """The course a consent is for: its event, or the first date of its series."""
    if consent.event is not None or consent.series_id is None:
        return consent.event
    return db.session.scalar(select(Event).where(Event.series_id == consent.series_id)
                             .order_by(Event.start_at, Event.id).limit(1))


def covered_signups(consent: GuardianConsent) -> list[Signup]:
    """What a course's consent covers now: the person's sign-ups still to come."""
    if consent.status not in ConsentStatus.live() or not consent.for_course:
        return []
    return _covered_signups(consent, clock.now())


# -- the guardian's link ---------------------------------------------------------------------

class ConsentClosed(errors.BookingRefused):
    code = "consent_closed"
    status = 409
    title = _l("This request is no longer open: it was withdrawn or not answered in time.")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CONSENT_SALT)


def guardian_token(user_id: int, guardian_email: str) -> str:
    """The guardian's page for one person: it lists what they were asked and lets them consent
    or withdraw. It does not expire, so the withdrawal link in an old e-mail still works."""
    return _serializer().dumps([user_id, guardian_email])


def consents_for_token(token: str) -> list[GuardianConsent]:
    """The consents one person asked of one guardian, newest first; NotFound for a bad link."""
    try:
        user_id, email = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError) as error:
        raise NotFound() from error
    consents = list(db.session.scalars(select(GuardianConsent).where(
        GuardianConsent.user_id == user_id, GuardianConsent.guardian_email == email)
        .order_by(GuardianConsent.requested_at.desc(), GuardianConsent.id.desc())))
    if not consents:
        raise NotFound()
    return consents


def consent_for_token(token: str, consent_id: int) -> GuardianConsent:
    for consent in consents_for_token(token):
        if consent.id == consent_id:
            return consent
    raise NotFound()


def consents_of(user: User) -> list[GuardianConsent]:
    return list(db.session.scalars(select(GuardianConsent).where(
        GuardianConsent.user_id == user.id).order_by(GuardianConsent.requested_at)))
