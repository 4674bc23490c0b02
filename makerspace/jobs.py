"""The periodic work and the long-running worker that does it.

`run_tick()` is one round of the sweeps (no-shows, completed bookings, blocks, holds that ran
out and waits that passed (makerspace/waits), reminders,
retention, the monthly statistics summary, the statistics salts of past years), committed as
one transaction, then the statistics rollup of a closed period (in transactions of its own:
counting a year may take a while), then the e-mail that is due. `flask tick` runs it
once (cron, a systemd timer); `flask worker` runs it every WORKER_TICK_SECONDS and sends mail
as soon as it is queued: on PostgreSQL the outbox announces new messages with NOTIFY, on
SQLite the worker looks every WORKER_POLL_SECONDS. Connected machines (3D printers running
OctoPrint, Moonraker or PrusaLink) are polled on a thread of its own
(makerspace/machines/poller.py), so a slow printer never holds up mail or the sweeps.

Several workers may run at once, on several hosts: each message is claimed by one sender
(`FOR UPDATE SKIP LOCKED` and a lease), and on PostgreSQL an advisory lock lets one tick run
at a time while the others skip theirs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from makerspace.booking.guardians import expire_consents
from makerspace.checkin.services import TickReport, sweep_bookings
from makerspace.core.request_log import JOB_LOG
from makerspace.extensions import db
from makerspace.loans.services import LoanSweep, sweep_loans
from makerspace.machines.poller import MachinePoller
from makerspace.mail.messages import queue_reminders
from makerspace.mail.sender import SendReport, send_due
from makerspace.mail.services import OUTBOX_CHANNEL
from makerspace.mail.statistics import queue_monthly_summaries
from makerspace.privacy.services import RetentionReport, sweep_retention
from makerspace.stats.keys import forget_old_salts
from makerspace.stats.rollup import refresh_rollup
from makerspace.waits.services import sweep_waits

if TYPE_CHECKING:
    import psycopg

# pg_try_advisory_xact_lock key: "folk" in ASCII. Only ticks take it.
TICK_LOCK = 0x666F6C6B


@dataclass
class TickSummary:
    sweep: TickReport
    reminders: int
    loans: LoanSweep
    retention: RetentionReport
    sending: SendReport


def _tick_lock_taken() -> bool:
    """On PostgreSQL, take the tick's advisory lock for this transaction; False when another
    process's tick holds it. SQLite lets one writer in at a time anyway."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(TICK_LOCK))))


def run_tick(*, full: bool = False) -> TickSummary | None:
    """One round of the sweeps, committed together, then the mail that is due. None when
    another process's tick is running (it does the same work)."""
    started = time.perf_counter()
    if not _tick_lock_taken():
        db.session.rollback()
        JOB_LOG.info("tick skipped", extra={"job": "tick", "skipped": True})
        return None
    sweep = sweep_bookings(full=full)  # tells the newly blocked, in the same transaction
    waits = sweep_waits()  # holds that ran out go to the next in line (who is told)
    expire_consents()  # pending bookings a guardian never answered for: cancelled
    reminders = queue_reminders()
    loans = sweep_loans()  # reminders and overdue notices go to the outbox by signals
    retention = sweep_retention()
    summaries = queue_monthly_summaries()
    forget_old_salts()
    db.session.commit()
    refresh_rollup(commit=True)  # its own transactions: counting may take a while
    sending = send_due()
    JOB_LOG.info("tick", extra={
        "job": "tick", "no_shows": len(sweep.no_shows), "completed": len(sweep.completed),
        "blocks": len(sweep.blocks), "holds_lapsed": waits.lapsed,
        "holds_offered": len(waits.held), "reminders": reminders, "summaries": summaries,
        "loan_reminders": len(loans.reminded), "loans_overdue": len(loans.overdue),
        **_sending_fields(sending),
        "duration_ms": _since(started)})
    return TickSummary(sweep, reminders, loans, retention, sending)


def send_now() -> SendReport:
    """Send what is due; one job line when anything was tried."""
    started = time.perf_counter()
    report = send_due()
    if report.claimed or report.errors:
        JOB_LOG.info("send-mail", extra={"job": "send-mail", **_sending_fields(report),
                                         "duration_ms": _since(started)})
    return report


def _sending_fields(report: SendReport) -> dict[str, Any]:
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed,
            "mail_configured": report.configured}


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


class _Poll:
    """SQLite: wake after the poll interval (or at once when stopped)."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping

    def wait(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    def close(self) -> None:
        pass


class _Listen:
    """PostgreSQL: wake when the outbox NOTIFYs, after the interval otherwise. The connection
    is the listener's own (not the pool's) and is made again when it breaks."""

    def __init__(self, url: str, stopping: threading.Event, connect_timeout: int) -> None:
        # Imported here, not at the top: a web worker on SQLite has no other use for it (10 MB).
        import psycopg

        self.driver = psycopg
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.stopping = stopping
        self.connect_timeout = connect_timeout
        self.connection: psycopg.Connection | None = None

    def _listening(self) -> psycopg.Connection:
        if self.connection is not None and not self.connection.closed:
            return self.connection
        self.close()
        connection = self.driver.connect(self.conninfo, autocommit=True,
                                         connect_timeout=self.connect_timeout)
        try:
            connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        except self.driver.Error:
            connection.close()
            raise
        self.connection = connection
        return connection

    def wait(self, seconds: float) -> None:
        # Short slices, so a stop request is seen within half a second.
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            try:
                for _ in self._listening().notifies(timeout=min(left, 0.5), stop_after=1):
                    return
            except self.driver.Error:
                self.close()
                self.stopping.wait(min(left, 1.0))

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except self.driver.Error:
                pass
            self.connection = None


class Worker:
    """Runs the tick every `tick_seconds` and sends mail as soon as it is queued, until
    `stop()` (SIGTERM in `flask worker`). A database that is away is retried with a growing
    pause (1, 2, 4 … 60 s), never given up on."""

    def __init__(self, app: Flask, *, tick_seconds: float | None = None,
                 poll_seconds: float | None = None) -> None:
        self.app = app
        self.tick_seconds = float(tick_seconds or app.config["WORKER_TICK_SECONDS"])
        self.stopping = threading.Event()
        # For whoever watches (the tests): rounds done, database failures in a row.
        self.rounds = 0
        self.failures = 0
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        on_postgresql = make_url(url).get_backend_name() == "postgresql"
        self.poll_seconds = float(poll_seconds or app.config["WORKER_POLL_SECONDS"]
                                  or (15 if on_postgresql else 0.5))
        self.wake: _Poll | _Listen = (
            _Listen(url, self.stopping, int(app.config["DATABASE_CONNECT_TIMEOUT"]))
            if on_postgresql else _Poll(self.stopping))
        self.machines = (MachinePoller(app, stopping=self.stopping)
                         if float(app.config["MACHINE_POLL_SECONDS"] or 0) > 0 else None)

    def stop(self, *_: Any) -> None:
        self.stopping.set()

    def run(self) -> None:
        JOB_LOG.info("worker started", extra={"job": "worker",
                                              "tick_seconds": self.tick_seconds})
        next_tick = 0.0
        if self.machines is not None:
            self.machines.start()
        try:
            while not self.stopping.is_set():
                try:
                    with self.app.app_context():
                        if time.monotonic() >= next_tick:
                            run_tick()
                            next_tick = time.monotonic() + self.tick_seconds
                        else:
                            send_now()
                    self.failures = 0
                    self.rounds += 1
                except SQLAlchemyError as error:
                    self.failures += 1
                    pause = min(2 ** (self.failures - 1), 60)
                    cause = getattr(error, "orig", None) or error
                    JOB_LOG.warning("database unavailable", extra={
                        "job": "worker", "error": type(cause).__name__,
                        "detail": str(cause).splitlines()[0] if str(cause) else "",
                        "retry_in_s": pause})
                    self.stopping.wait(pause)
                    continue
                self.wake.wait(min(self.poll_seconds,
                                   max(next_tick - time.monotonic(), 0.0)))
        finally:
            if self.machines is not None:
                self.machines.stop()
            self.wake.close()
            JOB_LOG.info("worker stopped", extra={"job": "worker"})
