"""Prometheus metrics at /metrics: request latency by route, bookings made, check-ins,
no-shows, the outbox's depth and oldest message, and the database pool.

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py
does): every worker writes its counts there and a scrape of any worker adds them up. The
outbox and pool figures are read at scrape time by the worker that answers.

Who may scrape: with METRICS_TOKEN set, requests with `Authorization: Bearer <token>`; without
it, only the machine itself (127.0.0.1, ::1). Everyone else gets 404.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterator
from datetime import UTC
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from makerspace import clock
from makerspace.core import signals
from makerspace.core.request_log import request_seconds
from makerspace.events.models import Signup
from makerspace.extensions import db
from makerspace.mail.models import OutboxMessage, OutboxStatus

bp = Blueprint("metrics", __name__)

REQUEST_SECONDS = Histogram(
    "folkeverksted_request_duration_seconds", "Time to answer a request",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
BOOKINGS = Counter("folkeverksted_bookings_made_total", "Bookings made")
CHECKINS = Counter("folkeverksted_checkins_total", "Check-ins (bookings and course seats)",
                   ["kind"])
NO_SHOWS = Counter("folkeverksted_no_shows_total", "Bookings marked no-show")


class DatabaseCollector(Collector):
    """Figures read when scraped: the outbox's depth and oldest waiting message; this
    process's pool."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.app.app_context():
            depth = GaugeMetricFamily("folkeverksted_outbox_messages",
                                      "Messages in the outbox by status", labels=["status"])
            oldest = GaugeMetricFamily("folkeverksted_outbox_oldest_pending_seconds",
                                       "Age of the oldest message waiting to be sent")
            try:
                counts = dict(db.session.execute(select(
                    OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
                    OutboxMessage.status)).all())
                first = db.session.scalar(select(func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status == OutboxStatus.PENDING))
            finally:
                db.session.remove()
            for status in OutboxStatus:
                depth.add_metric([status.value], counts.get(status, 0))
            if first is not None and first.tzinfo is None:  # SQLite keeps UTC without a zone
                first = first.replace(tzinfo=UTC)
            age = (clock.now() - first).total_seconds() if first is not None else 0
            oldest.add_metric([], max(age, 0))
            yield depth
            yield oldest
            pool = db.engine.pool if isinstance(db.engine, Engine) else None
            in_use = GaugeMetricFamily("folkeverksted_db_pool_connections_in_use",
                                       "Connections this process has checked out",
                                       labels=["pid"])
            in_use.add_metric([str(os.getpid())], pool.checkedout() if pool is not None
                              and hasattr(pool, "checkedout") else 0)
            yield in_use


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(offered.encode(), str(token).encode())
    return request.remote_addr in ("127.0.0.1", "::1")


@bp.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    if not _allowed():
        abort(404)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in (REQUEST_SECONDS, BOOKINGS, CHECKINS, NO_SHOWS):
            registry.register(collector)
    registry.register(DatabaseCollector(current_app._get_current_object()))
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


# Counted when the transaction that did it commits: a booking rolled back is no booking.
_ON_COMMIT = "metrics_on_commit"


def _on_commit(bump: Callable[[Any], None]) -> Callable[..., None]:
    def receive(sender: Any, **_: Any) -> None:
        db.session().info.setdefault(_ON_COMMIT, []).append(partial(bump, sender))

    return receive


def _count_committed(session: Session) -> None:
    for bump in session.info.pop(_ON_COMMIT, []):
        bump()


def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)


def _checkin_kind(item: Any) -> str:
    return "signup" if isinstance(item, Signup) else "booking"


RECEIVERS = {
    signals.booking_confirmed: _on_commit(lambda _booking: BOOKINGS.inc()),
    signals.checked_in: _on_commit(lambda item: CHECKINS.labels(kind=_checkin_kind(item)).inc()),
    signals.no_show_marked: _on_commit(lambda _booking: NO_SHOWS.inc()),
}


def install_metrics(app: Flask) -> None:
    """The /metrics endpoint, the counters' receivers and the request timer."""
    app.register_blueprint(bp)
    for signal, receiver in RECEIVERS.items():
        signal.connect(receiver, weak=False)
    if not event.contains(Session, "after_commit", _count_committed):
        event.listen(Session, "after_commit", _count_committed)
        event.listen(Session, "after_rollback", _forget_rolled_back)

    @app.after_request
    def observe(response):  # type: ignore[no-untyped-def]
        seconds = request_seconds()  # timed once, for the log line too
        if seconds is not None and request.endpoint != "metrics.metrics":
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(
                seconds)
        return response
