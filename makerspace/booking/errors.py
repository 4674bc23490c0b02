"""Why a booking is refused: one error per rule, each with a stable code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from makerspace.errors import DomainError, Forbidden, InvalidInput, NotFound


class BookingRefused(DomainError):
    """Base of the booking rules; `suggestions` may carry the nearest free slots."""

    status = 422


class OutsideOpeningHours(BookingRefused):
    code = "outside_opening_hours"
    title = _l("The library is not open for the whole of that time.")


class OffGrid(BookingRefused):
    code = "off_grid"
    title = _l("Bookings must start and end on the machine's time steps.")


class TooShort(BookingRefused):
    code = "too_short"
    title = _l("The booking is shorter than this machine allows.")


class TooLong(BookingRefused):
    code = "too_long"
    title = _l("The booking is longer than this machine allows.")


class InPast(BookingRefused):
    code = "in_past"
    title = _l("That time has already passed.")


class TooFarAhead(BookingRefused):
    code = "too_far_ahead"
    title = _l("That is further ahead than this machine can be booked.")


class OutOfService(BookingRefused):
    code = "out_of_service"
    title = _l("The machine is out of service at that time.")


class QuotaExceeded(BookingRefused):
    code = "quota_exceeded"
    title = _l("You have as many upcoming bookings at this library as allowed.")


class TooYoung(BookingRefused):
    code = "too_young"
    status = 403
    title = _l("You are not old enough for this machine.")


class NotCertified(BookingRefused):
    code = "not_certified"
    status = 403
    title = _l("This machine needs a certification you do not hold.")


class Blocked(BookingRefused):
    code = "blocked"
    status = 403
    title = _l("You may not make new bookings at the moment.")


class CardBlocked(BookingRefused):
    code = "card_blocked"
    status = 403
    title = _l("Your library card is blocked.")


class EmailNotVerified(BookingRefused):
    code = "email_not_verified"
    status = 403
    title = _l("Please confirm your e-mail address before your first booking.")


class BookingConflict(BookingRefused):
    code = "conflict"
    status = 409
    title = _l("Someone else has booked the machine at that time.")


class UnattendedNotAllowed(BookingRefused):
    code = "unattended_not_allowed"
    title = _l("This machine may not run unattended.")


class UnattendedTooLong(BookingRefused):
    code = "unattended_too_long"
    title = _l("The job is longer than this machine may run unattended.")


class UnattendedStartUnstaffed(BookingRefused):
    code = "unattended_start_unstaffed"
    title = _l("An unattended job must start while staff are at the library.")


class UnattendedEndsTooLate(BookingRefused):
    code = "unattended_ends_too_late"
    title = _l("The job would not be done by the time the library opens again.")


class UnattendedBeforeClosedDay(BookingRefused):
    code = "unattended_before_closed_day"
    title = _l("No unattended jobs on the day before the library is closed.")


class UnattendedNightFull(BookingRefused):
    code = "unattended_night_full"
    title = _l("The library takes no more unattended jobs that night.")


class JobNotStartable(DomainError):
    code = "job_not_startable"
    status = 409
    title = _l("This booking's job cannot be started.")


class JobNotStarted(DomainError):
    code = "job_not_started"
    status = 409
    title = _l("The job has not been started (check in first).")


class JobAlreadyEnded(DomainError):
    code = "job_already_ended"
    status = 409
    title = _l("The job has already ended.")


class NotRebookable(DomainError):
    code = "not_rebookable"
    status = 409
    title = _l("Only a failed job can be booked again with priority.")


class NoMaterialUnit(InvalidInput):
    code = "no_material_unit"
    title = _l("Material is not counted on this kind of machine.")


class InvalidMaterial(InvalidInput):
    code = "invalid_material"
    title = _l("The amount of material is not valid.")


class BookingNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such booking.")


class EquipmentNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such machine.")


class NotCancellable(DomainError):
    code = "not_cancellable"
    status = 409
    title = _l("This booking can no longer be cancelled.")


class CancelTooLate(InvalidInput):
    code = "too_late_to_cancel"
    title = _l("The booking has started; ask the library staff to cancel it.")


class ReasonRequired(InvalidInput):
    code = "reason_required"
    title = _l("Please give a reason; the citizen will see it.")


class InvalidEquipmentRules(InvalidInput):
    code = "invalid_rules"
    title = _l("The machine's booking rules do not fit together.")


class NotStaff(Forbidden):
    code = "forbidden"
    title = _l("Only the library's staff may do this.")


class GuestNameRequired(InvalidInput):
    code = "invalid_input"
    title = _l("Please give the guest's name.")


class InvalidTimeRange(InvalidInput):
    """A search for free time from a later time of day than it ends."""

    title = _l("The time of day must begin before it ends.")
