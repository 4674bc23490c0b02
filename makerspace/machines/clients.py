"""Reading a machine's state over HTTP, one client per kind of machine software, each with
the system's documented API:

- OctoPrint: `GET /api/printer` (the printer's state flags) and `GET /api/job` (the job,
  its progress and the filament it needs), header `X-Api-Key`;
- Moonraker (Klipper): `GET /printer/objects/query?print_stats&virtual_sdcard&webhooks` and
  the job history `GET /server/history/list?limit=1&order=desc`, header `X-Api-Key`;
- PrusaLink v1: `GET /api/v1/status` and `GET /api/v1/job` (204 when there is no job),
  header `X-Api-Key`, or HTTP digest when the key is given as `user:password`.

Each answers a `Reading` (or raises `Unreachable`) within the timeout: a machine that does
not answer costs at most `timeout` seconds a request and never an exception elsewhere.
Nothing here touches the database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from makerspace.machines.models import ConnectionKind

# Grams per millimetre of 1.75 mm PLA (1.24 g/cm³): where a machine reports only length.
PLA_GRAMS_PER_MM = 3.14159 * 0.875**2 * 1.24 / 1000

MAX_ANSWER_BYTES = 1024 * 1024

# What a Reading's state may be.
IDLE, PRINTING, PAUSED = "idle", "printing", "paused"
FINISHED, FAILED, CANCELLED = "finished", "failed", "cancelled"
ERROR, DISCONNECTED = "error", "disconnected"
STATES = (IDLE, PRINTING, PAUSED, FINISHED, FAILED, CANCELLED, ERROR, DISCONNECTED)


@dataclass(frozen=True)
class Reading:
    """What a machine says about itself, the same for every kind."""

    state: str  # one of STATES
    job_key: str | None = None  # names the job (file name, job id); None without one
    progress: float | None = None  # percent, 0–100
    seconds_left: float | None = None
    seconds_printing: float | None = None
    filament_mm: float | None = None
    filament_grams: float | None = None
    started_epoch: float | None = None  # when the machine says the job started (Unix time)
    detail: str = ""  # the machine's own word for its state

    @property
    def has_job(self) -> bool:
        return self.state in (PRINTING, PAUSED)


class Unreachable(Exception):  # noqa: N818  (a state, not a programming error)
    """The machine did not answer, or not in a way we understand; `reason` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _percent(value: Any, scale: float = 1.0) -> float | None:
    number = _number(value)
    return None if number is None else max(0.0, min(100.0, number * scale))


class Client:
    """One machine's HTTP session."""

    def __init__(self, url: str, api_key: str | None, *, timeout: float) -> None:
        # requests (5 MB) is loaded by the poller, not by every web worker
        import requests

        self.base = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies from the environment: printers are local
        self.session.headers["Accept"] = "application/json"
        self.session.headers["User-Agent"] = "Folkeverksted machine poller"
        if api_key:
            self.authenticate(api_key)

    def authenticate(self, api_key: str) -> None:
        self.session.headers["X-Api-Key"] = api_key

    def get(self, path: str, *, allow: tuple[int, ...] = ()) -> tuple[int, Any]:
        # The timeout bounds each wait for bytes; the deadline bounds the whole answer (a
        # server that trickles a byte a second would otherwise hold the poll for ever).
        import requests

        deadline = time.monotonic() + 2 * self.timeout
        body = bytearray()
        try:
            with self.session.get(self.base + path, timeout=self.timeout, stream=True,
                                  allow_redirects=False) as response:
                if response.status_code in (401, 403):
                    raise Unreachable(f"key refused ({response.status_code})")
                if response.status_code in allow:
                    return response.status_code, None
                if response.status_code != 200:
                    raise Unreachable(f"HTTP {response.status_code} from {path}")
                # read1: whatever has arrived (one socket read), so the deadline is looked at
                # between every few bytes however slowly they come.
                while chunk := response.raw.read1(8192, decode_content=True):
                    body += chunk
                    if time.monotonic() > deadline:
                        raise Unreachable("timeout")
                    if len(body) > MAX_ANSWER_BYTES:
                        raise Unreachable(f"answer too large from {path}")
        except requests.Timeout:
            raise Unreachable("timeout") from None
        except requests.RequestException as error:
            raise Unreachable(f"connection: {type(error).__name__}") from None
        try:
            return 200, json.loads(body)
        except ValueError:
            raise Unreachable(f"not JSON from {path}") from None

    def read(self) -> Reading:
        raise NotImplementedError

    def close(self) -> None:
        self.session.close()


class OctoPrint(Client):
    def read(self) -> Reading:
        status, printer = self.get("/api/printer?exclude=temperature,sd", allow=(409,))
        if status == 409:  # OctoPrint runs, the printer is not connected to it
            return Reading(DISCONNECTED, detail="printer not connected")
        _, answer = self.get("/api/job")
        flags = ((printer or {}).get("state") or {}).get("flags") or {}
        text = str(((printer or {}).get("state") or {}).get("text") or answer.get("state", ""))
        job = answer.get("job") or {}
        progress = answer.get("progress") or {}
        file = job.get("file") or {}
        key = file.get("path") or file.get("name")
        if flags.get("paused") or flags.get("pausing"):
            state = PAUSED
        elif flags.get("printing") or flags.get("cancelling") or flags.get("finishing"):
            state = PRINTING
        elif flags.get("error") or flags.get("closedOrError"):
            state = ERROR
        else:
            state = IDLE  # the poller tells "finished" from "cancelled" by the progress
        filament = (job.get("filament") or {}).get("tool0") or {}
        volume = _number(filament.get("volume"))
        return Reading(
            state, job_key=key, progress=_percent(progress.get("completion")),
            seconds_left=_number(progress.get("printTimeLeft")),
            seconds_printing=_number(progress.get("printTime")),
            filament_mm=_number(filament.get("length")),
            filament_grams=round(volume * 1.24, 1) if volume else None, detail=text[:30])


MOONRAKER_STATES = {"standby": IDLE, "printing": PRINTING, "paused": PAUSED,
                    "complete": FINISHED, "cancelled": CANCELLED, "error": FAILED}


class Moonraker(Client):
    def read(self) -> Reading:
        _, answer = self.get("/printer/objects/query?print_stats&virtual_sdcard&webhooks")
        status = ((answer or {}).get("result") or {}).get("status") or {}
        klippy = (status.get("webhooks") or {}).get("state", "ready")
        if klippy != "ready":
            return Reading(ERROR if klippy in ("error", "shutdown") else DISCONNECTED,
                           detail=str(klippy)[:30])
        stats = status.get("print_stats") or {}
        state = MOONRAKER_STATES.get(str(stats.get("state", "")), IDLE)
        progress = _percent((status.get("virtual_sdcard") or {}).get("progress"), 100)
        printing = _number(stats.get("print_duration"))
        key, started, grams = stats.get("filename") or None, None, None
        _, history = self.get("/server/history/list?limit=1&order=desc")
        jobs = ((history or {}).get("result") or {}).get("jobs") or []
        if jobs and jobs[0].get("filename") == stats.get("filename"):
            last = jobs[0]
            key = f"{last.get('job_id')}:{last.get('filename')}"
            started = _number(last.get("start_time"))
            grams = _number((last.get("metadata") or {}).get("filament_weight_total"))
        left = None
        if printing and progress:
            left = printing * (100 - progress) / progress
        return Reading(state, job_key=key, progress=progress, seconds_left=left,
                       seconds_printing=printing,
                       filament_mm=_number(stats.get("filament_used")), filament_grams=grams,
                       started_epoch=started, detail=str(stats.get("state", ""))[:30])


PRUSALINK_STATES = {"PRINTING": PRINTING, "PAUSED": PAUSED, "ATTENTION": PAUSED,
                    "FINISHED": FINISHED, "STOPPED": CANCELLED, "ERROR": FAILED}


class PrusaLink(Client):
    def authenticate(self, api_key: str) -> None:
        user, colon, password = api_key.partition(":")
        if colon:  # PrusaLink's own log-in (user "maker" and the password from the printer)
            from requests.auth import HTTPDigestAuth

            self.session.auth = HTTPDigestAuth(user, password)
        else:
            super().authenticate(api_key)

    def read(self) -> Reading:
        _, status = self.get("/api/v1/status")
        printer = (status or {}).get("printer") or {}
        word = str(printer.get("state", ""))
        state = PRUSALINK_STATES.get(word, IDLE)
        code, job = self.get("/api/v1/job", allow=(204,))
        if code == 204 or not job:
            return Reading(state if state not in (PRINTING, PAUSED) else IDLE, detail=word[:30])
        meta = (job.get("file") or {}).get("meta") or {}
        file = job.get("file") or {}
        return Reading(
            PRUSALINK_STATES.get(str(job.get("state", word)), state),
            job_key=f"{job.get('id')}:{file.get('name', '')}",
            progress=_percent(job.get("progress")),
            seconds_left=_number(job.get("time_remaining")),
            seconds_printing=_number(job.get("time_printing")),
            filament_mm=_number(meta.get("filament used [mm]")),
            filament_grams=_number(meta.get("filament used [g]")), detail=word[:30])


CLIENTS: dict[ConnectionKind, Callable[..., Client]] = {
    ConnectionKind.OCTOPRINT: OctoPrint, ConnectionKind.MOONRAKER: Moonraker,
    ConnectionKind.PRUSALINK: PrusaLink}


def read_machine(kind: ConnectionKind, url: str, api_key: str | None, *,
                 timeout: float) -> Reading:
    """Ask the machine once; raises Unreachable."""
    client = CLIENTS[kind](url, api_key, timeout=timeout)
    try:
        return client.read()
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise Unreachable(f"unexpected answer: {type(error).__name__}") from None
    finally:
        client.close()
