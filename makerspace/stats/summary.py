"""The monthly summary for county admins: who wants it, and which month is due."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.extensions import db
from makerspace.stats.models import StatsSubscription, StatsSummarySent
from makerspace.stats.services import COUNTY_ZONE, Period, period_of


def is_subscribed(user: User) -> bool:
    return db.session.get(StatsSubscription, user.id) is not None


def set_subscription(user: User, wanted: bool) -> None:
    """An admin opts in to (or out of) the monthly summary by e-mail."""
    if wanted and not is_subscribed(user) and user.is_admin:
        db.session.add(StatsSubscription(user_id=user.id))
    elif not wanted:
        db.session.execute(delete(StatsSubscription).where(
            StatsSubscription.user_id == user.id))
    db.session.flush()


def subscribers() -> list[User]:
    """Admins who opted in (one who is no longer an admin gets nothing)."""
    return list(db.session.scalars(select(User).join(
        StatsSubscription, StatsSubscription.user_id == User.id).where(
        User.role == Role.ADMIN).order_by(User.id)))


def month_due(now: datetime | None = None) -> Period | None:
    """The last whole month (county time), unless its summary has been queued."""
    today = (now or clock.now()).astimezone(COUNTY_ZONE).date()
    last_month = period_of("month", today.replace(day=1) - timedelta(days=1))
    if db.session.get(StatsSummarySent, f"{last_month.first:%Y-%m}") is not None:
        return None
    return last_month


def mark_sent(period: Period, now: datetime | None = None) -> None:
    db.session.add(StatsSummarySent(month=f"{period.first:%Y-%m}", queued_at=now or clock.now()))
    db.session.flush()
