"""Why a sign-up or an event change is refused."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from makerspace.errors import DomainError, InvalidInput, NotFound


class EventNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such course or event.")


class SignupNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such sign-up.")


class AlreadySignedUp(DomainError):
    code = "already_signed_up"
    status = 409
    title = _l("You are already signed up for this.")


class SignupClosed(DomainError):
    code = "signup_closed"
    status = 422
    title = _l("Sign-up for this is not open.")


class EventTooYoung(DomainError):
    code = "too_young"
    status = 403
    title = _l("You are not old enough for this.")


class EventNotCertified(DomainError):
    code = "not_certified"
    status = 403
    title = _l("This needs a certification you do not hold.")


class InvalidEvent(InvalidInput):
    code = "invalid_event"
    title = _l("The course or event is not valid.")


class AttendanceTooEarly(DomainError):
    code = "too_early"
    status = 409
    title = _l("Attendance can be marked from shortly before the start.")


class NotConfirmed(DomainError):
    code = "not_confirmed"
    status = 409
    title = _l("Only confirmed participants can attend.")


class EventCancelled(DomainError):
    code = "cancelled"
    status = 409
    title = _l("This has been cancelled.")


class ReasonRequired(InvalidInput):
    code = "reason_required"
    title = _l("Please give a short reason: someone else is waiting for a seat.")


class EmptyMessage(InvalidInput):
    code = "invalid_input"
    title = _l("Please write a subject and a message.")


class AwaitingGuardian(NotConfirmed):
    code = "guardian_consent_pending"
    title = _l("This sign-up waits for a guardian's consent and is not confirmed yet.")
