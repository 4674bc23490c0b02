"""Why a wait or a hold is refused: one error per rule, each with a stable code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from makerspace.errors import DomainError, NotFound


class TooManyWaits(DomainError):
    code = "too_many_waits"
    status = 409
    title = _l("You are already waiting for as many times as allowed.")


class AlreadyWaiting(DomainError):
    code = "already_waiting"
    status = 409
    title = _l("You are already waiting for this time.")


class SlotFree(DomainError):
    code = "slot_free"
    status = 409
    title = _l("That time is free: book it instead of waiting.")


class WaitNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such wait.")


class NotHeld(DomainError):
    code = "not_held"
    status = 409
    title = _l("The time is not held for you (yet): you are still waiting.")


class HoldExpired(DomainError):
    code = "hold_expired"
    status = 409
    title = _l("The time was held for you, but the hold has run out; it went to the next "
               "person waiting.")
