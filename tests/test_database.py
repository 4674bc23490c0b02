"""The schema comes from migrations only, and both databases are set up as promised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from makerspace.branches.models import Branch
from makerspace.extensions import db


def test_models_and_migrations_agree(app_ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_migrations_go_down_and_up_again(app_ctx):
    downgrade(revision="base")
    with db.engine.connect() as connection:
        tables = db.inspect(connection).get_table_names()
    assert "users" not in tables
    upgrade()
    with db.engine.connect() as connection:
        assert "users" in db.inspect(connection).get_table_names()


def test_timestamps_come_back_as_aware_utc(app_ctx):
    oslo_noon = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    branch = Branch(slug="tz", name="Tz", municipality="Oslo", created_at=oslo_noon)
    db.session.add(branch)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Branch, branch.id).created_at
    assert stored == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(app_ctx):
    db.session.add(Branch(slug="naive", name="N", municipality="N",
                          created_at=datetime(2026, 7, 1, 12, 0)))  # noqa: DTZ001
    with pytest.raises(Exception, match="naive"):
        db.session.commit()
    db.session.rollback()


def test_sqlite_has_foreign_keys_and_wal(app_ctx, backend):
    if backend != "sqlite":
        assert db.session.execute(text("SHOW server_encoding")).scalar() == "UTF8"
        return
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
