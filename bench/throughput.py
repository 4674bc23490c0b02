"""Benchmark: HTTP throughput of the project under gunicorn, side by side with a ceiling.

For SQLite (a temporary file) and PostgreSQL (a `makerspace_bench_<random>` database of its own
on the server of BENCH_DATABASE_URL or TEST_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test; dropped at the end) this script migrates an
empty database, fills it with generated data, starts the project as production runs it

    gunicorn --workers 2 --bind 127.0.0.1:<free port> --no-control-socket wsgi:app

(ENVIRONMENT=production, a random SECRET_KEY, WEB_CONCURRENCY=2, RATELIMIT_STORAGE_URI on the
local Redis, LOG_FORMAT=json with stderr kept in a log file, no MAIL_* settings) and, next to
it, the ceiling (bench/ceiling_app.py: bare Flask + SQLAlchemy + Jinja reading one row by
primary key from a one-table database of the same kind, and a hello-world route) under gunicorn
with the same two sync workers. It loads both, one after the other for every row, with
`wrk -t2 -c16 -d<BENCH_SECONDS>s --latency` (installed with `apt-get install -y wrk` when
missing) or, for rows with a bounded number of different requests, with a Python load
generator (16 threads, one keep-alive http.client connection each; the ceiling of such a row
is measured with the same generator). It prints a Markdown report: versions, then per database
a table of req/s, p50 and p99 latency, the ceiling's req/s, the ratio, the target and whether
it is met.

Rows (keys for BENCH_ONLY):

  availability    1  GET /api/v1/equipment/<id>/availability?from=<today>&days=7   >= 0.5
  etag            2  the same with If-None-Match (304) vs the ceiling's hello-world  >= 0.8
  checkin_first   3a POST /api/v1/checkins, every request a different booking       >= 0.5
  checkin_repeat  3b POST /api/v1/checkins, the same (checked-in) code again         >= 0.5
  booking         4  POST /api/v1/bookings, 16 clients, every request a free slot   >= 0.2
  week_page       5a GET /equipment/<id> (a machine's week, HTML)                    >= 0.4
  branch_page     5b GET /branches/<slug> (HTML)                                     >= 0.4
  feed            6  GET /calendar/branches/<slug>/events.ics, 200 events           >= 0.2
  feed_rebuild    7  GET /calendar/events.ics (5,000 events) right after a change   <= 150 ms
  history         8  rows 1 and 3b again with BENCH_HISTORY_LARGE past bookings
                     (instead of BENCH_HISTORY_SMALL): within 1.2x
  memory          9  VmRSS of every gunicorn worker after the run                    <= 120 MB

    .venv/bin/python bench/throughput.py            # or: make bench-http
    BENCH_LARGE=0 BENCH_SECONDS=3 BENCH_DATABASES=sqlite BENCH_ONLY=availability,etag \\
        .venv/bin/python bench/throughput.py

Environment: BENCH_SECONDS (8), BENCH_DATABASES (sqlite,postgresql), BENCH_ONLY (all rows),
BENCH_HISTORY_SMALL (10000), BENCH_HISTORY_LARGE (1000000), BENCH_LARGE (1; 0 skips row 8),
BENCH_SCANS (2000 first scans), BENCH_BOOKINGS (1000 bookings), BENCH_FEED_REPEAT (7),
BENCH_REDIS_URL (redis://127.0.0.1:6379/15), BENCH_DATABASE_URL / TEST_DATABASE_URL.
Progress goes to stderr, the report to stdout; the gunicorn logs stay in a folder under /tmp
named in the report.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from makerspace import create_app  # noqa: E402
from makerspace.accounts.models import Role, User  # noqa: E402
from makerspace.accounts.services import create_user, issue_api_token  # noqa: E402
from makerspace.booking.models import (  # noqa: E402
    Booking,
    BookingStatus,
    Cancellation,
    Equipment,
    EquipmentKind,
)
from makerspace.booking.rules import RULE_DEFAULTS  # noqa: E402
from makerspace.booking.services import create_equipment  # noqa: E402
from makerspace.branches.hours import local_moment, set_weekly_hours  # noqa: E402
from makerspace.branches.models import Branch  # noqa: E402
from makerspace.checkin.codes import new_checkin_token  # noqa: E402
from makerspace.events.models import Event  # noqa: E402
from makerspace.extensions import db  # noqa: E402
from tests.databases import postgres_database, sqlite_database, test_config  # noqa: E402

# -- settings -----------------------------------------------------------------------------

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
THREADS, CONNECTIONS, WORKERS = 2, 16, 2
HISTORY_SMALL = int(os.environ.get("BENCH_HISTORY_SMALL", "10000"))
HISTORY_LARGE = int(os.environ.get("BENCH_HISTORY_LARGE", "1000000"))
LARGE = os.environ.get("BENCH_LARGE", "1").strip().lower() not in ("0", "false", "no", "")
SCANS = int(os.environ.get("BENCH_SCANS", "2000"))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "1000"))
FEED_REPEAT = int(os.environ.get("BENCH_FEED_REPEAT", "7"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_URL = (os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
          or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASES = [d.strip() for d in os.environ.get("BENCH_DATABASES", "sqlite,postgresql")
             .split(",") if d.strip()]

ROWS = {  # key: (number, what)
    "availability": ("1", "GET availability, 7 days"),
    "etag": ("2", "GET availability, If-None-Match → 304"),
    "checkin_first": ("3a", "POST /api/v1/checkins, first scans"),
    "checkin_repeat": ("3b", "POST /api/v1/checkins, same code again"),
    "booking": ("4", "POST /api/v1/bookings, distinct free slots"),
    "week_page": ("5a", "GET machine week page (HTML)"),
    "branch_page": ("5b", "GET branch page (HTML)"),
    "feed": ("6", "GET branch iCal feed, 200 events, no If-None-Match"),
    "feed_rebuild": ("7", "GET 5,000-event feed after one change"),
    "history": ("8", "history"),
    "memory": ("9", "gunicorn worker RSS after the run"),
}
ONLY = [k.strip() for k in os.environ.get("BENCH_ONLY", "").split(",") if k.strip()] or list(ROWS)

ZONE = ZoneInfo("Europe/Oslo")
VENV_BIN = REPO_ROOT / ".venv" / "bin"
WRK_SCRIPT = REPO_ROOT / "bench" / "wrk" / "status.lua"
MACHINES = [("Prusa MK4 #1", "3d-printer"), ("Prusa MK4 #2", "3d-printer"),
            ("Bambu X1", "3d-printer"), ("Glowforge Pro", "laser-cutter"),
            ("Cricut Maker", "vinyl-cutter"), ("Bernina 335", "sewing-machine"),
            ("Podcast studio", "podcast-studio"), ("Meta Quest 3", "vr-kit")]
HISTORY_USERS = 200
OPENS, CLOSES = 8 * 60, 20 * 60  # every branch here is open 08:00–20:00 every day
HISTORY_SLOT = 30  # past bookings fill half-hour segments, 95 % of them
FUTURE_DAYS, FUTURE_SHARE = 14, 0.4  # confirmed bookings in 40 % of the coming hours
FEED_EVENTS, ALL_EVENTS, OTHER_BRANCHES = 200, 5000, 8
WARM = 20  # extra scans and slots for warming the workers up on the write paths
BOOKING_DAYS = 5  # bookings go to the next 5 days (the machines allow 14 ahead)
BOOKING_QUOTA, BOOKINGS_PER_PERSON = 10, 8
CEILING_ITEM = 42
BATCH = 20_000
BEGAN = time.perf_counter()


def say(message: str) -> None:
    sys.stdout.flush()
    print(f"[{time.perf_counter() - BEGAN:6.0f} s] {message}", file=sys.stderr, flush=True)


# -- loading: wrk and a bounded Python generator --------------------------------------------

@dataclass
class Load:
    tool: str
    requests: int
    seconds: float
    statuses: Counter[int]  # status code -> answers; 0: no answer (connection error)
    p50_ms: float
    p99_ms: float
    errors: str = ""  # wrk's socket errors, if any

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def status_text(self) -> str:
        return ", ".join(f"{n:,} × {'no answer' if s == 0 else s}"
                         for s, n in sorted(self.statuses.items()))


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def with_headers(self, **extra: str) -> Request:
        return Request(self.method, self.path, self.body, self.headers + tuple(
            (k.replace("_", "-"), v) for k, v in extra.items()))


def json_request(method: str, path: str, payload: Any, token: str) -> Request:
    return Request(method, path, json.dumps(payload).encode(),
                   (("Content-Type", "application/json"), ("Authorization", f"Bearer {token}")))


def percentile(sorted_ms: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return math.nan
    return sorted_ms[max(0, math.ceil(share * len(sorted_ms)) - 1)]


def python_load(port: int, pick: Callable[[int], Request], *, count: int | None = None,
                seconds: float | None = None, connections: int = CONNECTIONS) -> Load:
    """`connections` threads, each with one http.client connection (reopened when the server
    closes it, as gunicorn's sync workers do after every answer), send pick(0), pick(1), …
    until `count` requests were sent or `seconds` passed. Latency is from sending the request
    to the end of the answer (connecting is not counted, as in wrk)."""
    counter = itertools.count()
    start_gate = threading.Barrier(connections + 1)
    results: list[list[tuple[float, int]]] = [[] for _ in range(connections)]
    deadline: list[float] = [math.inf]

    def work(mine: list[tuple[float, int]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start_gate.wait()
        while True:
            index = next(counter)
            if (count is not None and index >= count) or time.perf_counter() > deadline[0]:
                break
            request = pick(index)
            try:
                if connection.sock is None:
                    connection.connect()
                started = time.perf_counter()
                connection.request(request.method, request.path, body=request.body,
                                   headers=dict(request.headers))
                response = connection.getresponse()
                response.read()
                mine.append(((time.perf_counter() - started) * 1000, response.status))
            except (OSError, http.client.HTTPException):
                connection.close()
                mine.append((math.nan, 0))
        connection.close()

    threads = [threading.Thread(target=work, args=(results[n],), daemon=True)
               for n in range(connections)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    if seconds is not None:
        deadline[0] = began + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    samples = [s for mine in results for s in mine]
    latencies = sorted(ms for ms, status in samples if status)
    return Load("python", len(samples), elapsed, Counter(status for _ms, status in samples),
                percentile(latencies, 0.50), percentile(latencies, 0.99))


WRK: str | None = None
WRK_NOTE = ""


def ensure_wrk() -> None:
    """wrk from PATH, else `apt-get install -y wrk` (said so in the report); else the Python
    generator, time-bounded, for every row."""
    global WRK, WRK_NOTE
    WRK = shutil.which("wrk")
    if WRK is not None:
        return
    say("wrk is missing: apt-get install -y wrk")
    apt = shutil.which("apt-get") or "/usr/bin/apt-get"
    try:
        done = subprocess.run([apt, "install", "-y", "wrk"], capture_output=True, text=True,  # noqa: S603  (fixed arguments, no shell)
                              check=False)
        why = f"exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1]}"
    except OSError as error:
        why = str(error)
    WRK = shutil.which("wrk")
    if WRK is not None:
        WRK_NOTE = "wrk was not installed; this run installed it with `apt-get install -y wrk`"
    else:
        WRK_NOTE = (f"wrk was not installed and `apt-get install -y wrk` failed ({why}); "
                    "every row used the Python load generator for BENCH_SECONDS instead")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Load:
    """Requests, seconds, the latency distribution's 50 % and 99 % lines and the status
    counts that bench/wrk/status.lua prints."""
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if total is None:
        raise RuntimeError(f"wrk printed no totals:\n{output}")
    seconds = _ms(total.group(2) + total.group(3)) / 1000
    points = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)\s*$", output, re.MULTILINE))
    statuses = Counter({int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", output,
                                                              re.MULTILINE)})
    errors = re.search(r"Socket errors: (.*)", output)
    return Load("wrk", int(total.group(1)), seconds, statuses,
                _ms(points["50"]) if "50" in points else math.nan,
                _ms(points["99"]) if "99" in points else math.nan,
                errors.group(1).strip() if errors else "")


def wrk_load(port: int, request: Request, seconds: int = SECONDS) -> Load:
    """wrk -t2 -c16 for `seconds` on one request, repeated."""
    if WRK is None:
        return python_load(port, lambda _i: request, seconds=seconds)
    command = [WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
               "--timeout", "10s", "-s", str(WRK_SCRIPT)]
    for name, value in request.headers:
        if name.lower() != "content-type":  # the Lua script sets it with the body
            command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{request.path}")
    env = {**os.environ, "WRK_METHOD": request.method,
           "WRK_BODY": request.body.decode() if request.body else ""}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False,  # noqa: S603  (our arguments, no shell)
                          timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    settle(port)
    return parse_wrk(done.stdout)


def settle(port: int) -> None:
    """Let the workers finish what wrk left behind: when it stops, requests it had sent are
    still queued at the socket, and a sync worker serves each of them (after wrk stopped
    counting). A few /healthz behind them, then a moment: the next step starts on idle
    workers (and, on SQLite, no leftover write waits on a lock the bench takes next)."""
    python_load(port, lambda _i: Request("GET", "/healthz"), count=4 * WORKERS,
                connections=WORKERS)
    time.sleep(0.3)


def fetch(port: int, request: Request) -> tuple[int, dict[str, str], bytes, float]:
    """One request on a new connection: status, headers, body, milliseconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.connect()
        started = time.perf_counter()
        connection.request(request.method, request.path, body=request.body,
                           headers=dict(request.headers))
        response = connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, dict(response.getheaders()), body, elapsed
    finally:
        connection.close()


def header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _start_within_one_minute(seconds: float) -> None:
    """Wait for the next minute if fewer than `seconds` of this one are left."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.5)


def warm_up(port: int, pick: Callable[[int], Request], count: int = 40) -> Counter[int]:
    """A few requests on 4 connections, so that both workers have loaded what they need."""
    return python_load(port, pick, count=count, connections=4).statuses


# -- servers --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A gunicorn master with WORKERS sync workers, its output in a log file."""

    def __init__(self, name: str, app: str, env: dict[str, str], log: Path,
                 chdir: Path | None = None) -> None:
        self.name, self.app, self.env, self.log, self.chdir = name, app, env, log, chdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(VENV_BIN / "gunicorn"), "--workers", str(WORKERS), "--bind",
                   f"127.0.0.1:{self.port}", "--no-control-socket"]
        if self.chdir is not None:
            command += ["--chdir", str(self.chdir)]
        command.append(self.app)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=self.env,  # noqa: S603
                                            stdout=log, stderr=log, start_new_session=True)

    def wait_ready(self, timeout: float = 90) -> None:
        """Until /healthz answers 200 and every worker is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}); the end of "
                                   f"{self.log}:\n{self.log_tail()}")
            try:
                status, _headers, _body, _ms = fetch(self.port, Request("GET", "/healthz"))
                if status == 200 and len(self.worker_pids()) == WORKERS:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer /healthz in {timeout} s:\n"
                           f"{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The master's children, from /proc."""
        if self.process is None:
            return []
        children = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                              if ":\t" in line)
            except OSError:
                continue
            if fields.get("PPid", "").strip() == str(self.process.pid):
                children.append(int(status.parent.name))
        return sorted(children)

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return sizes

    def stop(self) -> None:
        """SIGTERM to the master (gunicorn stops its workers); SIGKILL to the group it leads
        if it has not stopped in 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def project_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAIL_", "GUNICORN_", "WRK_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY=secrets.token_hex(32),
               ENVIRONMENT="production", WEB_CONCURRENCY=str(WORKERS),
               RATELIMIT_STORAGE_URI=redis_url, LOG_FORMAT="json")
    return env


def ceiling_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "WRK_"))}
    env["CEILING_DATABASE_URL"] = database_url
    return env


# -- what else runs on the machine ----------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds so far)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace") or raw[raw.index("(") + 1:raw.rindex(")")]
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        found[int(stat.parent.name)] = (int(fields[1]), command,
                                        (int(fields[11]) + int(fields[12])) / TICKS)
    return found


class CpuWatch:
    """CPU time used between start() and share() by processes other than this script, its
    children (gunicorn, wrk), its shells, Redis and PostgreSQL's own (background processes and
    the backends of this run's databases): another engineer's tests or benchmarks on the same
    two cores make every number here lower. A lower bound: a process that ends in between is
    not counted."""

    def __init__(self, databases: set[str]) -> None:
        self.databases = databases

    def start(self) -> None:
        self.before, self.began = _processes(), time.perf_counter()

    def _others(self, command: str) -> bool:
        parts = command.split() or [""]
        if parts[0].startswith("redis-server") or parts[0].endswith("/postgres"):
            return False
        if parts[0] == "postgres:":  # "postgres: 15/main: <user> <database> <client> …"
            return "(" in command and len(parts) > 3 and parts[3] not in self.databases
        return True

    def share(self) -> float:
        """Other processes' CPU as a share of the machine's CPUs since start()."""
        after = _processes()
        mine, grew = {os.getpid()}, True
        while grew:
            more = {pid for pid, (parent, _c, _s) in after.items() if parent in mine}
            grew = not more <= mine
            mine |= more
        parent = after.get(os.getpid(), (0, "", 0.0))[0]
        while parent > 1 and parent in after:  # the shells above this script
            mine.add(parent)
            parent = after[parent][0]
        used = sum(seconds - (self.before[pid][2] if pid in self.before else 0.0)
                   for pid, (_p, command, seconds) in after.items()
                   if pid not in mine and self._others(command))
        wall = (time.perf_counter() - self.began) * (os.cpu_count() or 1)
        return max(used, 0.0) / wall if wall else 0.0


# -- data -----------------------------------------------------------------------------------

@dataclass
class Scene:
    backend: str
    app: Flask
    machine_id: int = 0  # the measured machine, at the branch "bench"
    bench_machine_ids: list[int] = field(default_factory=list)
    history_user_ids: list[int] = field(default_factory=list)
    librarian_token: str = ""
    repeat_code: str = ""
    scan_machine_ids: list[int] = field(default_factory=list)
    booking_machine_ids: list[int] = field(default_factory=list)
    booking_tokens: list[str] = field(default_factory=list)
    all_event_ids: list[int] = field(default_factory=list)
    feed_event_ids: list[int] = field(default_factory=list)
    history: int = 0
    notes: list[str] = field(default_factory=list)


def per_machine(total: int, machines: int) -> list[int]:
    return [total // machines + (i < total % machines) for i in range(machines)]


def past_segments(now: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Half-hour segments of the opening hours that ended by `now`, newest first, leaving out
    one in twenty (hours nobody booked)."""
    today = now.astimezone(ZONE).date()
    step = timedelta(minutes=HISTORY_SLOT)
    per_day = (CLOSES - OPENS) // HISTORY_SLOT
    for back in itertools.count():
        day = today - timedelta(days=back)
        opens = local_moment(day, OPENS, ZONE)  # no clock change between 08:00 and 20:00
        for index in reversed(range(per_day)):
            if (back * per_day + index) % 20 == 7:
                continue
            start = opens + index * step
            if start + step <= now:
                yield start, start + step


def history_rows(machine_ids: list[int], user_ids: list[int], total: int, now: datetime,
                 rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    """`total` past bookings in batches, shared out over the machines, each machine's going
    back from now without gaps or overlaps; mostly completed, some cancelled or no-shows."""
    batch: list[dict[str, Any]] = []
    for machine_id, count in zip(machine_ids, per_machine(total, len(machine_ids)),
                                 strict=True):
        for start, end in itertools.islice(past_segments(now), count):
            draw = rng.random()
            status = (BookingStatus.COMPLETED if draw < 0.80 else
                      BookingStatus.CANCELLED if draw < 0.92 else BookingStatus.NO_SHOW)
            user_id = user_ids[rng.randrange(len(user_ids))]
            created = start - timedelta(days=rng.randint(0, 14), minutes=rng.randint(0, 600))
            cancelled = status == BookingStatus.CANCELLED
            batch.append({
                "equipment_id": machine_id, "user_id": user_id, "start_at": start,
                "end_at": end, "occupied_until": end, "status": status,
                "created_by_id": user_id, "created_at": created, "updated_at": created,
                "cancelled_at": created if cancelled else None,
                "cancelled_by_id": user_id if cancelled else None,
                "cancel_reason": "Kan ikke komme" if cancelled else "",
                "cancellation": Cancellation.BY_CITIZEN if cancelled else None,
                "checked_in_at": start if status == BookingStatus.COMPLETED else None,
                "checkin_token": new_checkin_token(), "sequence": 0, "age_band": "26-66"})
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


COPY_COLUMNS = ("equipment_id", "user_id", "start_at", "end_at", "occupied_until", "status",
                "created_by_id", "created_at", "updated_at", "cancelled_at", "cancelled_by_id",
                "cancel_reason", "cancellation", "checked_in_at", "checkin_token", "sequence",
                "age_band")


def insert_bookings(backend: str, batches: Iterator[list[dict[str, Any]]]) -> int:
    """Bulk insert: COPY on PostgreSQL; on SQLite executemany in one transaction with the
    overlap triggers taken down meanwhile (they scan every later booking of the machine when
    older history arrives) and put back exactly as they were. Commits."""
    total = 0
    if backend == "postgresql":
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
                f"COPY bookings ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for batch in batches:
                for row in batch:
                    copy.write_row([getattr(v, "value", v) for v in
                                    (row[c] for c in COPY_COLUMNS)])
                total += len(batch)
        db.session.commit()
        return total
    connection = db.session.connection()
    triggers = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'bookings'"
    ).all()
    for name, _sql in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    # The driver's executemany on values in the form SQLAlchemy stores (UTC, no zone,
    # microseconds): SQLAlchemy's per-value conversion would take twice as long.
    cursor = connection.connection.driver_connection.cursor()
    statement = (f"INSERT INTO bookings ({', '.join(COPY_COLUMNS)}) "  # noqa: S608  (our names)
                 f"VALUES ({', '.join('?' * len(COPY_COLUMNS))})")
    for batch in batches:
        cursor.executemany(statement, [tuple(_sqlite_value(row[c]) for c in COPY_COLUMNS)
                                       for row in batch])
        total += len(batch)
    cursor.close()
    for _name, sql in triggers:
        connection.exec_driver_sql(sql)
    db.session.commit()
    return total


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return getattr(value, "value", value)


def libpq_dsn(url: Any) -> str:
    return make_url(str(url) if not isinstance(url, str) else url).set(
        drivername="postgresql").render_as_string(hide_password=False)


def analyze(backend: str) -> None:
    """Fresh planner statistics (and on PostgreSQL a vacuumed table and a checkpoint, so that
    no background work from the bulk load runs while we measure)."""
    if backend == "postgresql":
        db.session.commit()
        dsn = libpq_dsn(db.engine.url.render_as_string(hide_password=False))
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute("VACUUM (ANALYZE)")
            try:
                connection.execute("CHECKPOINT")
            except psycopg.Error:
                pass  # needs a superuser (or pg_checkpoint); fine without
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        raw = db.engine.raw_connection()  # outside a transaction, which a checkpoint needs
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


def add_branch(slug: str, name: str, *, hours: bool, quota: int = 3) -> Branch:
    branch = Branch(slug=slug, name=name, municipality="Trondheim", timezone="Europe/Oslo",
                    closed_on_public_holidays=False, max_upcoming_bookings=quota)
    db.session.add(branch)
    db.session.flush()
    if hours:
        set_weekly_hours(branch, {d: [("08:00", "20:00")] for d in
                                  ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    return branch


def add_citizens(prefix: str, count: int, now: datetime) -> list[int]:
    db.session.execute(insert(User), [
        {"email": f"{prefix}{n}@example.no", "name": f"Person {prefix} {n}",
         "password_hash": "!", "birth_year": 1950 + n % 60, "role": Role.CITIZEN,
         "email_verified_at": now, "created_at": now, "updated_at": now}
        for n in range(count)])
    return list(db.session.scalars(select(User.id).where(User.email.like(f"{prefix}%"))
                                   .order_by(User.id)))


def add_machines(branch: Branch, count: int, prefix: str, **rules: Any) -> list[int]:
    now = datetime.now(UTC)
    db.session.execute(insert(Equipment), [
        {"branch_id": branch.id, "name": f"{prefix} {n + 1}", "kind": EquipmentKind.PRINTER_3D,
         "description": "", **{**RULE_DEFAULTS, **rules}, "created_at": now, "updated_at": now}
        for n in range(count)])
    return list(db.session.scalars(select(Equipment.id).where(Equipment.branch_id == branch.id)
                                   .order_by(Equipment.id)))


def future_rows(machine_ids: list[int], user_ids: list[int], now: datetime,
                rng: random.Random) -> list[dict[str, Any]]:
    """Confirmed bookings in 40 % of the coming two weeks' opening hours."""
    today = now.astimezone(ZONE).date()
    rows = []
    for machine_id in machine_ids:
        hours = [local_moment(today + timedelta(days=d), m, ZONE)
                 for d in range(FUTURE_DAYS + 1) for m in range(OPENS, CLOSES, 60)]
        hours = [h for h in hours if h >= now + timedelta(minutes=1)]
        for start in sorted(rng.sample(hours, int(len(hours) * FUTURE_SHARE))):
            user_id = rng.choice(user_ids)
            rows.append({"equipment_id": machine_id, "user_id": user_id, "start_at": start,
                         "end_at": start + timedelta(hours=1),
                         "occupied_until": start + timedelta(hours=1),
                         "status": BookingStatus.CONFIRMED, "created_by_id": user_id,
                         "created_at": now, "updated_at": now, "cancel_reason": "",
                         "checkin_token": new_checkin_token(), "age_band": "26-66"})
    return rows


def event_rows(branch_ids: list[int], count: int, now: datetime) -> list[dict[str, Any]]:
    """Events spread over the feeds' window (30 days back, 180 ahead)."""
    first = now - timedelta(days=29)
    span = timedelta(days=208).total_seconds()
    rows = []
    for index in range(count):
        start = first + timedelta(seconds=int(span * index / count))
        rows.append({
            "branch_id": branch_ids[index % len(branch_ids)],
            "title": f"Kurs nr. {index}: 3D-print, del 1",
            "description": "Vi lærer å modellere og skrive ut. " * 4, "instructor": "Kari",
            "start_at": start, "end_at": start + timedelta(hours=2), "capacity": 8,
            "status": "scheduled", "cancel_reason": "", "sequence": 0,
            "created_at": now - timedelta(days=40), "updated_at": now - timedelta(days=40)})
    return rows


def build_scene(backend: str, url: str, history: int) -> Scene:
    """Migrate and fill the database; every moment is relative to the real clock, which is
    what the app under gunicorn reads."""
    rng = random.Random(20250312)
    app = create_app(test_config(url))
    scene = Scene(backend, app)
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        bench = add_branch("bench", "Benkebiblioteket", hours=True)
        scene.bench_machine_ids = [create_equipment(bench, name=name, kind=kind).id
                                   for name, kind in MACHINES]
        scene.machine_id = scene.bench_machine_ids[0]
        others = [add_branch(f"b{n}", f"Bibliotek {n}", hours=False)
                  for n in range(1, OTHER_BRANCHES + 1)]
        scan = add_branch("scan", "Skannebiblioteket", hours=True)
        booking = add_branch("booking", "Bookingbiblioteket", hours=True, quota=BOOKING_QUOTA)
        scene.history_user_ids = add_citizens("history", HISTORY_USERS, now)
        booking_users = add_citizens("booker", max(CONNECTIONS, math.ceil(
            (BOOKINGS + WARM) / BOOKINGS_PER_PERSON)), now)
        librarian, _password = create_user(
            email="lib@example.no", name="Bibliotekar", role=Role.LIBRARIAN,
            branch_slugs=["bench", "scan"], password=secrets.token_urlsafe(16))
        scene.librarian_token = issue_api_token(librarian, name="bench")[1]
        scene.booking_tokens = [issue_api_token(db.session.get(User, user_id), name="bench")[1]
                                for user_id in booking_users]
        # Check-in: one machine per booking, so that each can start about now.
        scene.scan_machine_ids = add_machines(scan, SCANS + WARM + 1, "Skanner")
        # Booking: slots enough for every request, 30-minute steps, 08:00–20:00.
        slots_per_machine = BOOKING_DAYS * (CLOSES - OPENS) // 30
        scene.booking_machine_ids = add_machines(
            booking, math.ceil((BOOKINGS + WARM) / slots_per_machine), "Boker",
            slot_minutes=30, min_minutes=30, max_minutes=240, max_advance_days=14)
        # Events: 200 at the bench branch (its feed), 5,000 in all (the county's feed).
        db.session.execute(insert(Event), event_rows([bench.id], FEED_EVENTS, now))
        db.session.execute(insert(Event), event_rows([b.id for b in others],
                                                     ALL_EVENTS - FEED_EVENTS, now))
        scene.all_event_ids = list(db.session.scalars(select(Event.id)))
        scene.feed_event_ids = list(db.session.scalars(select(Event.id).where(
            Event.branch_id == bench.id)))
        # The repeated check-in: a booking starting now, already checked in.
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=5)
        token = new_checkin_token()
        db.session.execute(insert(Booking), [{
            "equipment_id": scene.scan_machine_ids[0], "user_id": scene.history_user_ids[0],
            "start_at": start, "end_at": start + timedelta(hours=1),
            "occupied_until": start + timedelta(hours=1), "status": BookingStatus.CHECKED_IN,
            "checked_in_at": now, "checked_in_by_id": librarian.id,
            "created_by_id": scene.history_user_ids[0], "cancel_reason": "",
            "checkin_token": token}])
        scene.repeat_code = f"{app.config['BASE_URL']}/c/{token}"
        db.session.execute(insert(Booking), future_rows(scene.bench_machine_ids,
                                                        scene.history_user_ids, now, rng))
        db.session.commit()
        scene.history = insert_bookings(backend, history_rows(
            scene.bench_machine_ids, scene.history_user_ids, history, now, rng))
        analyze(backend)
        db.session.remove()
    return scene


def add_scan_bookings(scene: Scene, count: int) -> list[str]:
    """A confirmed booking starting in five minutes on each of `count` scan machines (the
    check-in window is open from 15 minutes before to 15 after); their scanned codes."""
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=5)
    rows = []
    for n, machine_id in enumerate(scene.scan_machine_ids[1:count + 1]):
        user_id = scene.history_user_ids[n % len(scene.history_user_ids)]
        rows.append({"equipment_id": machine_id, "user_id": user_id, "start_at": start,
                     "end_at": start + timedelta(hours=1),
                     "occupied_until": start + timedelta(hours=1),
                     "status": BookingStatus.CONFIRMED, "created_by_id": user_id,
                     "created_at": now, "updated_at": now, "cancel_reason": "",
                     "checkin_token": new_checkin_token()})
    with scene.app.app_context():
        db.session.execute(insert(Booking), rows)
        db.session.commit()
        base = scene.app.config["BASE_URL"]
        db.session.remove()
    return [f"{base}/c/{row['checkin_token']}" for row in rows]


def overlapping_pairs(scene: Scene) -> int:
    """Active bookings that overlap the previous one on their machine (must be 0)."""
    with scene.app.app_context():
        found = db.session.scalar(text(
            "SELECT count(*) FROM (SELECT start_at, LAG(occupied_until) OVER ("
            "PARTITION BY equipment_id ORDER BY start_at, id) AS previous_end FROM bookings "
            "WHERE status IN ('confirmed', 'checked_in', 'completed')) AS ordered "
            "WHERE previous_end > start_at"))
        db.session.remove()
    return int(found or 0)


# -- the report's rows ----------------------------------------------------------------------

@dataclass
class Row:
    key: str
    label: str
    rate: str = "—"
    p50: str = "—"
    p99: str = "—"
    ceiling: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = "—"
    notes: list[str] = field(default_factory=list)

    @property
    def number(self) -> str:
        return ROWS[self.key][0] if self.key in ROWS else self.key


def fmt_ms(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def load_note(load: Load, expected: Sequence[int]) -> list[str]:
    notes = [f"{load.tool}: {load.requests:,} requests in {load.seconds:.1f} s"]
    if set(load.statuses) - set(expected):
        notes.append(f"answers: {load.status_text()}")
    if load.errors and load.errors != "connect 0, read 0, write 0, timeout 0":
        notes.append(f"socket errors: {load.errors}")
    return notes


def ratio_row(key: str, label: str, load: Load, ceiling: Load, target: float,
              expected: Sequence[int] = (200,), versus: str = "ceiling") -> Row:
    """A measured load against its ceiling; only answers with an expected status count."""
    good = sum(n for s, n in load.statuses.items() if s in expected)
    if load.tool == "wrk" and not load.statuses:
        good = load.requests  # no counts from the Lua script: take wrk's total
    rate = good / load.seconds if load.seconds else 0.0
    ratio = rate / ceiling.per_second if ceiling.per_second else 0.0
    row = Row(key, label, f"{rate:,.0f}", fmt_ms(load.p50_ms), fmt_ms(load.p99_ms),
              f"{ceiling.per_second:,.0f}", f"{ratio:.2f}", f"≥ {target} of {versus}",
              "yes" if ratio >= target else "no")
    row.notes += load_note(load, expected)
    row.notes.append(f"{versus} ({ceiling.tool}): p50 {fmt_ms(ceiling.p50_ms)} ms, "
                     f"p99 {fmt_ms(ceiling.p99_ms)} ms")
    return row


# -- measuring one database -----------------------------------------------------------------

class Bench:
    def __init__(self, scene: Scene, project: Server, ceiling: Server, logs: Path,
                 ours: set[str]) -> None:
        self.scene, self.project, self.ceiling = scene, project, ceiling
        self.logs, self.ours = logs, ours  # the log folder; this run's database names
        self.rows: list[Row] = []
        self.loads: dict[str, Load] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.today = datetime.now(ZONE).date()
        self.rss_before: dict[str, list[float]] = {}  # the workers' VmRSS before each row

    # requests
    def availability(self) -> Request:
        return Request("GET", f"/api/v1/equipment/{self.scene.machine_id}/availability"
                              f"?from={self.today.isoformat()}&days=7")

    def repeat_scan(self) -> Request:
        return json_request("POST", "/api/v1/checkins", {"code": self.scene.repeat_code},
                            self.scene.librarian_token)

    ceiling_item = Request("GET", f"/items/{CEILING_ITEM}")
    hello = Request("GET", "/hello")

    def keep_headers(self, what: str, headers: dict[str, str]) -> None:
        kept = {k: v for k, v in headers.items()
                if k.lower() not in ("date", "x-request-id", "content-length", "server",
                                     "connection", "content-security-policy")}
        if "Set-Cookie" in kept:  # the value is a signed session: its name and flags will do
            name, _, rest = kept["Set-Cookie"].partition("=")
            kept["Set-Cookie"] = f"{name}=…;{rest.partition(';')[2]}"
        self.headers[what] = kept

    def check(self, what: str, request: Request, expected: int = 200) -> dict[str, str]:
        status, headers, body, _ms = fetch(self.project.port, request)
        if status != expected:
            raise RuntimeError(f"{what}: {request.method} {request.path} answered {status}, "
                               f"not {expected}: {body[:500]!r}")
        self.keep_headers(what, headers)
        return headers

    def side_by_side(self, request: Request) -> tuple[Load, Load]:
        """The ceiling, then the project, with wrk; both warmed up first."""
        warm_up(self.ceiling.port, lambda _i: self.ceiling_item)
        warm_up(self.project.port, lambda _i: request)
        ceiling = wrk_load(self.ceiling.port, self.ceiling_item)
        return ceiling, wrk_load(self.project.port, request)

    def simple(self, key: str, request: Request, target: float, label: str) -> None:
        self.check(f"{request.method} {request.path.split('?')[0]}", request)
        ceiling, load = self.side_by_side(request)
        self.loads[key] = load
        self.rows.append(ratio_row(key, label, load, ceiling, target))

    # rows
    def row_availability(self) -> None:
        self.simple("availability", self.availability(), 0.5,
                    f"GET /api/v1/equipment/{self.scene.machine_id}/availability"
                    f"?from=<today>&days=7 ({self.scene.history:,} past bookings)")

    def row_etag(self) -> None:
        label = "same, If-None-Match → 304, vs hello-world"
        # An ETag names the whole minute its answer is for: one that ends during the load
        # turns every later request into a 200, which is not what this row measures.
        _start_within_one_minute(3 * SECONDS + 10)
        headers = self.check(f"GET {self.availability().path.split('?')[0]}",
                             self.availability())
        etag = header(headers, "ETag")
        if etag is None:
            self.rows.append(Row("etag", label, rate="no ETag", notes=[
                "the availability answer carries no ETag, so there is nothing to revalidate"]))
            return
        request = self.availability().with_headers(If_None_Match=etag)
        status, answered, _body, _ms = fetch(self.project.port, request)
        if status != 304:
            self.rows.append(Row("etag", label, rate=f"no 304 ({status})", notes=[
                f"ETag {etag} sent back as If-None-Match answered {status}"]))
            return
        # A client keeps the ETag a 304 names (RFC 9111 4.3.4): a worker that did not know
        # the machine yet answered with the answer's own hash, which the app still honours
        # but only after the query; the 304's ETag is the one of the change tokens.
        for _ in range(2 * WORKERS):
            renewed = header(answered, "ETag") or etag
            request = self.availability().with_headers(If_None_Match=renewed)
            status, answered, _body, _ms = fetch(self.project.port, request)
        warm_up(self.ceiling.port, lambda _i: self.hello)
        warm_up(self.project.port, lambda _i: request)
        ceiling = wrk_load(self.ceiling.port, self.hello)
        load = wrk_load(self.project.port, request)
        self.rows.append(ratio_row("etag", label, load, ceiling, 0.8, expected=(304,),
                                   versus="hello-world"))

    def row_checkin_repeat(self) -> None:
        self.check("POST /api/v1/checkins (already checked in)", self.repeat_scan())
        ceiling, load = self.side_by_side(self.repeat_scan())
        self.loads["checkin_repeat"] = load
        self.rows.append(ratio_row("checkin_repeat", "POST /api/v1/checkins, the same "
                                   "checked-in code again (already_checked_in)", load, ceiling,
                                   0.5))

    def row_checkin_first(self) -> None:
        codes = add_scan_bookings(self.scene, SCANS + WARM)
        token = self.scene.librarian_token
        warm = warm_up(self.project.port, lambda i: json_request(
            "POST", "/api/v1/checkins", {"code": codes[SCANS + i]}, token), count=WARM)
        warm_up(self.ceiling.port, lambda _i: self.ceiling_item)
        ceiling = python_load(self.ceiling.port, lambda _i: self.ceiling_item,
                              count=max(SCANS, 2000))
        load = python_load(self.project.port, lambda i: json_request(
            "POST", "/api/v1/checkins", {"code": codes[i]}, token), count=SCANS)
        row = ratio_row("checkin_first", f"POST /api/v1/checkins, {SCANS:,} different bookings "
                        "in their window (first scans)", load, ceiling, 0.5)
        with self.scene.app.app_context():
            done = db.session.scalar(select(func.count()).select_from(Booking).where(
                Booking.equipment_id.in_(self.scene.scan_machine_ids[1:]),
                Booking.status == BookingStatus.CHECKED_IN))
            db.session.remove()
        row.notes.append(f"database: {done:,} of {SCANS + WARM:,} bookings checked in "
                         f"(warm-up answers: {dict(warm)})")
        self.rows.append(row)

    def row_booking(self) -> None:
        today = self.today
        slots = [(day, minute, machine) for day in range(1, BOOKING_DAYS + 1)
                 for minute in range(OPENS, CLOSES, 30)
                 for machine in self.scene.booking_machine_ids]
        tokens = self.scene.booking_tokens

        def booking(index: int) -> Request:
            day, minute, machine = slots[index]
            start = local_moment(today + timedelta(days=day), minute, ZONE)
            return json_request("POST", "/api/v1/bookings", {
                "equipment_id": machine, "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat()},
                tokens[index % len(tokens)])

        warm = warm_up(self.project.port, lambda i: booking(BOOKINGS + i), count=WARM)
        warm_up(self.ceiling.port, lambda _i: self.ceiling_item)
        ceiling = python_load(self.ceiling.port, lambda _i: self.ceiling_item,
                              count=max(BOOKINGS, 2000))
        load = python_load(self.project.port, booking, count=BOOKINGS)
        row = ratio_row("booking", f"POST /api/v1/bookings, {BOOKINGS:,} distinct free slots, "
                        f"{len(tokens)} citizens", load, ceiling, 0.2, expected=(201,))
        created = load.statuses.get(201, 0)
        with self.scene.app.app_context():
            confirmed = db.session.scalar(select(func.count()).select_from(Booking).where(
                Booking.equipment_id.in_(self.scene.booking_machine_ids),
                Booking.status == BookingStatus.CONFIRMED))
            db.session.remove()
        overlaps = overlapping_pairs(self.scene)
        row.notes.append(f"{created:,} × 201 and {load.requests - created:,} other answers"
                         + (f" ({load.status_text()})" if load.requests - created else ""))
        row.notes.append(f"database: {confirmed:,} confirmed bookings on the booking machines "
                         f"(expected {created + warm.get(201, 0):,} with the warm-up's "
                         f"{warm.get(201, 0)}); overlapping active bookings: {overlaps}")
        self.rows.append(row)

    def row_week_page(self) -> None:
        self.simple("week_page", Request("GET", f"/equipment/{self.scene.machine_id}"), 0.4,
                    f"GET /equipment/{self.scene.machine_id} (machine week page)")

    def row_branch_page(self) -> None:
        self.simple("branch_page", Request("GET", "/branches/bench"), 0.4,
                    "GET /branches/bench (branch page, 8 machines)")

    def change_event(self, event_ids: list[int], n: int) -> None:
        """One event changed as staff would (title, sequence and updated_at)."""
        event_id = event_ids[n * 7919 % len(event_ids)]
        with self.scene.app.app_context():
            db.session.execute(update(Event).where(Event.id == event_id).values(
                title=f"Kurs endret {n}", sequence=Event.sequence + 1,
                updated_at=datetime.now(UTC)))
            db.session.commit()
            db.session.remove()

    def rebuild_times(self, request: Request, event_ids: list[int], repeat: int
                      ) -> tuple[list[float], list[str], int]:
        """Milliseconds of one GET right after each of `repeat` changes; the ETags; size."""
        times, etags, size = [], [], 0
        for n in range(repeat):
            self.change_event(event_ids, n)
            status, headers, body, elapsed = fetch(self.project.port, request)
            if status != 200:
                raise RuntimeError(f"{request.path} answered {status} after a change")
            times.append(elapsed)
            etags.append(header(headers, "ETag") or "")
            size = len(body)
        return times, etags, size

    def row_feed(self) -> None:
        request = Request("GET", "/calendar/branches/bench/events.ics")
        label = f"GET /calendar/branches/bench/events.ics ({FEED_EVENTS} events, uncached)"
        headers = self.check(f"GET {request.path}", request)
        ceiling, load = self.side_by_side(request)
        row = ratio_row("feed", label, load, ceiling, 0.2)
        steady = statistics.median(fetch(self.project.port, request)[3] for _ in range(5))
        times, _etags, size = self.rebuild_times(request, self.scene.feed_event_ids, 3)
        rebuilt = statistics.median(times)
        row.notes.append(f"{size:,} bytes; no If-None-Match sent; ETag "
                         f"{'present' if header(headers, 'ETag') else 'absent'}, Cache-Control "
                         f"{header(headers, 'Cache-Control') or 'absent'!r}")
        alone = (f"one GET alone takes {fmt_ms(steady)} ms (median of 5) when nothing "
                 f"changed and {fmt_ms(rebuilt)} ms right after a change (median of 3)")
        if steady < 0.75 * rebuilt:
            row.notes.append(f"{alone}: an unchanged feed is likely answered from a "
                             "server-side cache, not rebuilt, even without If-None-Match")
        else:
            row.notes.append(f"{alone}: no sign of a server-side cache")
        self.rows.append(row)

    def row_feed_rebuild(self) -> None:
        request = Request("GET", "/calendar/events.ics")
        self.check(f"GET {request.path}", request)
        warm_up(self.project.port, lambda _i: request, count=8)
        times, etags, size = self.rebuild_times(request, self.scene.all_event_ids, FEED_REPEAT)
        median = statistics.median(times)
        self.rows.append(Row(
            "feed_rebuild", f"GET /calendar/events.ics ({ALL_EVENTS:,} events) after one "
            "event changed", p50=fmt_ms(median), p99=fmt_ms(max(times)),
            ratio=f"{fmt_ms(median)} ms", target="≤ 150 ms", met="yes" if median <= 150
            else "no", notes=[f"median (p50 column) and slowest (p99 column) of {FEED_REPEAT} "
                              f"GETs, each right after a direct UPDATE of one event's title, "
                              f"sequence and updated_at; {size:,} bytes; "
                              f"{len(set(etags))} distinct ETags",
                              "all: " + ", ".join(fmt_ms(t) for t in times) + " ms"]))

    def row_history(self) -> None:
        """Rows 1 and 3b again, each measured back to back on this database and on a second
        one filled the same way but with HISTORY_LARGE past bookings, served by a second
        gunicorn like the first."""
        backend = self.scene.backend
        with ExitStack() as stack:
            url = stack.enter_context(scratch_database(backend))
            self.ours.add(make_url(url).database or "")
            say(f"{backend}: filling a second database with {HISTORY_LARGE:,} past bookings")
            started = time.perf_counter()
            large = build_scene(backend, url, HISTORY_LARGE)
            stack.callback(_dispose, large.app)
            self.scene.notes.append(
                f"row 8: a second database, filled in {time.perf_counter() - started:.0f} s "
                f"with {large.history:,} past bookings, served by a second gunicorn")
            server = Server(f"project, large history ({backend})", "wsgi:app",
                            project_env(url, REDIS_URL),
                            self.logs / f"project-{backend}-large.log")
            stack.callback(server.stop)
            server.start()
            server.wait_ready()
            twin = Bench(large, server, self.ceiling, self.logs, self.ours)
            pairs = (("a", "availability (row 1)", self.availability(), twin.availability()),
                     ("b", "repeated check-in (row 3b)", self.repeat_scan(),
                      twin.repeat_scan()))
            for suffix, label, small_request, large_request in pairs:
                twin.check(f"{label}, large history", large_request)
                warm_up(self.project.port, lambda _i, r=small_request: r)
                warm_up(server.port, lambda _i, r=large_request: r)
                before = wrk_load(self.project.port, small_request)
                load = wrk_load(server.port, large_request)
                cost = before.per_second / load.per_second if load.per_second else math.inf
                row = Row("8" + suffix, f"{label} with {large.history:,} past bookings vs "
                          f"{self.scene.history:,}", f"{load.per_second:,.0f}",
                          fmt_ms(load.p50_ms), fmt_ms(load.p99_ms), f"{before.per_second:,.0f}",
                          f"{cost:.2f}×", "≤ 1.2× slower", "yes" if cost <= 1.2 else "no")
                row.notes += load_note(load, (200,))
                row.notes.append(f"the ceiling column is the same request on the database "
                                 f"with {self.scene.history:,} past bookings, measured just "
                                 f"before (p50 {fmt_ms(before.p50_ms)} ms, p99 "
                                 f"{fmt_ms(before.p99_ms)} ms); ratio = its req/s ÷ this "
                                 "req/s")
                self.rows.append(row)
            self.scene.notes.append(f"row 8: active bookings overlapping on a machine in the "
                                    f"second database: {overlapping_pairs(large)}")

    def row_memory(self) -> None:
        sizes = self.project.worker_rss_mb()
        ceiling = self.ceiling.worker_rss_mb()
        self.rows.append(Row(
            "memory", "gunicorn worker VmRSS after the whole run",
            ratio=", ".join(f"{s:.0f} MB" for s in sizes), target="≤ 120 MB each",
            met="yes" if sizes and max(sizes) <= 120 else "no",
            notes=[f"workers {self.project.worker_pids()}; the ceiling's workers: "
                   + ", ".join(f"{s:.0f} MB" for s in ceiling),
                   "before each row: " + "; ".join(
                       f"{key} " + "/".join(f"{s:.0f}" for s in sizes)
                       for key, sizes in self.rss_before.items())]))


ORDER = ["availability", "etag", "week_page", "branch_page", "feed", "checkin_repeat",
         "checkin_first", "booking", "feed_rebuild", "history", "memory"]


def log_summary(log: Path) -> list[str]:
    """What the project's JSON log says: answers by status, and warnings or errors."""
    statuses: Counter[int] = Counter()
    problems: Counter[str] = Counter()
    other = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            other += 1
            continue
        if entry.get("logger") == "makerspace.requests" and "status" in entry:
            statuses[int(entry["status"])] += 1
        elif entry.get("level") in ("warning", "error", "critical"):
            problems[f"{entry.get('level')}: {entry.get('message', '')[:160]}"] += 1
    lines = ["requests logged by status: " + ", ".join(
        f"{s}: {n:,}" for s, n in sorted(statuses.items()))]
    lines += [f"{n:,} × {p}" for p, n in problems.most_common(8)]
    if other:
        lines.append(f"{other:,} lines that are not JSON (gunicorn's own)")
    return lines


def run_database(backend: str, logs: Path) -> tuple[list[Row], list[str], dict[str, Any]]:
    info: list[str] = []
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database(backend))
        ceiling_url = stack.enter_context(scratch_database(backend, "makerspace_bench_ceiling"))
        say(f"{backend}: migrating and filling the database")
        started = time.perf_counter()
        scene = build_scene(backend, url, HISTORY_SMALL)
        stack.callback(_dispose, scene.app)
        info.append(f"filled in {time.perf_counter() - started:.0f} s: {scene.history:,} past "
                    f"bookings on {len(MACHINES)} machines at the branch `bench`, confirmed "
                    f"bookings in 40 % of its next 14 days' hours, {ALL_EVENTS:,} events "
                    f"({FEED_EVENTS} at `bench`), {len(scene.scan_machine_ids):,} machines for "
                    f"check-in, {len(scene.booking_machine_ids)} for booking")
        project = Server(f"project ({backend})", "wsgi:app", project_env(url, REDIS_URL),
                         logs / f"project-{backend}.log")
        ceiling = Server(f"ceiling ({backend})", "ceiling_app:app", ceiling_env(ceiling_url),
                         logs / f"ceiling-{backend}.log", chdir=REPO_ROOT / "bench")
        for server in (project, ceiling):
            stack.callback(server.stop)
            server.start()
        for server in (project, ceiling):
            server.wait_ready()
        status, _h, body, _ms = fetch(project.port, Request("GET", "/readyz"))
        if status != 200:
            raise RuntimeError(f"/readyz answered {status}: {body[:300]!r}")
        say(f"{backend}: project on port {project.port}, ceiling on {ceiling.port}")
        ours = {make_url(url).database or "", make_url(ceiling_url).database or ""}
        bench = Bench(scene, project, ceiling, logs, ours)
        whole, watch = CpuWatch(ours), CpuWatch(ours)
        whole.start()
        for key in ORDER:
            if key not in ONLY:
                continue
            if key == "history" and not LARGE:
                bench.rows.append(Row("8", "rows 1 and 3b with the large history",
                                      rate="skipped", notes=["BENCH_LARGE=0"]))
                continue
            say(f"{backend}: row {ROWS[key][0]} ({key})")
            bench.rss_before[key] = bench.project.worker_rss_mb()
            first = len(bench.rows)
            watch.start()
            try:
                getattr(bench, f"row_{key}")()
            except Exception as error:  # noqa: BLE001 (one broken row must not stop the rest)
                say(f"{backend}: row {key} failed: {error!r}")
                bench.rows.append(Row(key, ROWS[key][1], rate="error",
                                      notes=[f"{type(error).__name__}: {error}"[:600]]))
            others = watch.share()
            if others >= 0.05 and key != "memory":  # (no load there: nothing to spoil)
                for row in bench.rows[first:]:
                    row.notes.append(f"**other processes used {others:.0%} of the CPUs "
                                     "meanwhile**")
        info.append(f"other processes (not this benchmark, its databases or Redis) used "
                    f"{whole.share():.0%} of the CPUs while the rows ran")
        if "booking" in ONLY or "history" in ONLY:
            info.append(f"active bookings overlapping on a machine at the end: "
                        f"{overlapping_pairs(scene)}")
        for server in (project, ceiling):
            server.stop()
        info += scene.notes
        for log in sorted(logs.glob(f"project-{backend}*.log")):
            info += [f"{log.name}: {line}" for line in log_summary(log)]
        return bench.rows, info, bench.headers


def scratch_database(backend: str, prefix: str = "makerspace_bench"
                     ) -> AbstractContextManager[str]:
    """A throw-away database (tests/databases.py): a temporary SQLite file, or a database of
    its own on the PostgreSQL server, dropped afterwards."""
    return sqlite_database() if backend == "sqlite" else postgres_database(PG_URL, prefix)


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# -- the report -----------------------------------------------------------------------------

def postgres_version() -> str | None:
    try:
        with psycopg.connect(libpq_dsn(PG_URL), connect_timeout=5) as connection:
            return str(connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    except psycopg.Error as error:
        say(f"PostgreSQL at {PG_URL} is not reachable: {error}")
        return None


def print_table(backend: str, rows: list[Row], info: list[str],
                headers: dict[str, dict[str, str]]) -> None:
    print(f"\n## {backend}\n")
    for line in info:
        print(f"- {line}")
    print("\n| row | req/s | p50 ms | p99 ms | ceiling req/s | ratio | target | met |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for row in rows:
        print(f"| {row.number} {row.label} | {row.rate} | {row.p50} | {row.p99} | "
              f"{row.ceiling} | {row.ratio} | {row.target} | {row.met} |")
    print()
    for row in rows:
        if row.notes:
            print(f"- {row.number}: " + "; ".join(row.notes))
    if headers:
        print("\nHeaders of the first answers (without Date, Server, Content-Length, "
              "Connection, X-Request-Id, Content-Security-Policy):\n")
        for what, found in headers.items():
            print(f"- {what}: " + ", ".join(f"`{k}: {v}`" for k, v in found.items()))


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))
    unknown = [k for k in ONLY if k not in ROWS]
    if unknown or not set(DATABASES) <= {"sqlite", "postgresql"}:
        raise SystemExit(f"BENCH_ONLY takes {', '.join(ROWS)}; BENCH_DATABASES takes sqlite, "
                         f"postgresql (got {unknown or DATABASES})")
    ensure_wrk()
    pg_version = postgres_version() if "postgresql" in DATABASES else None
    logs = Path(tempfile.mkdtemp(prefix="folkeverksted-throughput-"))
    wrk_version = (subprocess.run([WRK, "-v"], capture_output=True, text=True,  # noqa: S603
                                  check=False).stdout.splitlines() or ["?"])[0] \
        if WRK else "not available"
    print("# HTTP throughput benchmark\n")
    print(f"- CPUs (os.cpu_count): {os.cpu_count()}; {platform.platform()}")
    print(f"- Python {platform.python_version()}; Flask {version('flask')}; SQLAlchemy "
          f"{version('sqlalchemy')}; gunicorn {version('gunicorn')}; psycopg "
          f"{version('psycopg')}; SQLite {sqlite3.sqlite_version}; PostgreSQL "
          f"{pg_version or 'not measured'}; wrk: {wrk_version}")
    if WRK_NOTE:
        print(f"- {WRK_NOTE}")
    print(f"- gunicorn: {WORKERS} sync workers each for the project (wsgi:app, "
          "ENVIRONMENT=production, LOG_FORMAT=json to a log file, rate limits on "
          f"{REDIS_URL}) and the ceiling (bench/ceiling_app.py); `wrk -t{THREADS} "
          f"-c{CONNECTIONS} -d{SECONDS}s --latency` (p50/p99 from wrk's latency distribution),"
          f" or the Python generator ({CONNECTIONS} threads; its own percentiles) where every "
          "request differs; ceiling and project measured one after the other for each row")
    print(f"- the ceiling: GET /items/{CEILING_ITEM} (one row by primary key, a Jinja "
          "template) and GET /hello for row 2; history sizes "
          f"{HISTORY_SMALL:,} and {HISTORY_LARGE:,}" + ("" if LARGE else " (large skipped)"))
    print(f"- logs: {logs}")
    for backend in DATABASES:
        if backend == "postgresql" and pg_version is None:
            print(f"\n## postgresql\n\nskipped: {PG_URL} is not reachable")
            continue
        rows, info, headers = run_database(backend, logs)
        print_table(backend, rows, info, headers)
        sys.stdout.flush()
    print(f"\nTotal run time {time.perf_counter() - BEGAN:.0f} s")


if __name__ == "__main__":
    main()
