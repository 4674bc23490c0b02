"""`flask backup PATH` makes a copy that, restored, holds the same bookings: SQLite through
the online backup API, PostgreSQL through pg_dump and pg_restore."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from makerspace import create_app
from makerspace.booking.models import Booking
from makerspace.extensions import db
from tests.databases import postgres_database, test_config

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.commits


def bookings_in(app) -> list[tuple]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(select(Booking).order_by(Booking.id)).all()
        found = [(b.id, b.user_id, b.equipment_id, b.start_at.replace(tzinfo=None),
                  b.status.value, b.checkin_token) for b in rows]
        db.session.remove()
        return found


@pytest.fixture
def three_bookings(make_equipment, make_user, make_booking):  # type: ignore[no-untyped-def]
    printer, laser = make_equipment(name="Prusa"), make_equipment(name="Laser")
    kari, ola = make_user(), make_user()
    for machine, person, hours in ((printer, kari, 0), (printer, ola, 2), (laser, kari, 1)):
        make_booking(machine, person, START + timedelta(hours=hours))


def restored_app(url: str):  # type: ignore[no-untyped-def]
    return create_app(test_config(url))


def test_a_restored_backup_holds_the_same_bookings(app, runner, backend, three_bookings,
                                                    tmp_path, database_url):
    original = bookings_in(app)
    assert len(original) == 3
    target = tmp_path / "backup.dump"
    result = runner.invoke(args=["backup", str(target)], env={"LANG": "en_GB.UTF-8"})
    assert result.exit_code == 0, result.output
    assert "Backup written to" in result.output and target.stat().st_size > 0
    assert not list(tmp_path.glob(".*.partial"))

    if backend == "sqlite":
        copy = restored_app(f"sqlite:///{target}")
        assert bookings_in(copy) == original
        with copy.app_context():
            db.engine.dispose()
        return
    with postgres_database(database_url, prefix="makerspace_restore") as url:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        subprocess.run([shutil.which("pg_restore"), "--no-owner", "--exit-on-error",  # noqa: S603
                        "--dbname", conninfo, str(target)], check=True, capture_output=True)
        copy = restored_app(url)
        assert bookings_in(copy) == original
        with copy.app_context():
            db.engine.dispose()


def test_backup_refuses_to_overwrite_unless_told(app, runner, tmp_path):
    target = tmp_path / "backup.dump"
    target.write_text("keep me")
    refused = runner.invoke(args=["backup", str(target)])
    assert refused.exit_code == 1
    assert "finnes allerede" in refused.output or "exists already" in refused.output
    assert target.read_text() == "keep me"
    replaced = runner.invoke(args=["backup", str(target), "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert target.read_bytes() != b"keep me"


def test_backup_into_a_missing_folder_says_so(app, runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "nowhere" / "backup.dump")],
                           env={"LANG": "en_GB.UTF-8"})
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_without_pg_dump_postgresql_says_how_to_get_it_sqlite_needs_none(
        app, runner, backend, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = runner.invoke(args=["backup", str(tmp_path / "b.dump")],
                           env={"LANG": "en_GB.UTF-8"})
    if backend == "sqlite":
        assert result.exit_code == 0, result.output
        assert (tmp_path / "b.dump").stat().st_size > 0
    else:
        assert result.exit_code == 1
        assert "apt install postgresql-client" in result.output
        assert not (tmp_path / "b.dump").exists()
