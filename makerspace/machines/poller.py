"""The machine poller: asks every connected machine for its state every
MACHINE_POLL_SECONDS (backing off from one that fails), on a thread of its own inside
`flask worker`, so mail and the sweeps never wait for a printer.

A round claims the connections that are due (a lease, skipping rows another worker holds),
asks them at once on a small pool of threads (MACHINE_POLL_CONCURRENCY), each request bounded
by MACHINE_TIMEOUT_SECONDS and the whole answer by twice that, and applies each answer in a
transaction of its own. `flask poll-machines` runs one round.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from makerspace import clock
from makerspace.core.request_log import JOB_LOG
from makerspace.database import read_only_transaction
from makerspace.extensions import db
from makerspace.machines import services
from makerspace.machines.clients import Reading, Unreachable, read_machine


@dataclass
class PollRound:
    asked: int = 0
    answered: int = 0
    failed: dict[int, str] = field(default_factory=dict)  # connection id -> reason
    duration_ms: float = 0.0


class MachinePoller:
    def __init__(self, app: Flask, *, stopping: threading.Event | None = None) -> None:
        self.app = app
        self.stopping = stopping or threading.Event()
        self.concurrency = max(1, int(app.config["MACHINE_POLL_CONCURRENCY"]))
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency,
                                       thread_name_prefix="machine-poll")
        self.rounds = 0
        self.failures = 0  # database failures in a row
        self.thread: threading.Thread | None = None

    # -- one round --------------------------------------------------------------------

    def poll_once(self) -> PollRound:
        """Ask every machine that is due and apply the answers (needs an app context)."""
        started = time.perf_counter()
        report = PollRound()
        # Most rounds find nothing due: find that out as a reader (on SQLite a writer would
        # take the write lock every second).
        read_only_transaction(db.session)
        due = services.any_due(clock.now())
        db.session.rollback()
        if not due:
            return report
        orders = services.claim_due(clock.now(), limit=self.concurrency * 4)
        db.session.commit()
        if not orders:
            return report
        timeout = float(current_app.config["MACHINE_TIMEOUT_SECONDS"])
        futures: dict[Future[Reading], services.PollOrder] = {
            self.pool.submit(read_machine, order.kind, order.url, order.api_key,
                             timeout=timeout): order for order in orders}
        report.asked = len(futures)
        # Each request is bounded by its own timeouts; this bounds the round as well.
        wait(futures, timeout=3 * timeout + 1)
        for future, order in futures.items():
            self._apply(future, order, report)
        report.duration_ms = round((time.perf_counter() - started) * 1000, 2)
        JOB_LOG.info("machines polled", extra={
            "job": "poll-machines", "asked": report.asked, "answered": report.answered,
            "offline": len(report.failed), "duration_ms": report.duration_ms})
        return report

    def _apply(self, future: Future[Reading], order: services.PollOrder,
               report: PollRound) -> None:
        now = clock.now()
        try:
            if not future.done():
                future.cancel()
                raise Unreachable("timeout")
            try:
                reading = future.result()
            except Unreachable:
                raise
            except Exception as error:  # noqa: BLE001  (a client bug must not stop the round)
                raise Unreachable(f"error: {type(error).__name__}") from None
        except Unreachable as refusal:
            report.failed[order.connection_id] = refusal.reason
            services.record_failure(order.connection_id, refusal.reason, now)
            db.session.commit()
            JOB_LOG.warning("machine unreachable", extra={
                "job": "poll-machines", "connection": order.connection_id,
                "reason": refusal.reason})
            return
        try:
            services.record_reading(order.connection_id, reading, now)
            db.session.commit()
            report.answered += 1
        except SQLAlchemyError:
            db.session.rollback()
            raise

    # -- the thread -------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="machine-poller", daemon=True)
        self.thread.start()

    def run(self) -> None:
        tick = float(self.app.config["MACHINE_POLL_TICK_SECONDS"])
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    self.poll_once()
                self.failures = 0
                self.rounds += 1
            except SQLAlchemyError as error:
                self.failures += 1
                pause = min(2 ** (self.failures - 1), 60)
                JOB_LOG.warning("database unavailable", extra={
                    "job": "poll-machines", "error": type(error).__name__,
                    "retry_in_s": pause})
                self.stopping.wait(pause)
                continue
            self.stopping.wait(tick)

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(10)
        self.pool.shutdown(wait=False, cancel_futures=True)
