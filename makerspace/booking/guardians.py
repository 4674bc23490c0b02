"""A guardian's consent for young makers (issue 20): a machine may need it below an age
(`Equipment.guardian_consent_under`). The young person names a guardian's e-mail address;
the guardian gets a link (through the outbox) and consents once per person and machine; that
consent covers every later booking of the machine until the guardian withdraws it.

A booking made while the consent is pending is a normal `confirmed` row, so it holds the slot
(the database's overlap guard sees it) and counts towards the quota; what makes it pending is
the consent, and `consent_state()` says so to the pages and the API. If the guardian does not
answer by `expires_at` (CONSENT_WAIT, at most until the booking starts), `expire_consents`
cancels the bookings it covered; withdrawing cancels the person's bookings of that machine
that have not started yet."""

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
from makerspace.extensions import db

# How long a guardian has to answer (never past the start of the booking that asked).
CONSENT_WAIT = timedelta(days=7)
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


class GuardianConsent(db.Model):
    __tablename__ = "guardian_consents"
    __table_args__ = (
        # One live consent (asked or given) per person and machine; a second booking reuses it.
        Index("uq_guardian_consents_live", "user_id", "equipment_id", unique=True,
              postgresql_where=text("status IN ('pending', 'given')"),
              sqlite_where=text("status IN ('pending', 'given')")),
        CheckConstraint("expires_at > requested_at", name="expiry"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
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
    equipment: Mapped[Equipment] = relationship()


def consent_needed(user: User, equipment: Equipment, start: datetime) -> bool:
    """The machine asks a guardian below its age, and the person is below it (or their age is
    unknown) at the start."""
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


def consent_state(booking: Booking) -> str | None:
    """"pending" or "given" for a booking that needs a guardian's consent; None otherwise."""
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


def is_pending(booking: Booking) -> bool:
    return consent_state(booking) == ConsentStatus.PENDING.value


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
    if consent.status not in ConsentStatus.live():
        return []
    return _covered_bookings(consent, clock.now())


def give_consent(consent: GuardianConsent) -> list[Booking]:
    """The guardian agrees: the pending bookings are confirmed (the person is e-mailed)."""
    now = clock.now()
    if consent.status == ConsentStatus.GIVEN:
        return []  # a second click changes nothing
    if consent.status != ConsentStatus.PENDING or consent.expires_at <= now:
        raise ConsentClosed()
    consent.status, consent.answered_at = ConsentStatus.GIVEN, now
    bookings = _covered_bookings(consent, now)
    db.session.flush()
    signals.guardian_consent_given.send(consent, bookings=bookings)
    return bookings


def _cancel_covered(consent: GuardianConsent, now: datetime, reason: object, *,
                    unended: bool = False) -> list[Booking]:
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
    """The guardian takes it back (asked or given): the person's bookings of the machine that
    have not started are cancelled; a new booking needs a new consent."""
    now = clock.now()
    if consent.status not in ConsentStatus.live():
        return []
    consent.status, consent.answered_at = ConsentStatus.WITHDRAWN, now
    bookings = _cancel_covered(consent, now, WITHDRAWN_REASON)
    db.session.flush()
    signals.guardian_consent_withdrawn.send(consent, bookings=bookings)
    return bookings


def expire_consents(now: datetime | None = None) -> int:
    """Pending consents nobody answered in time: expired, their bookings cancelled (run by
    `flask tick`)."""
    now = now or clock.now()
    consents = list(db.session.scalars(select(GuardianConsent).where(
        GuardianConsent.status == ConsentStatus.PENDING, GuardianConsent.expires_at <= now)
        .with_for_update(skip_locked=True)))
    for consent in consents:
        consent.status = ConsentStatus.EXPIRED
        bookings = _cancel_covered(consent, now, EXPIRED_REASON, unended=True)
        db.session.flush()
        signals.guardian_consent_withdrawn.send(consent, bookings=bookings)
    return len(consents)


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
