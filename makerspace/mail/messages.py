"""Every e-mail the system writes, in one place: one function per occasion.

Services call these in their own transaction (`notify.booking_confirmed(booking)`); each one
queues an outbox message in the recipient's language and never sends or commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.invitations import Invitation, invitation_max_age
from makerspace.accounts.models import User
from makerspace.accounts.tokens import reset_max_age, verification_max_age
from makerspace.booking.guardians import GuardianConsent, consent_course
from makerspace.booking.models import Booking, BookingBlock, BookingStatus, EquipmentOutage
from makerspace.booking.services import alternatives_for
from makerspace.calendar.services import booking_file, signup_file
from makerspace.checkin.codes import typed_code
from makerspace.checkin.services import checkin_link, qr_data
from makerspace.core.urls import absolute_url
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.events.services import waitlist_position
from makerspace.extensions import db
from makerspace.loans.models import Loan
from makerspace.mail.links import log_link_in_development
from makerspace.mail.models import OutboxMessage
from makerspace.mail.services import (
    LINK_PLACEHOLDER,
    Attachment,
    queue_message,
    queue_to_write_when_sent,
    recipient_context,
    recipient_locale,
    subject_line,
    write_bodies,
)
from makerspace.waits.models import SlotWait

QR_CONTENT_ID = "checkin-qr@folkeverksted"
REMINDER_HOURS = 24


def _reminder_window() -> timedelta:
    return timedelta(hours=int(current_app.config.get("REMINDER_HOURS", REMINDER_HOURS)))


def _confirmation_reminds(item: Booking | Signup, start: datetime) -> None:
    """Something made within the reminder window needs no reminder: its confirmation is
    one. Marked so, explicitly, when the confirmation is written."""
    if start - clock.now() <= _reminder_window():
        item.reminded_at = clock.now()


def _for(user: User):  # type: ignore[no-untyped-def]
    """Build links and text in the recipient's language, also outside a request."""
    return recipient_context(recipient_locale(user))


def _checkin_parts(token: str, ics: bytes, ics_name: str) -> tuple[list[Attachment], dict]:
    """The QR code inline (the same payload as the QR on the booking page) and the .ics file."""
    attachments = [
        Attachment("checkin-qr.png", "image/png", qr_payload=qr_data(token),
                   content_id=QR_CONTENT_ID),
        Attachment(ics_name, "text/calendar", ics),
    ]
    return attachments, {"qr_cid": QR_CONTENT_ID, "checkin_link": checkin_link(token),
                         "checkin_code": typed_code(token)}


def _booking_context(booking: Booking) -> dict:
    equipment = booking.equipment
    return {"booking": booking, "equipment": equipment, "branch": equipment.branch,
            "tz": equipment.branch.timezone,
            "link": absolute_url("booking.show", booking_id=booking.id),
            "equipment_link": absolute_url("booking.equipment", equipment_id=equipment.id)}


def _signup_context(signup: Signup) -> dict:
    event = signup.event
    return {"signup": signup, "event": event, "branch": event.branch,
            "tz": event.branch.timezone,
            "link": absolute_url("events.show", event_id=event.id)}


# -- bookings -----------------------------------------------------------------------------

def booking_confirmed(booking: Booking) -> OutboxMessage | None:
    """The booking is made: times, a link, the QR code to show at the desk, the .ics file.
    Queued now and written when it is sent (`write`), from the booking as it is then."""
    db.session.flush()  # the booking's id
    _confirmation_reminds(booking, booking.start_at)
    return queue_to_write_when_sent(kind="booking_confirmed", user=booking.user,
                                    booking_id=booking.id, subject=_confirmed(booking))


def _confirmed(booking: Booking) -> object:
    return _l("Booking confirmed: %(name)s", name=booking.equipment.name)


def _write_booking_confirmed(message: OutboxMessage, booking: Booking) -> None:
    message.subject = subject_line(_confirmed(booking))  # the machine's name as it is now
    ics = booking_file(booking)
    attachments, extra = _checkin_parts(booking.checkin_token, ics,
                                        f"booking-{booking.id}.ics")
    write_bodies(message, {**_booking_context(booking), **extra}, attachments)


# The messages queued without their text, by kind: the sender writes them (`write`).
WRITTEN_WHEN_SENT = {"booking_confirmed": _write_booking_confirmed}


class NothingToWrite(Exception):
    """The booking a message was to be written from is gone (the message fails, shown to
    admins)."""


def write(message: OutboxMessage) -> None:
    """Give a message queued to be written when sent its bodies and files, from its booking
    as it is now, in its language; a written message is left as it is."""
    if message.text_body is not None:
        return
    booking = db.session.get(Booking, message.booking_id) if message.booking_id else None
    if booking is None or message.kind not in WRITTEN_WHEN_SENT:
        raise NothingToWrite(message.id)
    with recipient_context(message.locale):
        WRITTEN_WHEN_SENT[message.kind](message, booking)


def preview(message: OutboxMessage) -> tuple[str, str, list[str]]:
    """What a message says (text, HTML, file names), or for one not written yet what it
    would say now; nothing is changed (the admin's and the person's own views)."""
    if message.text_body is not None and message.html_body is not None:
        return message.text_body, message.html_body, [a.filename for a in message.attachments]
    draft = OutboxMessage(kind=message.kind, to_name=message.to_name, locale=message.locale,
                          subject=message.subject, booking_id=message.booking_id)
    try:
        write(draft)  # a draft outside the session: nothing of it is ever saved
    except NothingToWrite:
        return "", "", []
    return draft.text_body or "", draft.html_body or "", [a.filename for a in draft.attachments]


def booking_cancelled_by_staff(booking: Booking) -> OutboxMessage:
    """The library cancelled someone's booking; the reason goes with it."""
    with _for(booking.user):
        return queue_message(
            kind="booking_cancelled_by_staff", user=booking.user,
            subject=_l("Your booking of %(name)s has been cancelled",
                       name=booking.equipment.name),
            context=_booking_context(booking))


def bookings_cancelled_out_of_service(outage: EquipmentOutage,
                                      bookings: Iterable[Booking]) -> list[OutboxMessage]:
    """The machine went out of service: everyone whose booking fell in the period hears why."""
    queued = []
    for booking in bookings:
        with _for(booking.user):
            queued.append(queue_message(
                kind="booking_out_of_service", user=booking.user,
                subject=_l("%(name)s is out of service: your booking is cancelled",
                           name=booking.equipment.name),
                context={**_booking_context(booking), "outage": outage,
                         "alternatives": alternatives_for(booking)}))
    return queued


def booking_block_started(block: BookingBlock) -> OutboxMessage:
    """The person may not book for a while (repeated no-shows); for the check-in code to call."""
    with _for(block.user):
        return queue_message(
            kind="no_show_block", user=block.user,
            subject=_l("You cannot make new bookings for a while"),
            context={"block": block, "tz": current_app.config["BABEL_DEFAULT_TIMEZONE"],
                     "link": absolute_url("booking.my_bookings")})


# -- sign-ups -----------------------------------------------------------------------------

def signup_confirmed(signup: Signup) -> OutboxMessage:
    """A seat on a course: a link, the QR code for the desk, the .ics file."""
    return _signup_with_seat(signup, "signup_confirmed",
                             _l("You are signed up: %(title)s", title=signup.event.title))


def signup_promoted(signup: Signup) -> OutboxMessage:
    """Someone left and the person got a seat from the waitlist."""
    return _signup_with_seat(signup, "signup_promoted",
                             _l("You got a seat: %(title)s", title=signup.event.title))


def _signup_with_seat(signup: Signup, kind: str, subject: object) -> OutboxMessage:
    db.session.flush()
    _confirmation_reminds(signup, signup.event.start_at)
    with _for(signup.user):
        ics = signup_file(signup)
        attachments, extra = _checkin_parts(signup.checkin_token, ics, f"course-{signup.id}.ics")
        return queue_message(kind=kind, user=signup.user, subject=subject,
                             attachments=attachments,
                             context={**_signup_context(signup), **extra})


def signup_waitlisted(signup: Signup) -> OutboxMessage:
    """The course is full: the person is on the waitlist, at this place."""
    db.session.flush()
    with _for(signup.user):
        return queue_message(
            kind="signup_waitlisted", user=signup.user,
            subject=_l("You are on the waitlist: %(title)s", title=signup.event.title),
            context={**_signup_context(signup), "position": waitlist_position(signup)})


def signed_up(signup: Signup) -> OutboxMessage:
    """Confirmation or waitlist place, whichever the sign-up got."""
    if signup.status == SignupStatus.WAITLISTED:
        return signup_waitlisted(signup)
    return signup_confirmed(signup)


def signups_promoted(signups: Iterable[Signup]) -> list[OutboxMessage]:
    return [signup_promoted(signup) for signup in signups]


def event_cancelled(event: Event) -> list[OutboxMessage]:
    """Everyone with a seat or a waitlist place hears that the course is cancelled."""
    signups = list(db.session.scalars(select(Signup).where(
        Signup.event_id == event.id, Signup.user_id.is_not(None),
        Signup.status.in_((SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)))
        .order_by(Signup.id)))
    queued = []
    for signup in signups:
        with _for(signup.user):
            queued.append(queue_message(
                kind="event_cancelled", user=signup.user,
                subject=_l("Cancelled: %(title)s", title=event.title),
                context=_signup_context(signup)))
    return queued


# -- reminders ----------------------------------------------------------------------------

def queue_reminders(now: datetime | None = None) -> int:
    """Remind people of bookings and course seats that start within REMINDER_HOURS and have
    not been reminded; marks them reminded (rows locked, so two runs never remind twice).
    Whatever was made within the window was marked when its confirmation went. Returns how
    many reminders were queued."""
    now = now or clock.now()
    until = now + _reminder_window()
    queued = 0
    bookings = list(db.session.scalars(select(Booking).where(
        Booking.status == BookingStatus.CONFIRMED, Booking.reminded_at.is_(None),
        Booking.user_id.is_not(None),  # guests have no address
        Booking.start_at > now, Booking.start_at <= until)
        .order_by(Booking.id).with_for_update(skip_locked=True)))
    for booking in bookings:
        booking.reminded_at = now
        with _for(booking.user):
            queue_message(kind="reminder_booking", user=booking.user,
                          subject=_l("Reminder: %(name)s", name=booking.equipment.name),
                          context=_booking_context(booking))
        queued += 1
    signups = list(db.session.scalars(select(Signup).join(Event).where(
        Signup.status == SignupStatus.CONFIRMED, Signup.reminded_at.is_(None),
        Event.status == EventStatus.SCHEDULED, Event.start_at > now, Event.start_at <= until)
        .order_by(Signup.id).with_for_update(of=Signup, skip_locked=True)))
    for signup in signups:
        signup.reminded_at = now
        with _for(signup.user):
            queue_message(kind="reminder_signup", user=signup.user,
                          subject=_l("Reminder: %(title)s", title=signup.event.title),
                          context=_signup_context(signup))
        queued += 1
    db.session.flush()
    return queued


# -- kit loans ----------------------------------------------------------------------------

def _loan_context(loan: Loan) -> dict:
    kit = loan.equipment
    return {"loan": loan, "equipment": kit, "branch": kit.branch, "tz": kit.branch.timezone,
            "link": absolute_url("loans.show", loan_id=loan.id)}


def loan_confirmed(loan: Loan) -> OutboxMessage | None:
    """A kit is reserved: the days, a link, and the QR code to show at pick-up and return."""
    db.session.flush()
    with _for(loan.user):
        attachments = [Attachment("checkin-qr.png", "image/png",
                                  qr_payload=qr_data(loan.checkin_token),
                                  content_id=QR_CONTENT_ID)]
        return queue_message(
            kind="loan_confirmed", user=loan.user, attachments=attachments,
            subject=_l("Loan confirmed: %(name)s", name=loan.equipment.name),
            context={**_loan_context(loan), "qr_cid": QR_CONTENT_ID,
                     "checkin_link": checkin_link(loan.checkin_token),
                     "checkin_code": typed_code(loan.checkin_token)})


def loan_return_due(loan: Loan) -> OutboxMessage | None:
    """The day before the return day."""
    with _for(loan.user):
        return queue_message(
            kind="loan_return_due", user=loan.user,
            subject=_l("Reminder: return %(name)s tomorrow", name=loan.equipment.name),
            context=_loan_context(loan))


def loan_overdue(loan: Loan) -> OutboxMessage | None:
    """The return day has passed and the kit is not back (once per loan)."""
    with _for(loan.user):
        return queue_message(
            kind="loan_overdue", user=loan.user,
            subject=_l("%(name)s is overdue: please bring it back", name=loan.equipment.name),
            context=_loan_context(loan))
def slot_held(wait: SlotWait) -> OutboxMessage | None:
    """A slot someone waited for came free and is held for them: one link (made when sent)
    to take it, and until when."""
    equipment = wait.equipment
    with _for(wait.user):
        return queue_message(
            kind="slot_held", user=wait.user, link_kind=f"slot_hold:{wait.booking_id}",
            subject=_l("%(name)s is free for you: take it soon", name=equipment.name),
            context={"wait": wait, "equipment": equipment, "branch": equipment.branch,
                     "tz": equipment.branch.timezone, "link": LINK_PLACEHOLDER,
                     "expires": wait.hold_expires_at,
                     "equipment_link": absolute_url("booking.equipment",
                                                    equipment_id=equipment.id)})


# -- accounts -----------------------------------------------------------------------------

def guardian_consent(consent: GuardianConsent) -> OutboxMessage | None:
    """To the guardian a young person named: a link, made when sent, to agree or withdraw
    (for a machine, a course or a weekly series)."""
    user = consent.user
    if consent.for_course:
        event = consent_course(consent)
        place, context = event.branch, {"course": event.title, "series": consent.series_id,
                                        "age": event.guardian_consent_under}
    else:
        place = consent.equipment.branch
        context = {"machine": consent.equipment.name,
                   "age": consent.equipment.guardian_consent_under}
    with _for(user):
        return queue_message(
            kind="guardian_consent", user=user, to_email=consent.guardian_email,
            to_name=str(_l("guardian of %(person)s", person=user.name))[:200],
            link_kind="guardian_consent",
            subject=_l("%(person)s asks for your consent", person=user.name),
            context={"link": LINK_PLACEHOLDER, "person": user.name, "branch": place.name,
                     "expires_at": consent.expires_at, "tz": place.timezone, **context})


def password_reset(user: User) -> OutboxMessage:
    """A signed, expiring, single-use link to choose a new password (made when it is sent)."""
    with _for(user):
        message = queue_message(
            kind="password_reset", user=user, link_kind="password_reset",
            subject=_l("Choose a new password for Folkeverksted"),
            context={"link": LINK_PLACEHOLDER,
                     "hours": int(reset_max_age().total_seconds() // 3600)})
    log_link_in_development(message)
    return message


def email_verification(user: User) -> OutboxMessage:
    """A signed link that confirms the address (needed before the first booking)."""
    with _for(user):
        message = queue_message(kind="email_verification", user=user,
                                link_kind="email_verification",
                                subject=_l("Confirm your e-mail address for Folkeverksted"),
                                context={"link": LINK_PLACEHOLDER,
                                         "days": verification_max_age().days})
    log_link_in_development(message)
    return message


def registration_attempt(user: User) -> OutboxMessage:
    """Someone tried to register with an address that has an account: tell its owner (the
    registration page itself says nothing about who has an account)."""
    with _for(user):
        return queue_message(kind="registration_attempt", user=user,
                             subject=_l("Someone tried to create an account with your address"),
                             context={"login_link": absolute_url("accounts.login"),
                                      "forgot_link": absolute_url("accounts.forgot_password")})


# -- staff --------------------------------------------------------------------------------

def staff_invitation(invitation: Invitation) -> OutboxMessage:
    """An invitation to work as staff: a link, made when sent, that sets a password."""
    branches = ", ".join(b.name for b in invitation.branches)
    return queue_message(
        kind="staff_invitation", to_email=invitation.email, to_name=invitation.email,
        link_kind="staff_invitation",
        subject=_l("You are invited to Folkeverksted"),
        context={"link": LINK_PLACEHOLDER, "invitation": invitation, "branches": branches,
                 "inviter": invitation.invited_by.name if invitation.invited_by else "",
                 "days": invitation_max_age().days})


def course_message(event: Event, *, subject: str, body: str, by: User) -> list[OutboxMessage]:
    """Staff write to everyone with a seat on a course (each in their own language frame;
    the words are the staff member's own)."""
    signups = list(db.session.scalars(select(Signup).where(
        Signup.event_id == event.id, Signup.user_id.is_not(None),
        Signup.status == SignupStatus.CONFIRMED).order_by(Signup.id)))
    queued = []
    for signup in signups:
        with _for(signup.user):
            queued.append(queue_message(
                kind="course_message", user=signup.user,
                subject=f"{event.title}: {subject}",
                context={**_signup_context(signup), "text": body, "sender": by.name}))
    return queued
