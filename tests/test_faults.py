"""When the database is away: 503 with Retry-After (problem+json for the API, a translated page
for people), health that tells the truth, recovery without a restart. PostgreSQL runs on a
server of the test's own; SQLite's lock is held by a second connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from makerspace import create_app
from makerspace.extensions import db
from tests import pg_instance
from tests.databases import test_config
from tests.helpers import PASSWORD

pytestmark = pytest.mark.skipif(not pg_instance.available(),
                                reason="PostgreSQL's server binaries are not installed")


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[pg_instance.TempPostgres]:
    server = pg_instance.TempPostgres()
    yield server
    server.close()


def _migrated_app(url: str, **extra):  # type: ignore[no-untyped-def]
    app = create_app(test_config(url, DATABASE_CONNECT_TIMEOUT=2, RETRY_AFTER_SECONDS=7,
                                 PROPAGATE_TEST_ERRORS=False, **extra))
    with app.app_context():
        upgrade()
    return app


def _assert_unavailable(client) -> None:  # type: ignore[no-untyped-def]
    api = client.get("/api/v1/branches")
    assert api.status_code == 503 and api.headers["Retry-After"] == "7"
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["code"] == "unavailable"
    page = client.get("/branches/", headers={"Accept-Language": "nb"})
    assert page.status_code == 503 and page.headers["Retry-After"] == "7"
    assert "ikke tilgjengelig" in page.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200  # the process is alive
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "unreachable" in ready.get_json()["reason"]


def test_a_postgresql_restart_is_503_then_back_without_restarting_the_app(own_postgres):
    app = _migrated_app(own_postgres.url)
    client = app.test_client()
    client.post("/register", data={"name": "Kari", "email": "kari@example.no",
                                   "birth_year": "1990", "password": PASSWORD,
                                   "password_again": PASSWORD})
    client.post("/login", data={"email": "kari@example.no", "password": PASSWORD})
    assert client.get("/api/v1/branches").status_code == 200
    assert client.get("/readyz").status_code == 200
    own_postgres.stop()
    own_postgres.wait_until_down()
    _assert_unavailable(client)
    assert client.get("/profile").status_code == 503  # even logged in: no 500
    own_postgres.start()
    assert client.get("/api/v1/branches").status_code == 200
    assert client.get("/profile").status_code == 200  # the session survived
    # a restart between two requests: the pooled connections are dead, the first request
    # after it still succeeds (pre-ping)
    own_postgres.stop()
    own_postgres.start()
    assert client.get("/branches/").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_readyz_is_503_on_a_database_without_the_schema(tmp_path: Path):
    app = create_app(test_config(f"sqlite:///{tmp_path}/empty.sqlite3"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and "flask db upgrade" in response.get_json()["reason"]
    assert app.test_client().get("/healthz").status_code == 200
    with app.app_context():
        upgrade(revision="0004")
    behind = app.test_client().get("/readyz").get_json()["reason"]
    head = ScriptDirectory(str(Path(__file__).parent.parent / "migrations")).get_current_head()
    assert "0004" in behind and f"needs {head}" in behind
    with app.app_context():
        upgrade()
    assert app.test_client().get("/readyz").get_json() == {"status": "ok"}


def test_a_sqlite_lock_held_too_long_is_503_not_a_hung_worker(tmp_path: Path):
    path = tmp_path / "locked.sqlite3"
    app = _migrated_app(f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT_MS=200)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        client = app.test_client()
        response = client.post("/register", data={
            "name": "Kari", "email": "kari@example.no", "birth_year": "1990",
            "password": PASSWORD, "password_again": PASSWORD})
        assert response.status_code == 503 and response.headers["Retry-After"] == "7"
        assert client.get("/branches/").status_code == 200  # readers are not blocked
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert app.test_client().post("/register", data={
        "name": "Kari", "email": "kari@example.no", "birth_year": "1990",
        "password": PASSWORD, "password_again": PASSWORD}).status_code == 302


def test_unsupported_database_urls_are_refused_at_start_up():
    from makerspace.config import ConfigError

    with pytest.raises(ConfigError, match="SQLite .* and PostgreSQL"):
        create_app({"DATABASE_URL": "mysql://root@127.0.0.1/test", "SECRET_KEY": "k"})


def _cli(url: str, *args: str):  # type: ignore[no-untyped-def]
    app = create_app(test_config(url))
    return app.test_cli_runner().invoke(args=list(args), env={"LANG": "en_GB.UTF-8"})


@pytest.mark.parametrize("command", [["tick"], ["send-mail"], ["seed-demo", "--if-empty"],
                                     ["create-token", "x@example.no"]])
def test_commands_on_an_empty_database_say_what_to_do_in_one_line(tmp_path, command):
    result = _cli(f"sqlite:///{tmp_path}/empty.sqlite3", *command)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert lines == [lines[0]] and "flask db upgrade" in lines[0], result.output
    assert "Traceback" not in result.output
    verbose = _cli(f"sqlite:///{tmp_path}/empty.sqlite3", *command, "-v")
    assert verbose.exit_code != 0


def test_a_damaged_database_file_is_named(tmp_path):
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a database at all" * 200)
    result = _cli(f"sqlite:///{broken}", "tick")
    assert result.exit_code != 0 and "damaged" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_dead_postgresql_is_one_line_in_the_operators_language(own_postgres):
    with create_app(test_config(own_postgres.url)).app_context():
        upgrade()
        db.engine.dispose()  # or the stopped server strands the pooled connection
    own_postgres.stop()
    try:
        app = create_app(test_config(own_postgres.url, DATABASE_CONNECT_TIMEOUT=2))
        english = app.test_cli_runner().invoke(args=["tick"], env={"LANG": "en_GB.UTF-8"})
        assert english.exit_code != 0
        assert english.output.strip().splitlines() == [
            f"Error: Cannot reach the database 127.0.0.1:{own_postgres.port}/makerspace. "
            "Is it running? Check DATABASE_URL."]
        norwegian = app.test_cli_runner().invoke(args=["tick"], env={"LANG": "nb_NO.UTF-8"})
        assert "Får ikke kontakt" in norwegian.output
    finally:
        own_postgres.start()
