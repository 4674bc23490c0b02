"""Configuration order and the secret key rules (no database needed)."""

from __future__ import annotations

import pytest

from makerspace import create_app
from makerspace.config import ConfigError, database_uri, ensure_secret_key, environment_overrides


def test_production_without_secret_key_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})


def test_production_with_secret_key_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_production_refuses_per_process_rate_limits_with_several_workers(monkeypatch, tmp_path):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    config = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    for workers in (None, "4"):
        if workers is None:
            monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
        else:
            monkeypatch.setenv("WEB_CONCURRENCY", workers)
        with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
            create_app(config)
    monkeypatch.setenv("WEB_CONCURRENCY", "1")  # one worker: memory:// counts right
    assert create_app(config).config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_retention_may_not_be_shorter_than_the_no_show_window(tmp_path):
    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": "k",
                    "RETENTION_DAYS": 30, "NO_SHOW_WINDOW_DAYS": 90})


def test_development_generates_a_key_once_and_keeps_it(tmp_path):
    first: dict = {"ENVIRONMENT": "development"}
    ensure_secret_key(first, str(tmp_path))
    second: dict = {"ENVIRONMENT": "development"}
    ensure_secret_key(second, str(tmp_path))
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides_known_names_with_types(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    monkeypatch.setenv("NOT_OURS", "ignored")
    found = environment_overrides({"DATABASE_URL"})
    assert found["DATABASE_URL"] == "sqlite:///elsewhere.sqlite3"
    assert found["MAIL_PORT"] == 2525
    assert found["MAIL_USE_TLS"] is True
    assert "NOT_OURS" not in found


def test_environment_beats_defaults_and_test_config_beats_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BASE_URL", "https://folkeverksted.example")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": "k"})
    assert app.config["BASE_URL"] == "https://folkeverksted.example"
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": "k",
                      "BASE_URL": "http://test"})
    assert app.config["BASE_URL"] == "http://test"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_url_names_the_driver(given, expected):
    assert database_uri({"DATABASE_URL": given}, "/x") == expected


def test_default_database_is_sqlite_in_the_instance_folder():
    assert database_uri({}, "/srv/instance") == "sqlite:////srv/instance/makerspace.sqlite3"
