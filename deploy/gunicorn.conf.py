"""gunicorn settings for Folkeverksted (docs/deploy.md). Read by the systemd unit:
`gunicorn --config deploy/gunicorn.conf.py`. Every value can be changed from the environment
file without editing this one."""

import multiprocessing
import os
import shutil
import tempfile

wsgi_app = "wsgi:app"
bind = os.environ.get("BIND_ADDRESS", "127.0.0.1:8000")
# Sync workers: the app does short database work per request; two per core plus one keeps
# the cores busy while some wait on PostgreSQL. WEB_CONCURRENCY overrides.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
# Kill a worker stuck this long. Database waits end well before it (DATABASE_POOL_TIMEOUT,
# DATABASE_CONNECT_TIMEOUT, SQLITE_BUSY_TIMEOUT_MS) and are answered 503.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 25  # below the unit's TimeoutStopSec, so a stop is never a SIGKILL
keepalive = 5  # the proxy in front keeps connections open
max_requests = 5000  # recycle workers now and then: bounded memory over months
max_requests_jitter = 500
# The app writes one JSON line per request itself (LOG_FORMAT); gunicorn's access log would
# say the same thing twice.
accesslog = None
errorlog = "-"
# gunicorn 24+ opens a control socket in $HOME, which the unit keeps read-only; it is not used.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Prometheus counts from every worker, added up at scrape time: each worker writes its own
# files in PROMETHEUS_MULTIPROC_DIR. Set before any worker imports prometheus_client.
if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="folkeverksted-metrics-")


def on_starting(server):  # noqa: ARG001 (gunicorn's hook signature)
    # Counts left from the last run would be added to this one's.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):  # noqa: ARG001
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
