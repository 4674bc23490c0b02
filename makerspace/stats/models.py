"""What the statistics keep of their own: the yearly salts behind the citizen keys, who wants
the monthly summary, and which months' summaries have gone out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from makerspace.database import UTCDateTime, utcnow
from makerspace.extensions import db


class StatsSalt(db.Model):
    """A random secret per calendar year: a booking's citizen key is an HMAC of the booker's
    id under it. Deleted by `flask tick` once every booking of that year is anonymised, after
    which no key can be traced back to anyone."""

    __tablename__ = "stats_salts"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    salt: Mapped[str] = mapped_column(String(64))


class StatsSubscription(db.Model):
    """An admin who wants the monthly summary by e-mail."""

    __tablename__ = "stats_subscriptions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatsSummarySent(db.Model):
    """A month ("2026-11") whose summary was queued, so it goes out once."""

    __tablename__ = "stats_summaries_sent"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatsRollup(db.Model):
    """One closed period's rows for one grouping, for all branches."""

    __tablename__ = "stats_rollups"

    period: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2025-06, 2025-Q2, 2025
    grouping: Mapped[str] = mapped_column(String(60), primary_key=True)  # "branch,kind"
    rows: Mapped[str] = mapped_column(Text)  # JSON
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
