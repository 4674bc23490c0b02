"""The outbox listens to the domain: one receiver per signal (makerspace.core.signals), each
writing its messages in the transaction of the change that sent it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from makerspace.accounts.models import User
from makerspace.booking.guardians import GuardianConsent, is_pending
from makerspace.booking.models import Booking, BookingBlock, EquipmentOutage
from makerspace.core import signals
from makerspace.events.models import Event, Signup, SignupStatus
from makerspace.loans.models import Loan
from makerspace.mail import messages
from makerspace.mail.services import recently_queued
from makerspace.waits.models import SlotWait

# A second request for the same e-mail within this time sends nothing (a double click, a
# script), so a person cannot be flooded through the forms.
REPEAT_PAUSE = timedelta(minutes=2)


def _unless_just_sent(kind: str, send: Any):  # type: ignore[no-untyped-def]
    def receive(user: User, **_: Any) -> None:
        if not recently_queued(user, kind, REPEAT_PAUSE):
            send(user)

    return receive


def _booking_cancelled(booking: Booking, *, by_staff: bool, **_: Any) -> None:
    # The person cancelled it themselves: they know. A guest has no address.
    if by_staff and booking.user is not None:
        messages.booking_cancelled_by_staff(booking)


def _out_of_service(outage: EquipmentOutage, *, bookings: list[Booking], **_: Any) -> None:
    messages.bookings_cancelled_out_of_service(
        outage, [b for b in bookings if b.user is not None])


def _block_started(block: BookingBlock, **_: Any) -> None:
    messages.booking_block_started(block)


def _guardian_consent_given(_consent: GuardianConsent, *, bookings: list[Booking],
                            signups: list[Signup], **_: Any) -> None:
    for booking in bookings:  # pending until now: this is their confirmation
        messages.booking_confirmed(booking)
    for signup in signups:  # a seat with its check-in code now (a waitlist place was told)
        if signup.status == SignupStatus.CONFIRMED:
            messages.signup_confirmed(signup)


def _booking_confirmed(booking: Booking, **_: Any) -> None:
    if booking.user is not None:  # a guest gets a printed slip instead
        messages.booking_confirmed(booking)


def _slot_held(wait: SlotWait, **_: Any) -> None:
    messages.slot_held(wait)


def _signup_created(signup: Signup, **_: Any) -> None:
    # A seat waiting for a guardian: the confirmation (with its code) comes with the consent.
    if signup.status != SignupStatus.CONFIRMED or not is_pending(signup):
        messages.signed_up(signup)


def _signups_promoted(_event: Event, *, signups: list[Signup], **_: Any) -> None:
    messages.signups_promoted([s for s in signups if not is_pending(s)])


def _event_cancelled(event: Event, **_: Any) -> None:
    messages.event_cancelled(event)


def _course_message(event: Event, *, subject: str, body: str, by: User, **_: Any) -> None:
    messages.course_message(event, subject=subject, body=body, by=by)


def _loan(send: Any):  # type: ignore[no-untyped-def]
    def receive(loan: Loan, **_: Any) -> None:
        if loan.user is not None:
            send(loan)

    return receive


RECEIVERS = {
    signals.account_registered: messages.email_verification,
    signals.verification_requested: _unless_just_sent("email_verification",
                                                      messages.email_verification),
    signals.registration_attempted: _unless_just_sent("registration_attempt",
                                                      messages.registration_attempt),
    signals.password_reset_requested: _unless_just_sent("password_reset",
                                                        messages.password_reset),
    signals.booking_confirmed: _booking_confirmed,
    signals.booking_cancelled: _booking_cancelled,
    signals.bookings_cancelled_out_of_service: _out_of_service,
    signals.block_started: _block_started,
    signals.slot_held: _slot_held,
    signals.signup_created: _signup_created,
    signals.signups_promoted: _signups_promoted,
    signals.event_cancelled: _event_cancelled,
    signals.staff_invited: messages.staff_invitation,
    signals.guardian_consent_requested: messages.guardian_consent,
    signals.guardian_consent_given: _guardian_consent_given,
    signals.course_message: _course_message,
    signals.loan_confirmed: _loan(messages.loan_confirmed),
    signals.loan_return_due: _loan(messages.loan_return_due),
    signals.loan_overdue: _loan(messages.loan_overdue),
}


def connect() -> None:
    """Listen to every signal (idempotent: connecting twice keeps one receiver)."""
    for signal, receiver in RECEIVERS.items():
        signal.connect(receiver, weak=False)
