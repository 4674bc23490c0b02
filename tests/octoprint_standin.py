"""A real OctoPrint with its virtual printer, for tests/test_machines_octoprint.py.

OctoPrint's pinned dependencies differ from ours, so it lives in a virtual environment of its
own: OCTOPRINT_VENV, or .pytest_cache/octoprint-venv in the repository, made and filled with
`pip install octoprint` (about a minute) the first time it is missing. It runs as a
subprocess on 127.0.0.1 and a free port with a fresh base folder per run, every plugin that
calls out switched off (no traffic leaves the machine), the virtual printer connected and an
API key of our choosing.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OCTOPRINT_SPEC = os.environ.get("OCTOPRINT_SPEC", "octoprint>=1.10,<1.12")
INSTALL_TIMEOUT = 900  # seconds; a cold pip install here takes about one or two minutes

CONFIG = """\
accessControl: {{enabled: true}}
api: {{key: {key}}}
server:
  firstRun: false
  onlineCheck: {{enabled: false}}
  pluginBlacklist: {{enabled: false, url: "http://127.0.0.1:9/blacklist.json"}}
  pythonEolCheck: {{enabled: false, url: "http://127.0.0.1:9/python-eol"}}
serial: {{autoconnect: true, port: VIRTUAL, baudrate: 0}}
devel: {{virtualPrinter: {{enabled: true}}}}
plugins:
  _disabled: [softwareupdate, announcements, tracking, pluginmanager, errortracking,
              achievements, firmware_check, file_check, backup, health_check, discovery]
"""

# A job of a few seconds: some moves and a dwell, so the poller sees it printing.
TINY_GCODE = """\
; a tiny test print
G28
G1 Z5 F3000
G1 X10 Y10 E1 F1500
G4 S3
G1 X20 Y20 E2 F1500
G4 S3
G1 X30 Y30 E3 F1500
G4 S2
M84
"""


# No proxies from the environment: OctoPrint is on 127.0.0.1.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class OctoPrintUnavailable(RuntimeError):
    pass


def venv_folder() -> Path:
    return Path(os.environ.get("OCTOPRINT_VENV") or ROOT / ".pytest_cache" / "octoprint-venv")


def octoprint_command() -> Path:
    """The `octoprint` program, installed into its own venv when missing."""
    folder = venv_folder()
    program = folder / "bin" / "octoprint"
    if program.exists():
        return program
    folder.parent.mkdir(parents=True, exist_ok=True)
    # pytest-xdist's workers may all get here at once: one installs, the others wait.
    with open(folder.parent / "octoprint-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not program.exists():
            _install(folder)
    if not program.exists():
        raise OctoPrintUnavailable("OctoPrint installed without its `octoprint` program")
    return program


def _install(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)  # a half-made venv from an interrupted run
    try:
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True,  # noqa: S603
                       timeout=120, capture_output=True)
        subprocess.run([str(folder / "bin" / "pip"), "install", "--quiet",  # noqa: S603
                        OCTOPRINT_SPEC], check=True, timeout=INSTALL_TIMEOUT,
                       capture_output=True, text=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        detail = getattr(error, "stderr", "") or ""
        raise OctoPrintUnavailable(f"installing OctoPrint failed: {error} {detail[-1500:]}"
                                   ) from error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class OctoPrint:
    url: str
    api_key: str

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str | None = None) -> tuple[int, dict]:
        headers = {"X-Api-Key": self.api_key}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url + path, data=body, method=method,  # noqa: S310
                                         headers=headers)
        try:
            with _DIRECT.open(request, timeout=10) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            return error.code, {}
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            return 0, {}  # not listening yet

    def state(self) -> str:
        status, answer = self.request("GET", "/api/connection")
        return (answer.get("current") or {}).get("state", "") if status == 200 else ""

    def print_file(self, name: str = "tiny.gcode", gcode: str = TINY_GCODE) -> None:
        """Upload a G-code file and start printing it (POST /api/files/local)."""
        boundary = "----folkeverksted" + secrets.token_hex(8)
        parts = []
        for field, value in (("select", "true"), ("print", "true")):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"'
                         f"\r\n\r\n{value}\r\n")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     f"{gcode}\r\n--{boundary}--\r\n")
        status, answer = self.request("POST", "/api/files/local", "".join(parts).encode(),
                                      f"multipart/form-data; boundary={boundary}")
        if status not in (200, 201):
            raise OctoPrintUnavailable(f"upload refused: {status} {answer}")

    def cancel(self) -> None:
        self.request("POST", "/api/job", json.dumps({"command": "cancel"}).encode(),
                     "application/json")


@contextmanager
def octoprint_server(basedir: Path, *, ready_seconds: float = 180) -> Iterator[OctoPrint]:
    """OctoPrint serving on a free port with the virtual printer connected."""
    program = octoprint_command()
    key = secrets.token_hex(16).upper()
    basedir.mkdir(parents=True, exist_ok=True)
    (basedir / "config.yaml").write_text(CONFIG.format(key=key))
    port = free_port()
    log = open(basedir / "serve.log", "w")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [str(program), "serve", "--iknowwhatimdoing", "--basedir", str(basedir),
         "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    server = OctoPrint(f"http://127.0.0.1:{port}", key)
    try:
        deadline = time.monotonic() + ready_seconds
        while server.state() != "Operational":
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (basedir / "serve.log").read_text()[-3000:]
                raise OctoPrintUnavailable(f"OctoPrint did not get ready: {tail}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
