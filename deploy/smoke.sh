#!/usr/bin/env bash
# Follows docs/deploy.md, steps 2-8 and "Backups" and "Upgrading", on this machine: a fresh
# clone, its own virtualenv, a scratch database on the PostgreSQL at $SMOKE_POSTGRES, the
# sample environment file, gunicorn and the worker started with the units' ExecStart lines.
# Only systemd itself (and nginx, certbot) are left out. Run by .ci/run.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SERVER="${SMOKE_POSTGRES:-postgresql://postgres@127.0.0.1:5432}"
ROOT="$(mktemp -d /tmp/folkeverksted-smoke.XXXXXX)"
DB="folkeverksted_smoke_$$"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
WEB_PID=""

step() { printf '\n== %s\n' "$*"; }
fail() { echo "smoke: $*" >&2; [ -f "$ROOT/web.log" ] && tail -n 30 "$ROOT/web.log" >&2; exit 1; }
cleanup() {
  [ -n "$WEB_PID" ] && kill "$WEB_PID" 2>/dev/null || true
  dropdb --if-exists --force --maintenance-db="$SERVER/postgres" "$DB" >/dev/null 2>&1 || true
  rm -rf "$ROOT"
}
trap cleanup EXIT

# The units' lines, with /srv/folkeverksted and /run moved into the scratch folder.
unit_line() {  # unit key
  sed -n "s/^$2=//p" "$REPO/deploy/$1" | head -n 1 \
    | sed -e "s#/srv/folkeverksted#$ROOT/srv#g" -e "s#/run/#$ROOT/run/#g"
}

step "2. the code and its virtualenv"
git clone --quiet "$REPO" "$ROOT/srv"
cd "$ROOT/srv"
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[redis]'
.venv/bin/pybabel compile -d translations >/dev/null

step "3. the database"
createdb --maintenance-db="$SERVER/postgres" "$DB"

step "4. the environment file"
sed -e "s#^SECRET_KEY=.*#SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')#" \
    -e "s#^DATABASE_URL=.*#DATABASE_URL=$SERVER/$DB#" \
    -e "s#^METRICS_TOKEN=.*#METRICS_TOKEN=smoke-metrics-token#" \
    -e "s#^BIND_ADDRESS=.*#BIND_ADDRESS=127.0.0.1:$PORT#" \
    -e "/^MAIL_/d" \
    deploy/folkeverksted.env.example > "$ROOT/folkeverksted.env"
echo "WEB_CONCURRENCY=2" >> "$ROOT/folkeverksted.env"
set -a; . "$ROOT/folkeverksted.env"; set +a
mkdir -p "$ROOT/run/$(unit_line folkeverksted-web.service RuntimeDirectory)"

step "5. migrate, and a first admin"
.venv/bin/flask --app makerspace db upgrade 2>&1 | tail -n 1
.venv/bin/flask --app makerspace create-user fylket@example.no --name Fylkesadmin --role admin \
  > "$ROOT/admin.txt"
[ -s "$ROOT/admin.txt" ] || fail "create-user printed nothing"

step "6. the web app and the worker"
cd "$(unit_line folkeverksted-web.service WorkingDirectory)"
# shellcheck disable=SC2046 # the ExecStart line is split into words, as systemd does
# With the unit's own Environment= line (the metrics folder), as systemd starts it.
env "$(unit_line folkeverksted-web.service Environment)" \
  $(unit_line folkeverksted-web.service ExecStart) > "$ROOT/web.log" 2>&1 &
WEB_PID=$!
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "http://127.0.0.1:$PORT/healthz" | grep -q '"ok"' || fail "/healthz"
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || fail "/readyz is not 200"
for _ in $(seq 1 10); do curl -fsS "http://127.0.0.1:$PORT/api/v1/branches" >/dev/null; done
curl -fsS "http://127.0.0.1:$PORT/" >/dev/null || fail "front page"

$(unit_line folkeverksted-worker.service ExecStart) > "$ROOT/worker.log" 2>&1 &
WORKER_PID=$!
touch "$ROOT/worker.log"
for _ in $(seq 1 40); do grep -q '"worker started"' "$ROOT/worker.log" && break; sleep 0.25; done
grep -q '"worker started"' "$ROOT/worker.log" || fail "the worker did not start"
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || fail "the worker did not exit 0 on SIGTERM"
grep -q '"worker stopped"' "$ROOT/worker.log" || fail "the worker did not say it stopped"

step "8. monitoring"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
[ "$status" = 404 ] || fail "/metrics without the token answered $status"
curl -fsS -H "Authorization: Bearer $METRICS_TOKEN" "http://127.0.0.1:$PORT/metrics" > "$ROOT/metrics.txt"
.venv/bin/python - "$ROOT/metrics.txt" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
answered = sum(s.value for s in families["folkeverksted_request_duration_seconds"].samples
               if s.name.endswith("_count") and s.labels.get("route") == "/api/v1/branches")
assert answered == 10, f"/api/v1/branches counted {answered} times, not 10 (all workers)"
assert "folkeverksted_outbox_oldest_pending_seconds" in families
EOF
grep -q '"route": "/api/v1/branches"' "$ROOT/web.log" || fail "no JSON request lines in the log"

step "backups"
.venv/bin/flask --app makerspace backup "$ROOT/backup.dump"
pg_restore --list "$ROOT/backup.dump" > "$ROOT/backup.list"
grep -q "TABLE DATA public bookings" "$ROOT/backup.list" || fail "the backup holds no bookings table"

step "upgrading: migrations first, then reload"
.venv/bin/flask --app makerspace db upgrade 2>&1 | tail -n 1
kill -HUP "$WEB_PID"
sleep 2
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || fail "/readyz after the reload"

step "stop"
kill -TERM "$WEB_PID"
wait "$WEB_PID" || fail "gunicorn did not exit 0 on SIGTERM"
WEB_PID=""
if grep -q Traceback "$ROOT/web.log"; then fail "a traceback in the web log"; fi
echo "smoke: docs/deploy.md followed, all well"
