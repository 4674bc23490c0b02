"""The app started the way deploy/'s systemd units start it: the unit's working directory,
ExecStart and environment, the sample environment file, gunicorn with two workers."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
INSTALLED_AT = "/srv/folkeverksted"

pytestmark = pytest.mark.commits


def unit_service(name: str) -> dict[str, list[str]]:
    """The [Service] section of a unit file; a key may repeat (Environment=)."""
    section, found = "", {}
    for raw in (DEPLOY / name).read_text().splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def environment_file(path: Path) -> dict[str, str]:
    pairs = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def here(value: str, run_dir: Path) -> str:
    """The unit's paths, moved to this checkout and a temporary /run."""
    return value.replace(INSTALLED_AT, str(REPO)).replace("/run/", f"{run_dir}/")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_as_unit(name: str, database_url: str, run_dir: Path,
                    **overrides: str) -> tuple[list[str], dict[str, str], str]:
    service = unit_service(name)
    assert service["EnvironmentFile"] == ["/etc/folkeverksted/folkeverksted.env"]
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8",
           **environment_file(DEPLOY / "folkeverksted.env.example")}
    for setting in service.get("Environment", []):
        key, _, value = setting.partition("=")
        env[key] = here(value, run_dir)
    for folder in service.get("RuntimeDirectory", []):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    # This machine's database and no SMTP server: mail stays in the outbox.
    env = {key: value for key, value in env.items() if not key.startswith("MAIL_")}
    env.update(DATABASE_URL=database_url, SECRET_KEY="deploy-test-" + "x" * 40, **overrides)
    argv = shlex.split(here(service["ExecStart"][0], run_dir))
    return argv, env, here(service["WorkingDirectory"][0], run_dir)


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)  # noqa: S310 (http to 127.0.0.1 only)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback)
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn exited: {process.stderr.read()}"  # type: ignore[union-attr]
        try:
            if get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_the_web_unit_serves_with_several_workers_and_metrics_add_up(app, database_url,
                                                                      tmp_path):
    port = free_port()
    argv, env, cwd = process_as_unit("folkeverksted-web.service", database_url, tmp_path,
                                     BIND_ADDRESS=f"127.0.0.1:{port}", WEB_CONCURRENCY="2")
    assert Path(argv[0]).name == "gunicorn"
    base = f"http://127.0.0.1:{port}"
    with subprocess.Popen(argv, cwd=cwd, env=env, stderr=subprocess.PIPE,  # noqa: S603
                          text=True) as web:
        try:
            wait_until_up(f"{base}/healthz", web)
            assert get(f"{base}/readyz")[0] == 200
            for _ in range(12):
                assert get(f"{base}/api/v1/branches")[0] == 200
            token = env["METRICS_TOKEN"]
            assert get(f"{base}/metrics")[0] == 404  # a token is set: loopback is not enough
            status, body = get(f"{base}/metrics", token)
            assert status == 200
            families = {family.name: family
                        for family in text_string_to_metric_families(body.decode())}
            latency = families["folkeverksted_request_duration_seconds"]
            answered = sum(
                sample.value for sample in latency.samples
                if sample.name.endswith("_count")
                and sample.labels.get("route") == "/api/v1/branches")
            assert answered == 12  # every worker's requests, whichever worker was scraped
            assert "folkeverksted_outbox_messages" in families
            assert list((tmp_path / "folkeverksted-web" / "metrics").glob("*.db"))
        finally:
            web.send_signal(signal.SIGTERM)
            assert web.wait(30) == 0
        log = web.stderr.read()  # type: ignore[union-attr]
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("route") == "/api/v1/branches"]
    assert len(requests) == 12 and all(line["status"] == 200 for line in requests)
    assert "Traceback" not in log


def test_the_worker_unit_starts_and_stops_on_sigterm(app, database_url, tmp_path):
    argv, env, cwd = process_as_unit("folkeverksted-worker.service", database_url, tmp_path)
    assert unit_service("folkeverksted-worker.service")["KillSignal"] == ["SIGTERM"]
    with subprocess.Popen(argv, cwd=cwd, env=env, stderr=subprocess.PIPE,  # noqa: S603
                          text=True) as worker:
        try:
            assert worker.stderr is not None
            first = worker.stderr.readline()
            assert '"worker started"' in first, first + worker.stderr.read()
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(15) == 0
            assert '"worker stopped"' in worker.stderr.read()
        finally:
            if worker.poll() is None:
                worker.kill()
