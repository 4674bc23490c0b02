"""Why a loan is refused: one error per rule, each with a stable code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from makerspace.errors import DomainError, NotFound


class LoanRefused(DomainError):
    status = 422


class NotAKit(LoanRefused):
    code = "not_a_kit"
    title = _l("Only kits are lent for days; book a time for this machine instead.")


class InvalidPeriod(LoanRefused):
    code = "invalid_period"
    title = _l("The return day must come after the pick-up day.")


class TooLong(LoanRefused):
    code = "too_long"
    title = _l("The loan is longer than this kit may be lent.")


class InPast(LoanRefused):
    code = "in_past"
    title = _l("That pick-up day has already passed.")


class TooFarAhead(LoanRefused):
    code = "too_far_ahead"
    title = _l("That is further ahead than this kit can be borrowed.")


class LibraryClosed(LoanRefused):
    code = "library_closed"
    title = _l("The library is closed that day: pick-up and return are during opening hours.")


class OutOfService(LoanRefused):
    code = "out_of_service"
    title = _l("The kit is out of service then.")


class OverdueLoan(LoanRefused):
    code = "overdue_loan"
    status = 403
    title = _l("Please return the kit you have borrowed before borrowing another.")


class NoCopiesLeft(LoanRefused):
    code = "no_copies_left"
    status = 409
    title = _l("Every copy of this kit is lent out on some of those days.")


class LoanNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such loan.")


class NotCancellable(LoanRefused):
    code = "not_cancellable"
    status = 409
    title = _l("Only a loan not picked up yet can be cancelled.")


class ScanRefused(DomainError):
    status = 409


class LoanCancelled(ScanRefused):
    code = "cancelled"
    title = _l("This loan has been cancelled.")


class PickupNotYet(ScanRefused):
    code = "too_early"
    title = _l("This kit is to be picked up later.")


class PickupMissed(ScanRefused):
    code = "too_late"
    title = _l("The pick-up day of this loan has passed; the copy went back to the pool.")


class AlreadyReturned(ScanRefused):
    code = "already_returned"
    title = _l("This kit has been returned already.")


class NotPickedUp(ScanRefused):
    code = "not_picked_up"
    title = _l("This kit has not been picked up, so it cannot be returned.")


class InvalidCondition(LoanRefused):
    code = "invalid_input"
    title = _l("Please say what state the kit came back in.")
