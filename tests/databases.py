"""Throwaway databases and app config for the test suite and the benchmarks (bench/*.py)."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy.engine import make_url


def test_config(url: str, **extra: Any) -> dict[str, Any]:
    """App config for tests and benchmarks: a given database, cheap password hashing."""
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SERVER_NAME": None,
        "RATELIMIT_ENABLED": False,  # tests/test_rate_limits.py turns it on
        # Concurrency tests run 32 transactions at once, each on a connection of its own.
        "DATABASE_POOL_SIZE": 10, "DATABASE_MAX_OVERFLOW": 40,
        **extra,
    }


test_config.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A SQLite file in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="makerspace_") as folder:
        yield f"sqlite:///{Path(folder) / 'makerspace.sqlite3'}"


@contextmanager
def postgres_database(base_url: str, prefix: str = "makerspace_test") -> Iterator[str]:
    """A database of its own on the server of `base_url`, dropped afterwards, so whatever
    earlier runs left on that server does not matter."""
    url = make_url(base_url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_base_url() -> str | None:
    """The PostgreSQL server to make throwaway databases on (BENCH_DATABASE_URL for the
    benchmarks, else TEST_DATABASE_URL), or None: then only SQLite is used."""
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")


@contextmanager
def throwaway_database(backend: str, prefix: str = "makerspace_test") -> Iterator[str]:
    """An empty database of the kind ("sqlite" or "postgresql"), removed afterwards."""
    if backend == "sqlite":
        with sqlite_database() as url:
            yield url
        return
    base_url = postgres_base_url()
    if not base_url:
        raise LookupError("TEST_DATABASE_URL is not set")
    with postgres_database(base_url, prefix) as url:
        yield url


def migrated_app(url: str, **extra: Any) -> Flask:
    """The app on `url` (test_config), with the database migrated to the newest revision."""
    from flask_migrate import upgrade

    from makerspace import create_app

    app = create_app(test_config(url, **extra))
    with app.app_context():
        upgrade()
    return app
