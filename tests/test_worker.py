"""`flask worker`: mail goes out within a second of being queued (PostgreSQL LISTEN/NOTIFY,
SQLite a short poll), the sweeps run, a database that goes away is waited for, SIGTERM stops
it cleanly, and only one tick runs at a time on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from makerspace import create_app
from makerspace.extensions import db
from makerspace.jobs import TICK_LOCK, Worker, run_tick
from makerspace.mail.models import OutboxMessage
from tests import pg_instance
from tests.databases import test_config
from tests.helpers import PASSWORD
from tests.smtp import SmtpServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(smtp):  # type: ignore[no-untyped-def]
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "BASE_URL": "https://folkeverksted.example"}


def wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class Running:
    """A Worker in a thread of the test, stopped at the end."""

    def __init__(self, app, **options) -> None:  # type: ignore[no-untyped-def]
        self.worker = Worker(app, tick_seconds=3600, **options)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)

    def __enter__(self) -> Worker:
        self.thread.start()
        assert wait_for(lambda: self.worker.rounds >= 1, 10), "the worker did not start"
        return self.worker

    def __exit__(self, *_: object) -> None:
        self.worker.stop()
        self.thread.join(5)
        assert not self.thread.is_alive(), "the worker did not stop"


def register(client, email: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/register", data={
        "name": "Kari", "email": email, "birth_year": "1990", "password": PASSWORD,
        "password_again": PASSWORD})
    assert response.status_code in (200, 302, 303)


@pytest.mark.commits
def test_the_worker_sends_a_queued_message_within_a_second(app, client, smtp):
    with Running(app):
        time.sleep(0.3)  # the worker is waiting, not in the middle of its first round
        queued = time.monotonic()
        register(client, "kari@example.no")
        assert wait_for(lambda: len(smtp.envelopes) == 1, 1.0), \
            "the message was not sent within a second"
        took = time.monotonic() - queued
    assert smtp.envelopes[0].rcpt_tos == ["kari@example.no"]
    assert took < 1.0


@pytest.mark.commits
def test_the_worker_runs_the_sweeps_and_logs_a_line_per_job(app, caplog):
    import logging
    caplog.set_level(logging.INFO, logger="makerspace.jobs")
    with Running(app):
        pass
    jobs = [r for r in caplog.records if getattr(r, "job", None) == "tick"]
    assert jobs and jobs[0].no_shows == 0 and jobs[0].sent == 0
    assert any(r.getMessage() == "worker stopped" for r in caplog.records)


@pytest.mark.commits
def test_only_one_tick_at_a_time_on_postgresql(app, backend):
    if backend == "sqlite":  # one writer at a time: the second tick waits, then finds nothing
        with app.app_context():
            assert run_tick() is not None and run_tick() is not None
        return
    with app.app_context():
        holder = db.engine.connect()
        try:
            holder.begin()
            assert holder.scalar(select(func.pg_try_advisory_xact_lock(TICK_LOCK)))
            assert run_tick() is None
        finally:
            holder.close()
        assert run_tick() is not None


def _migrated(url: str, **extra):  # type: ignore[no-untyped-def]
    app = create_app(test_config(url, DATABASE_CONNECT_TIMEOUT=2, **extra))
    with app.app_context():
        upgrade()
    return app


def test_the_worker_waits_out_a_postgresql_restart_and_goes_on_sending(smtp):
    server = pg_instance.TempPostgres()
    try:
        app = _migrated(server.url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
        client = app.test_client()
        with Running(app, poll_seconds=0.5) as worker:
            server.stop()
            assert wait_for(lambda: worker.failures >= 1, 10)
            server.start()
            assert wait_for(lambda: worker.failures == 0, 30)
            register(client, "ola@example.no")
            assert wait_for(lambda: len(smtp.envelopes) == 1, 5)
        with app.app_context():
            assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1
            db.session.remove()  # give the connection back, or dispose() leaves it open
            db.engine.dispose()
    finally:
        server.close()


@pytest.mark.commits
def test_flask_worker_stops_cleanly_on_sigterm(app, database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "makerspace",
           "SECRET_KEY": "test", "LOG_FORMAT": "json"}
    with subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=REPO, env=env,
                          stderr=subprocess.PIPE, text=True) as worker:
        try:
            lines: list[str] = []
            assert worker.stderr is not None
            while not any('"worker started"' in line for line in lines):
                line = worker.stderr.readline()
                assert line, f"the worker ended early: {''.join(lines)}"
                lines.append(line)
            time.sleep(0.5)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(10) == 0
            rest = worker.stderr.read()
            assert '"worker stopped"' in rest
            assert "Traceback" not in rest
        finally:
            if worker.poll() is None:
                worker.kill()
    with app.app_context():
        db.session.execute(text("SELECT 1"))
