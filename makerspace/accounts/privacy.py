"""A person's own data: export all of it, or delete the account.

A library does not keep what it does not need: deleting an account gives up its seats and
upcoming bookings first (so the waitlist moves and the machines are free), then removes the
person, their bookings, sign-ups, certifications, tokens, blocks and unsent e-mail.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.booking.models import Booking, BookingBlock, BookingStatus
from makerspace.booking.services import cancel_booking
from makerspace.certifications.services import certifications_of
from makerspace.errors import InvalidInput
from makerspace.events.models import Signup
from makerspace.events.services import LIVE, leave
from makerspace.extensions import db
from makerspace.mail.models import OutboxMessage, OutboxStatus


class WrongPassword(InvalidInput):
    code = "wrong_password"
    title = _l("The password is not right.")


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_personal_data(user: User) -> dict[str, Any]:
    """Everything Folkeverksted keeps about a person, as plain data."""
    bookings = db.session.scalars(select(Booking).where(Booking.user_id == user.id)
                                  .order_by(Booking.start_at))
    signups = db.session.scalars(select(Signup).where(Signup.user_id == user.id)
                                 .order_by(Signup.created_at))
    blocks = db.session.scalars(select(BookingBlock).where(BookingBlock.user_id == user.id))
    return {
        "account": {"email": user.email, "name": user.name, "birth_year": user.birth_year,
                    "role": user.role.value, "language": user.locale,
                    "created_at": _iso(user.created_at),
                    "email_verified_at": _iso(user.email_verified_at),
                    "branches": [b.slug for b in user.branches]},
        "bookings": [{"machine": b.equipment.name, "library": b.equipment.branch.name,
                      "start": _iso(b.start_at), "end": _iso(b.end_at),
                      "status": b.status.value, "checked_in_at": _iso(b.checked_in_at),
                      "cancel_reason": b.cancel_reason or None} for b in bookings],
        "signups": [{"event": s.event.title, "library": s.event.branch.name,
                     "start": _iso(s.event.start_at), "status": s.status.value,
                     "attended_at": _iso(s.attended_at)} for s in signups],
        "certifications": [{"certification": h.certification.name,
                            "granted_at": _iso(h.granted_at), "expires_at": _iso(h.expires_at)}
                           for h in certifications_of(user)],
        "blocks": [{"from": _iso(b.starts_at), "until": _iso(b.ends_at), "reason": b.reason,
                    "lifted_at": _iso(b.lifted_at)} for b in blocks],
        "api_tokens": [{"name": t.name, "created_at": _iso(t.created_at)}
                       for t in user.api_tokens],
    }


def delete_account(user: User, *, password: str) -> None:
    """Delete a person's account and data after they confirm with their password."""
    if not check_password_hash(user.password_hash, password):
        raise WrongPassword()
    now = clock.now()
    for signup in db.session.scalars(select(Signup).where(Signup.user_id == user.id,
                                                         Signup.status.in_(LIVE))).all():
        leave(signup, by=user)  # a freed seat goes to the first on the waitlist
    upcoming = db.session.scalars(select(Booking).where(
        Booking.user_id == user.id, Booking.status == BookingStatus.CONFIRMED,
        Booking.start_at > now)).all()
    for booking in upcoming:
        cancel_booking(booking, by=user)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id,
                                                   OutboxMessage.status != OutboxStatus.SENT))
    db.session.delete(user)
    db.session.flush()
