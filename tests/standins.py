"""Stand-in servers for the log-in tests, each a real server in a process of its own on
127.0.0.1 and a free port: a SIP2 library system (tests/sip2_standin.py, pysip2) and an
OpenID provider (tests/js/oidc_provider.mjs, npm oidc-provider run by the machine's Node).
Neither calls anywhere else."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "tests" / "js"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _read_port(process: subprocess.Popen, what: str) -> int:
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("PORT "):
        process.kill()
        errors = process.stderr.read() if process.stderr else ""
        raise RuntimeError(f"{what} did not start: {line!r} {errors[-2000:]}")
    return int(line.split()[1])


@contextmanager
def _process(command: list[str], what: str, cwd: Path = ROOT) -> Iterator[int]:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,  # noqa: S603
                               stderr=subprocess.PIPE, text=True)
    try:
        yield _read_port(process, what)
    finally:
        process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


@contextmanager
def sip2_server(*, checksum: str = "auto", delimiter: str = "|") -> Iterator[int]:
    """pysip2's server with the stand-in patrons; yields its port."""
    with _process([sys.executable, "-m", "tests.sip2_standin", "--checksum", checksum,
                   "--delimiter", delimiter], "the SIP2 stand-in") as port:
        yield port


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("needs Node and `npm ci` in tests/js (oidc-provider)")
    return node


@contextmanager
def oidc_provider(clients: list[dict], keys_file: Path) -> Iterator[str]:
    """oidc-provider with these clients and the signing keys in `keys_file`; yields the
    issuer URL."""
    import json

    node = node_or_skip()
    config = keys_file.with_name("clients.json")
    config.write_text(json.dumps(clients))
    with _process([node, "oidc_provider.mjs", str(config), str(keys_file)],
                  "the OpenID provider", cwd=JS) as port:
        yield f"http://127.0.0.1:{port}"


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung library system)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def closed_port() -> int:
    """A port nothing listens on (a library system that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
