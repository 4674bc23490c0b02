"""The clients against recorded answers of PrusaLink's and Moonraker's documented APIs, and
against servers that are down, hung or trickling: each poll ends within its timeout."""

from __future__ import annotations

import time

import pytest

from makerspace.machines.clients import Unreachable, read_machine
from makerspace.machines.models import ConnectionKind
from tests.machine_standins import (
    PRUSALINK_IDLE,
    moonraker,
    prusalink_finished,
    prusalink_printing,
    recorded_server,
)
from tests.standins import closed_port, silent_server


def test_prusalink_printing_then_finished_then_idle():
    with recorded_server() as (url, recorded):
        recorded.answers = prusalink_printing(42.0)
        reading = read_machine(ConnectionKind.PRUSALINK, url, "PLKEY", timeout=2)
        assert reading.state == "printing" and reading.progress == 42.0
        assert reading.seconds_left == 1800 and reading.filament_grams == 5.2
        assert reading.job_key == "297:NOKKEL~1.BGC"
        assert recorded.seen[0][1]["X-Api-Key"] == "PLKEY"
        recorded.answers = prusalink_finished()
        assert read_machine(ConnectionKind.PRUSALINK, url, "PLKEY", timeout=2).state == \
            "finished"
        recorded.answers = prusalink_finished(word="STOPPED")
        assert read_machine(ConnectionKind.PRUSALINK, url, "PLKEY", timeout=2).state == \
            "cancelled"
        recorded.answers = PRUSALINK_IDLE
        idle = read_machine(ConnectionKind.PRUSALINK, url, "PLKEY", timeout=2)
        assert idle.state == "idle" and idle.job_key is None


def test_moonraker_printing_and_complete():
    with recorded_server() as (url, recorded):
        recorded.answers = moonraker("printing", 0.25)
        reading = read_machine(ConnectionKind.MOONRAKER, url, None, timeout=2)
        assert reading.state == "printing" and reading.progress == 25.0
        assert reading.job_key == "000042:nokkelring.gcode"
        assert reading.seconds_left == pytest.approx(1800)
        assert reading.filament_grams == 5.2 and reading.started_epoch == 1764493200.0
        recorded.answers = moonraker("complete", 1.0, history_status="completed")
        assert read_machine(ConnectionKind.MOONRAKER, url, None, timeout=2).state == \
            "finished"


def test_a_refused_key_is_unreachable_not_a_crash():
    with recorded_server() as (url, recorded):
        recorded.answers = {"/api/v1/status": (401, {"title": "Unauthorized"})}
        with pytest.raises(Unreachable, match="key refused"):
            read_machine(ConnectionKind.PRUSALINK, url, "wrong", timeout=2)
        recorded.answers = {"/api/v1/status": (200, ["not", "an", "object"])}
        with pytest.raises(Unreachable):
            read_machine(ConnectionKind.PRUSALINK, url, "PLKEY", timeout=2)


@pytest.mark.parametrize("kind", list(ConnectionKind))
def test_down_hung_and_trickling_servers_time_out(kind):
    started = time.monotonic()
    with pytest.raises(Unreachable):
        read_machine(kind, f"http://127.0.0.1:{closed_port()}", None, timeout=1)
    with silent_server() as port, pytest.raises(Unreachable, match="timeout"):
        read_machine(kind, f"http://127.0.0.1:{port}", None, timeout=1)
    with recorded_server() as (url, recorded):
        recorded.answers = prusalink_printing(10.0) | moonraker("printing", 0.1) | {
            "/api/printer": (200, {"state": {"flags": {"printing": True}}}),
            "/api/job": (200, {"state": "Printing"})}
        recorded.trickle = 0.3  # a byte every 0.3 s: each read is quick, the whole is not
        with pytest.raises(Unreachable, match="timeout"):
            read_machine(kind, url, None, timeout=1)
    assert time.monotonic() - started < 12
