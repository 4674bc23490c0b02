"""What the statistics keep of their own: the yearly salts behind the citizen keys, who wants
the monthly summary, and which months' summaries have gone out."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
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
    """One month's, quarter's or year's distinct citizens for one grouping, for all
    branches: [{"branch": 3, "kind": "3d-printer", "distinct_citizens": 41}, ...]. Numbers
    only, no citizen keys."""

    __tablename__ = "stats_rollups"

    period: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2025-06, 2025-Q2, 2025
    grouping: Mapped[str] = mapped_column(String(60), primary_key=True)  # "branch,kind"
    rows: Mapped[str] = mapped_column(Text)  # JSON
    # None: the whole period, settled. A moment: the period is still open and the numbers
    # count its bookings (all its days) made before then (rollup.refresh_open).
    made_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatsDay(db.Model):
    """The summable counts of one machine's bookings that start on one local day (in its
    branch's time zone), kept once the day is settled (makerspace/stats/rollup.py). A day
    with no bookings on the machine has no row."""

    __tablename__ = "stats_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    month: Mapped[str] = mapped_column(String(7))  # the day's "YYYY-MM", to group by
    bookings: Mapped[int] = mapped_column(Integer)
    booked_seconds: Mapped[int] = mapped_column(BigInteger)
    checked_in: Mapped[int] = mapped_column(Integer)
    no_shows: Mapped[int] = mapped_column(Integer)
    cancellations: Mapped[int] = mapped_column(Integer)
    cancelled_by_citizen: Mapped[int] = mapped_column(Integer)
    cancelled_by_staff: Mapped[int] = mapped_column(Integer)
    cancelled_out_of_service: Mapped[int] = mapped_column(Integer)
    first_time: Mapped[int] = mapped_column(Integer)
    without_account: Mapped[int] = mapped_column(Integer)
    # the jobs of those bookings (counting.JOB_MEASURES); a job changed after its day was
    # rolled up is added to its day and month as it changes (rollup.add_job_change)
    grams_milli: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    metres_milli: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sheets_milli: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    jobs_ended: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    jobs_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StatsMonth(db.Model):
    """The same counts for a whole local month, once all its days are rolled up: a year's
    page adds up 12 rows per machine instead of 365."""

    __tablename__ = "stats_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "YYYY-MM"
    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    bookings: Mapped[int] = mapped_column(Integer)
    booked_seconds: Mapped[int] = mapped_column(BigInteger)
    checked_in: Mapped[int] = mapped_column(Integer)
    no_shows: Mapped[int] = mapped_column(Integer)
    cancellations: Mapped[int] = mapped_column(Integer)
    cancelled_by_citizen: Mapped[int] = mapped_column(Integer)
    cancelled_by_staff: Mapped[int] = mapped_column(Integer)
    cancelled_out_of_service: Mapped[int] = mapped_column(Integer)
    first_time: Mapped[int] = mapped_column(Integer)
    without_account: Mapped[int] = mapped_column(Integer)
    # the jobs of those bookings (counting.JOB_MEASURES); a job changed after its day was
    # rolled up is added to its day and month as it changes (rollup.add_job_change)
    grams_milli: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    metres_milli: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sheets_milli: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    jobs_ended: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    jobs_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StatsHour(db.Model):
    """Bookings (not cancelled) of one branch that start in one local hour of one settled
    day: the heat map of the week."""

    __tablename__ = "stats_hours"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    bookings: Mapped[int] = mapped_column(Integer)


class StatsWeekHour(db.Model):
    """The same for a whole local month, by weekday: a year's heat map adds up these."""

    __tablename__ = "stats_week_hours"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    bookings: Mapped[int] = mapped_column(Integer)


class StatsCoverage(db.Model):
    """How far the daily rollup reaches: every local day before `days_until` is in
    stats_days and stats_hours for every branch; later days are counted from the bookings.
    One row (id 1), or none before the first rollup."""

    __tablename__ = "stats_coverage"
    __table_args__ = (SQLITE_AUTOINCREMENT,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    days_until: Mapped[date] = mapped_column(Date)
