"""The schema comes from migrations only, and both databases are set up as promised."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from makerspace.branches.models import Branch
from makerspace.extensions import db


@pytest.mark.commits
def test_models_and_migrations_agree(app_ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


@pytest.mark.commits
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


@pytest.mark.commits
def test_upgrading_keeps_existing_data(app_ctx):
    """Rebuilding SQLite tables in batch mode must not cascade deletes into other tables."""
    downgrade(revision="0002")
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    statements = [
        ("INSERT INTO branches (id, slug, name, municipality, timezone, created_at, updated_at) "
         "VALUES (1, 'x', 'X', 'X', 'Europe/Oslo', :t, :t)"),
        ("INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at) "
         "VALUES (1, 'a@example.no', 'A', 'x', 'librarian', :t, :t)"),
        "INSERT INTO branch_staff (user_id, branch_id) VALUES (1, 1)",
        ("INSERT INTO equipment (id, branch_id, name, kind, description, slot_minutes, "
         "min_minutes, max_minutes, buffer_minutes, max_advance_days, created_at, updated_at) "
         "VALUES (1, 1, 'P', 'other', '', 30, 60, 240, 0, 14, :t, :t)"),
        ("INSERT INTO bookings (equipment_id, user_id, start_at, end_at, occupied_until, status, "
         "created_at, updated_at, cancel_reason) VALUES (1, 1, :t, :end, :end, 'confirmed', "
         ":t, :t, '')"),
    ]
    with db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), {"t": stamp, "end": stamp + timedelta(hours=1)})
    upgrade()
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM branch_staff")).scalar() == 1
        tokens = connection.execute(text("SELECT checkin_token FROM bookings")).scalars().all()
    assert len(tokens) == 1 and len(tokens[0]) == 32


@pytest.mark.commits
def test_going_below_0027_waits_for_the_confirmations_not_yet_written(app_ctx, make_user,
                                                                       make_equipment):
    """0026 keeps no message without its text: a downgrade refuses while one is waiting,
    instead of dropping it or sending it empty."""
    from makerspace.accounts.models import User
    from makerspace.booking.models import Equipment
    from makerspace.booking.services import create_booking
    from makerspace.branches.hours import local_moment
    from makerspace.mail.messages import write
    from makerspace.mail.models import OutboxMessage

    person, machine = make_user(), make_equipment()
    start = local_moment(date.today() + timedelta(days=3), 10 * 60, ZoneInfo("Europe/Oslo"))
    create_booking(user=db.session.get(User, person.id),
                   equipment=db.session.get(Equipment, machine.id), start=start,
                   end=start + timedelta(hours=1))
    db.session.commit()
    db.session.remove()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits
        downgrade(revision="0026")
    with db.engine.connect() as connection:  # refused: still at 0027, the message waiting
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() \
            == "0027"
        assert connection.execute(text("SELECT count(*) FROM outbox_messages "
                                       "WHERE text_body IS NULL")).scalar() == 1
    message = db.session.scalars(select(OutboxMessage)).one()
    write(message)
    db.session.commit()
    db.session.remove()
    downgrade(revision="0026")
    with db.engine.connect() as connection:
        kept = connection.execute(text("SELECT text_body FROM outbox_messages")).scalar()
    assert "Prusa MK4" in kept  # the written text, kept as it was
    upgrade()
