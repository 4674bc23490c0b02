"""Configuration defaults and the order in which they are overridden.

defaults (here) -> instance/config.py -> environment variables of the same name -> test config.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # "development" or "production"; production refuses to start without SECRET_KEY.
    "ENVIRONMENT": "development",
    "SECRET_KEY": None,
    "DATABASE_URL": None,  # None: SQLite file in the instance folder
    "BABEL_DEFAULT_LOCALE": "nb",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Oslo",
    "LANGUAGES": ["nb", "nn", "en"],
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # The database connection pool (PostgreSQL). A connection is checked before each use, so
    # a restarted database costs a reconnect, not an error.
    "DATABASE_POOL_PRE_PING": True,
    "DATABASE_POOL_SIZE": 5,
    "DATABASE_MAX_OVERFLOW": 5,
    "DATABASE_POOL_RECYCLE": 1800,  # seconds; below the firewall's idle cut-off
    "DATABASE_POOL_TIMEOUT": 10,  # seconds to wait for a free connection
    "DATABASE_CONNECT_TIMEOUT": 5,  # seconds to wait for the server to answer
    # SQLite: how long a write waits for another writer's lock before giving up (503). Keep it
    # well below gunicorn's worker timeout (30 s), which would kill the worker instead.
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
    # Seconds a client is asked to wait (Retry-After) when the database is away.
    "RETRY_AFTER_SECONDS": 5,
    # Where this site is reachable from outside; used for links in feeds, QR codes and e-mail.
    "BASE_URL": "http://127.0.0.1:5000",
    # Shown on the accessibility statement (/accessibility) as where to report a problem,
    # e.g. an e-mail address of the county's Folkeverksted contact; None shows no address.
    "ACCESSIBILITY_CONTACT": None,
    # Rate limits on log-in, registration and password reset, per client address. Use Redis
    # (redis://127.0.0.1:6379, needs the `redis` package) when several processes serve the app.
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute; 50 per hour",
    # Where availability's change tokens live (booking/versions.py): empty means the same
    # store as the rate limits (redis://…, shared by every process; memory:// this process,
    # tests only); none:// keeps none (a 304 then costs the query).
    "VERSIONS_STORAGE_URI": "",
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto (0: none).
    "PROXY_FIX_X_FOR": 0,
    # Minimum password length for new accounts (zxcvbn judges the rest).
    "PASSWORD_MIN_LENGTH": 10,
    # A log-in lasts this long at most; logging out, "log out everywhere" and a new password
    # end it sooner.
    "SESSION_LIFETIME_DAYS": 30,
    # Per account (the e-mail address typed in), on log-in and password reset, whatever the
    # client address: slows down guessing spread over many addresses.
    "ACCOUNT_RATE_LIMIT": "5 per minute; 20 per hour",
    # Werkzeug's password hash method; tests use a cheap one to stay fast.
    "PASSWORD_HASH_METHOD": "scrypt",
    # No-shows: this many within the window block new bookings for BLOCK_DAYS.
    "NO_SHOW_LIMIT": 3,
    "NO_SHOW_WINDOW_DAYS": 90,
    "BLOCK_DAYS": 30,
    # Waiting for a taken slot (docs/booking.md): at most MAX_SLOT_WAITS open waits per person;
    # a freed slot is held for the first in line this many minutes (less if it starts sooner).
    "MAX_SLOT_WAITS": 5,
    "SLOT_HOLD_MINUTES": 30,
    # How far back `flask tick` looks for bookings to close (`tick --full` looks at all).
    "TICK_LOOKBACK_DAYS": 7,
    # Retention (docs/privacy.md): bookings and sign-ups are anonymised this many days after
    # they end; sent e-mail is deleted after OUTBOX_RETENTION_DAYS; audit entries lose the
    # people in them after AUDIT_RETENTION_DAYS. RETENTION_DAYS may not be shorter than
    # NO_SHOW_WINDOW_DAYS (the no-shows that count must still name the person).
    "RETENTION_DAYS": 90,
    "OUTBOX_RETENTION_DAYS": 30,
    "AUDIT_RETENTION_DAYS": 365,
    # Statistics (docs/statistics.md): a count of distinct people below this shows as "<N".
    "STATS_MIN_COUNT": 5,
    # `flask worker`: the sweeps every WORKER_TICK_SECONDS; new mail at once on PostgreSQL
    # (LISTEN/NOTIFY), else looked for every WORKER_POLL_SECONDS (default 0.5 on SQLite, 15 on
    # PostgreSQL, where the look only catches retries that come due).
    "WORKER_TICK_SECONDS": 60,
    "WORKER_POLL_SECONDS": None,
    # Connected machines (docs/machines.md): each is asked for its state every
    # MACHINE_POLL_SECONDS (0: never), a failing one after a pause that doubles up to
    # MACHINE_POLL_MAX_BACKOFF_SECONDS; each request waits at most MACHINE_TIMEOUT_SECONDS,
    # at most MACHINE_POLL_CONCURRENCY machines are asked at once, and the poller looks for
    # due machines every MACHINE_POLL_TICK_SECONDS.
    "MACHINE_POLL_SECONDS": 15,
    "MACHINE_POLL_MAX_BACKOFF_SECONDS": 300,
    "MACHINE_TIMEOUT_SECONDS": 3,
    "MACHINE_POLL_CONCURRENCY": 4,
    "MACHINE_POLL_TICK_SECONDS": 1,
    # The key machine API keys are encrypted with (Fernet; several, comma-separated, to
    # rotate); unset: derived from SECRET_KEY (makerspace/machines/credentials.py).
    "MACHINE_CREDENTIALS_KEY": None,
    # /metrics (Prometheus): with a token, scrapers send `Authorization: Bearer <token>`;
    # without one, only the machine itself may scrape.
    "METRICS_TOKEN": None,
    # Logs on stderr: "json" (one object a line, for journald or a log shipper) or "text".
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    # Who may show a branch's embedded view (/embed/<branch>) in an iframe: the CSP
    # frame-ancestors sources, space-separated, e.g. "https://biblioteket.example.no
    # https://www.kommune.example.no"; "*" lets any site. Default: only this site itself.
    "EMBED_FRAME_ANCESTORS": "'self'",
    # Web sites whose scripts may read the public API (GET only, no credentials): origins,
    # space- or comma-separated, e.g. "https://biblioteket.example.no"; "*" for any; empty:
    # none (no CORS headers).
    "CORS_ORIGINS": "",
    # Larger request bodies are refused with 413 before they are read.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Library card and PIN (docs/identity.md): the library system's SIP2 server. No host: the
    # card log-in is not offered.
    "SIP2_HOST": None,
    "SIP2_PORT": 6001,
    "SIP2_TLS": False,
    "SIP2_TLS_CA_FILE": None,
    "SIP2_USER": "",
    "SIP2_PASSWORD": "",
    "SIP2_INSTITUTION": "",
    "SIP2_LOCATION": "",
    "SIP2_TIMEOUT": 5,  # seconds for connecting and for each answer
    "SIP2_DELIMITER": "|",
    "SIP2_CHECKSUM": True,  # AY/AZ error detection
    "SIP2_ENCODING": "utf-8",
    "SIP2_PATRON_MESSAGE": "63",  # 63 Patron Information, or 23 Patron Status
    "SIP2_BIRTHDATE_FIELD": None,  # the extension field with the birth date, e.g. "PB"
    "SIP2_EXPIRY_FIELD": None,  # the extension field with the card's expiry date, e.g. "PA"
    # Patron status positions (0-13) that mean the card is blocked: charge privileges denied
    # and card reported lost.
    "SIP2_BLOCKING_FLAGS": "0,4",
    # Branches served by another library system or institution id: {"slug": {"INSTITUTION":
    # "...", "HOST": "...", ...}} (JSON in the environment); keys override the SIP2_ settings.
    "SIP2_BRANCHES": {},
    # The key of the card-number hash (HMAC-SHA256). Required in production when SIP2_HOST is
    # set; changing it unlinks every card.
    "CARD_HASH_KEY": None,
    # OpenID Connect providers (docs/identity.md): a button is shown for each with an issuer
    # and a client id. CLIENT_SECRET, or PRIVATE_KEY_FILE for private_key_jwt.
    "IDPORTEN_ISSUER": None,
    "IDPORTEN_CLIENT_ID": None,
    "IDPORTEN_CLIENT_SECRET": None,
    "IDPORTEN_PRIVATE_KEY_FILE": None,
    "IDPORTEN_SCOPES": "openid profile",
    "IDPORTEN_NAME": "ID-porten",
    "FEIDE_ISSUER": None,
    "FEIDE_CLIENT_ID": None,
    "FEIDE_CLIENT_SECRET": None,
    "FEIDE_PRIVATE_KEY_FILE": None,
    "FEIDE_SCOPES": "openid email profile",
    "FEIDE_NAME": "Feide",
    # Seconds of clock difference allowed when checking an ID token's exp and iat.
    "OIDC_LEEWAY_SECONDS": 60,
}

# Read from the environment as booleans / integers instead of strings.
_BOOLEAN = {"SESSION_COOKIE_SECURE", "MAIL_USE_TLS", "MAIL_USE_SSL", "RATELIMIT_ENABLED",
            "DATABASE_POOL_PRE_PING", "SIP2_TLS", "SIP2_CHECKSUM"}
_INTEGER = {"MAIL_PORT", "PROXY_FIX_X_FOR", "PASSWORD_MIN_LENGTH", "SESSION_LIFETIME_DAYS",
            "NO_SHOW_LIMIT", "NO_SHOW_WINDOW_DAYS",
            "BLOCK_DAYS", "TICK_LOOKBACK_DAYS", "RETENTION_DAYS", "OUTBOX_RETENTION_DAYS",
            "AUDIT_RETENTION_DAYS", "MAX_CONTENT_LENGTH", "DATABASE_POOL_SIZE",
            "DATABASE_MAX_OVERFLOW", "DATABASE_POOL_RECYCLE", "DATABASE_POOL_TIMEOUT",
            "DATABASE_CONNECT_TIMEOUT", "SQLITE_BUSY_TIMEOUT_MS", "RETRY_AFTER_SECONDS",
            "WORKER_TICK_SECONDS", "SIP2_PORT", "MACHINE_POLL_MAX_BACKOFF_SECONDS",
            "MACHINE_POLL_CONCURRENCY", "OIDC_LEEWAY_SECONDS", "STATS_MIN_COUNT"}
# Read from the environment as JSON.
_JSON = {"SIP2_BRANCHES"}
# Names that may come from the environment even without a default here.
_EXTRA_ENV_PREFIXES = ("MAIL_",)


class ConfigError(RuntimeError):
    """The configuration cannot run the app."""


def environment_overrides(known: set[str]) -> dict[str, Any]:
    """Return config values set in the environment, for names the app knows."""
    found: dict[str, Any] = {}
    for name, raw in os.environ.items():
        if name not in known and not name.startswith(_EXTRA_ENV_PREFIXES):
            continue
        if name in ("LANGUAGES", "SQLALCHEMY_ENGINE_OPTIONS"):
            continue
        if name in _JSON:
            found[name] = json.loads(raw) if raw.strip() else {}
        elif name in _BOOLEAN:
            found[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif name in _INTEGER:
            found[name] = int(raw)
        else:
            found[name] = raw
    return found


def ensure_secret_key(config: dict[str, Any], instance_path: str) -> None:
    """Fill SECRET_KEY: required in production, generated once and kept in development."""
    if config.get("SECRET_KEY"):
        return
    if config.get("ENVIRONMENT") == "production":
        raise ConfigError(
            "SECRET_KEY is not set. In production set the SECRET_KEY environment variable "
            "(or put it in instance/config.py); for example: "
            "python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    config["SECRET_KEY"] = key_file.read_text().strip()


def check_config(config: dict[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """Refuse settings that would quietly break a promise; the message says what to do."""
    if int(config["RETENTION_DAYS"]) < int(config["NO_SHOW_WINDOW_DAYS"]):
        raise ConfigError(
            "RETENTION_DAYS is shorter than NO_SHOW_WINDOW_DAYS: no-shows would be anonymised "
            "before they stop counting. Make RETENTION_DAYS at least as long.")
    in_memory = str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://")
    if (config.get("ENVIRONMENT") == "production" and config.get("RATELIMIT_ENABLED", True)
            and in_memory and environ.get("WEB_CONCURRENCY", "").strip() != "1"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI is memory://: each worker process would count log-in "
            "attempts on its own, so the limits would not hold. Set RATELIMIT_STORAGE_URI to "
            "a shared store, e.g. redis://127.0.0.1:6379 (pip install '.[redis]'), or run a "
            "single worker and say so with WEB_CONCURRENCY=1.")
    if (config.get("ENVIRONMENT") == "production" and config.get("SIP2_HOST")
            and not config.get("CARD_HASH_KEY")):
        raise ConfigError(
            "SIP2_HOST is set but CARD_HASH_KEY is not: card numbers are kept only as a keyed "
            "hash, and the key must not change with SECRET_KEY. Set CARD_HASH_KEY, e.g. "
            "python -c 'import secrets; print(secrets.token_hex(32))'")


SUPPORTED_DATABASES = ("sqlite", "postgresql+psycopg")


def database_uri(config: dict[str, Any], instance_path: str) -> str:
    """The SQLAlchemy URL: DATABASE_URL, else a SQLite file in the instance folder. Anything
    but SQLite and PostgreSQL is refused here, at start-up, with a message that says so."""
    url = config.get("DATABASE_URL") or config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "makerspace.sqlite3")
    # Operators often paste the libpq form; SQLAlchemy needs the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url.removeprefix(prefix)
    scheme = url.partition("://")[0]
    if scheme not in SUPPORTED_DATABASES and not scheme.startswith("sqlite"):
        raise ConfigError(
            f"DATABASE_URL names a {scheme!r} database; Folkeverksted runs on SQLite "
            "(sqlite:///path/to/file) and PostgreSQL (postgresql://user@host/db) only.")
    return url


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options from the DATABASE_* settings (SQLALCHEMY_ENGINE_OPTIONS, if
    given, has the last word)."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        options: dict[str, Any] = {"connect_args": {
            "timeout": int(config["SQLITE_BUSY_TIMEOUT_MS"]) / 1000}}
    else:
        options = {"pool_pre_ping": bool(config["DATABASE_POOL_PRE_PING"]),
                   "pool_size": int(config["DATABASE_POOL_SIZE"]),
                   "max_overflow": int(config["DATABASE_MAX_OVERFLOW"]),
                   "pool_recycle": int(config["DATABASE_POOL_RECYCLE"]),
                   "pool_timeout": int(config["DATABASE_POOL_TIMEOUT"]),
                   "connect_args": {"connect_timeout": int(config["DATABASE_CONNECT_TIMEOUT"])}}
    # Error messages (and so the logs) never show a statement's values: tokens, e-mail
    # addresses and names are among them.
    options["hide_parameters"] = True
    return {**options, **(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
