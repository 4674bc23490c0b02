"""Tiny HTTP servers in the test process on 127.0.0.1: recorded answers of PrusaLink's and
Moonraker's documented APIs (set per test, so a job can start, run and end), a server that
answers too slowly, and one that never answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Recorded:
    """Answers by path (query included or not): `answers["/api/v1/status"] = (200, {...})`.
    Remembers the requests' paths and headers."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.delay = 0.0  # seconds before each answer
        self.trickle = 0.0  # seconds between the bytes of each answer


def _handler(recorded: Recorded) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            recorded.seen.append((self.path, dict(self.headers)))
            time.sleep(recorded.delay)
            found = recorded.answers.get(self.path) or recorded.answers.get(
                self.path.split("?")[0])
            status, body = found if found else (404, {"error": "not found"})
            raw = b"" if status == 204 else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            if recorded.trickle:
                for byte in raw:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(recorded.trickle)
            else:
                self.wfile.write(raw)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


@contextmanager
def recorded_server() -> Iterator[tuple[str, Recorded]]:
    recorded = Recorded()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorded))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    finally:
        server.shutdown()
        server.server_close()


# -- PrusaLink v1 (Prusa-Link-Web's openapi.yaml: /api/v1/status, /api/v1/job) ----------

def prusalink_printing(progress: float, *, job_id: int = 297) -> dict[str, Any]:
    return {"/api/v1/status": (200, {
        "job": {"id": job_id, "progress": progress, "time_remaining": 1800,
                "time_printing": 600},
        "storage": {"path": "/usb/", "name": "usb", "read_only": False},
        "printer": {"state": "PRINTING", "temp_bed": 60.0, "target_bed": 60.0,
                    "temp_nozzle": 215.0, "target_nozzle": 215.0, "axis_z": 2.4,
                    "flow": 100, "speed": 100, "fan_hotend": 3500, "fan_print": 4000}}),
        "/api/v1/job": (200, {
            "id": job_id, "state": "PRINTING", "progress": progress, "time_remaining": 1800,
            "time_printing": 600,
            "file": {"refs": {"download": "/usb/NOKKEL~1.BGC"}, "name": "NOKKEL~1.BGC",
                     "display_name": "nokkelring_0.4n_0.2mm_PLA_MK4_20m.bgcode",
                     "path": "/usb", "size": 362342, "m_timestamp": 1701860402,
                     "meta": {"filament used [g]": 5.2, "filament used [mm]": 1740.5,
                              "filament_type": "PLA",
                              "estimated printing time (normal mode)": "20m 10s"}}})}


def prusalink_finished(*, job_id: int = 297, word: str = "FINISHED") -> dict[str, Any]:
    answers = prusalink_printing(100.0, job_id=job_id)
    answers["/api/v1/status"][1]["printer"]["state"] = word
    answers["/api/v1/job"][1]["state"] = word
    return answers


PRUSALINK_IDLE = {"/api/v1/status": (200, {"printer": {"state": "IDLE", "temp_bed": 22.1,
                                                       "temp_nozzle": 23.4}}),
                  "/api/v1/job": (204, None)}


# -- Moonraker (docs: printer objects query, history list) --------------------------------

def moonraker(state: str, progress: float, *, filename: str = "nokkelring.gcode",
              history_status: str = "in_progress", job_id: str = "000042") -> dict[str, Any]:
    return {
        "/printer/objects/query?print_stats&virtual_sdcard&webhooks": (200, {"result": {
            "eventtime": 578243.57,
            "status": {
                "webhooks": {"state": "ready", "state_message": "Printer is ready"},
                "virtual_sdcard": {"progress": progress, "is_active": state == "printing",
                                   "file_position": 12345},
                "print_stats": {"filename": filename, "total_duration": 700.0,
                                "print_duration": 600.0, "filament_used": 1740.5,
                                "state": state, "message": ""}}}}),
        "/server/history/list?limit=1&order=desc": (200, {"result": {"count": 1, "jobs": [{
            "job_id": job_id, "exists": True, "end_time": None, "filament_used": 1740.5,
            "filename": filename, "metadata": {"estimated_time": 1800,
                                               "filament_weight_total": 5.2},
            "print_duration": 600.0, "status": history_status, "start_time": 1764493200.0,
            "total_duration": 700.0}]}})}
