"""Citizen keys: how the statistics count distinct people after the people are gone.

Anonymisation (makerspace/privacy) takes the booker's id off a booking `RETENTION_DAYS` after
it ends, but a year's page must still say how many different people booked. Each booking made
with an account gets, when it is written, `citizen_key` = HMAC-SHA-256(the year's salt, the
booker's id), cut to 16 hex digits, and `first_booking` when the person had no booking before.
The key is the same for one person's bookings in one calendar year (UTC), different across
years, and once the year's salt is deleted (`forget_old_salts`, by `flask tick`) nobody can
tell whose it was. Bookings without an account (guest bookings) get no key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, event, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from makerspace import clock
from makerspace.booking.models import Booking
from makerspace.extensions import db
from makerspace.stats.models import StatsSalt

_salts = StatsSalt.__table__
_bookings = Booking.__table__


def _salt_of(year: Any) -> Any:
    return select(_salts.c.salt).where(_salts.c.year == year).scalar_subquery()


# A booking is written for someone: the year's salt and whether they booked before, in one
# statement (on PostgreSQL each would be a round trip of its own).
_SALT_AND_BOOKED_BEFORE = select(
    _salt_of(bindparam("year")),
    exists().where(_bookings.c.user_id == bindparam("user_id")))


def _salt(connection: Any, year: int, found: str | None) -> str:
    """The year's salt (`found`: as read), made on first use (two writers at once agree on
    one)."""
    if found is not None:
        return found
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(_salts).values(year=year, salt=secrets.token_hex(32))
                       .on_conflict_do_nothing(index_elements=["year"]))
    return connection.execute(select(_salt_of(year))).scalar_one()


def _stamp(_mapper: Any, connection: Any, booking: Booking) -> None:
    user_id = booking.user_id if booking.user_id is not None else (
        booking.user.id if booking.user is not None else None)
    if user_id is None or booking.citizen_key is not None:
        return
    year = booking.start_at.year
    found, booked_before = connection.execute(
        _SALT_AND_BOOKED_BEFORE, {"year": year, "user_id": user_id}).one()
    salt = _salt(connection, year, found)
    booking.citizen_key = hmac.new(salt.encode(), str(user_id).encode(),
                                   hashlib.sha256).hexdigest()[:16]
    booking.first_booking = not booked_before


def connect() -> None:
    """Stamp every new booking (called once by create_app; idempotent)."""
    if not event.contains(Booking, "before_insert", _stamp):
        event.listen(Booking, "before_insert", _stamp)


def forget_old_salts(now: datetime | None = None) -> int:
    """Delete the salts of years whose bookings are all past the retention time (their
    bookings are anonymised): from then on the keys are only tallies. Returns how many."""
    now = now or clock.now()
    ended_before = now - timedelta(days=int(current_app.config["RETENTION_DAYS"]))
    # A year's bookings end by the first days of the next year (a booking lasts a day).
    last_forgettable = (ended_before - timedelta(days=2)).year - 1
    result = db.session.execute(delete(StatsSalt).where(StatsSalt.year <= last_forgettable))
    return result.rowcount or 0
