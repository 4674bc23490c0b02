"""trust: server-side log-in sessions, ids never reused, anonymisable bookings and sign-ups

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:52:56.004373

On SQLite every table with an integer key is rebuilt with AUTOINCREMENT, so an id a deleted
row had is never given to a new one (a cookie, link or feed that named it must not open
someone else's row). PostgreSQL's sequences never reuse ids; nothing to do there.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Every table with an integer id that existed before this revision, parents first.
ID_TABLES = [
    "branches", "users", "api_tokens", "weekly_hours", "date_exceptions", "certifications",
    "user_certifications", "equipment", "equipment_outages", "bookings", "booking_blocks",
    "event_series", "events", "signups", "audit_entries", "outbox_messages",
    "outbox_attachments",
]
ACTIVE = "('confirmed', 'checked_in', 'completed')"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _batch(table: str):
    """Alter a table; on SQLite rebuild it with AUTOINCREMENT whatever else changes."""
    if _sqlite():
        return op.batch_alter_table(table, recreate="always",
                                    table_kwargs={"sqlite_autoincrement": True})
    return op.batch_alter_table(table)


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    if _sqlite():
        # The rebuilds below drop the table's triggers; they are made again at the end.
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_update")

    changed = {"audit_entries", "bookings", "branches", "outbox_messages", "signups",
               "user_certifications"}
    # Actions are text without a database check from now on: areas add their own.
    if not _sqlite():
        op.execute("ALTER TABLE audit_entries DROP CONSTRAINT IF EXISTS "
                   "ck_audit_entries_audit_action")
    with _batch('audit_entries') as batch_op:
        if _sqlite():
            batch_op.drop_constraint(batch_op.f('ck_audit_entries_audit_action'), type_='check')
        batch_op.alter_column('action', existing_type=sa.String(length=20),
                              type_=sa.String(length=40), existing_nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_audit_entries_subject_user_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_audit_entries_subject_user_id_users'), 'users', ['subject_user_id'], ['id'], ondelete='SET NULL')

    with _batch('bookings') as batch_op:
        batch_op.add_column(sa.Column('age_band', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('cancellation', sa.Enum('citizen', 'staff', 'out_of_service', name='cancellation', native_enum=False, create_constraint=True, length=30), nullable=True))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.drop_constraint(batch_op.f('fk_bookings_user_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_bookings_user_id_users'), 'users', ['user_id'], ['id'], ondelete='SET NULL')

    with _batch('branches') as batch_op:
        batch_op.add_column(sa.Column('staff_feed_full_names', sa.Boolean(), server_default=sa.false(), nullable=False))

    with _batch('outbox_messages') as batch_op:
        batch_op.add_column(sa.Column('link_kind', sa.String(length=40), nullable=True))

    with _batch('signups') as batch_op:
        batch_op.add_column(sa.Column('age_band', sa.String(length=10), nullable=True))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.drop_constraint(batch_op.f('fk_signups_user_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_signups_user_id_users'), 'users', ['user_id'], ['id'], ondelete='SET NULL')

    with _batch('user_certifications') as batch_op:
        batch_op.add_column(sa.Column('branch_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_user_certifications_branch_id_branches'), 'branches', ['branch_id'], ['id'], ondelete='SET NULL')

    if _sqlite():
        for table in ID_TABLES:
            if table not in changed:
                with _batch(table):
                    pass
        _create_sqlite_overlap_triggers()
        _recreate_partial_indexes()

    op.create_index('ix_bookings_named_end', 'bookings', ['end_at'], unique=False,
                    postgresql_where=sa.text('user_id IS NOT NULL'),
                    sqlite_where=sa.text('user_id IS NOT NULL'))
    _fill_age_bands()
    op.execute("UPDATE bookings SET cancellation = CASE WHEN cancelled_by_id = user_id "
               "THEN 'citizen' ELSE 'staff' END WHERE status = 'cancelled'")


def _year(column: str) -> str:
    if _sqlite():
        return f"CAST(strftime('%Y', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(YEAR FROM {column} AT TIME ZONE 'UTC') AS INTEGER)"


def _fill_age_bands():
    """The age band of everyone who booked or signed up so far (this revision's own copy of
    the rule: the age is the year of the start minus the birth year)."""
    def band(start: str) -> str:
        age = f"({_year(start)} - u.birth_year)"
        return (f"CASE WHEN u.birth_year IS NULL THEN NULL WHEN {age} < 16 THEN 'under-16' "
                f"WHEN {age} <= 25 THEN '16-25' WHEN {age} <= 66 THEN '26-66' ELSE '67+' END")

    op.execute(f"UPDATE bookings SET age_band = (SELECT {band('bookings.start_at')} "
               "FROM users u WHERE u.id = bookings.user_id)")
    op.execute(f"UPDATE signups SET age_band = (SELECT {band('e.start_at')} FROM users u, "
               "events e WHERE u.id = signups.user_id AND e.id = signups.event_id)")


def _create_sqlite_overlap_triggers():
    """The same triggers as migration 0002 creates (a migration keeps its own copy)."""
    overlapping = (
        "SELECT RAISE(ABORT, 'booking_overlap') WHERE EXISTS (SELECT 1 FROM bookings b "
        "WHERE b.equipment_id = NEW.equipment_id AND b.status IN " + ACTIVE + " "
        "AND b.start_at < NEW.occupied_until AND NEW.start_at < b.occupied_until {extra})"
    )
    op.execute(
        "CREATE TRIGGER bookings_no_overlap_insert BEFORE INSERT ON bookings "
        f"WHEN NEW.status IN {ACTIVE} BEGIN " + overlapping.format(extra="") + "; END"
    )
    op.execute(
        "CREATE TRIGGER bookings_no_overlap_update BEFORE UPDATE ON bookings "
        f"WHEN NEW.status IN {ACTIVE} BEGIN "
        + overlapping.format(extra="AND b.id != NEW.id") + "; END"
    )


def _recreate_partial_indexes():
    """A rebuild may carry a partial index over without its WHERE: make them anew."""
    op.execute("DROP INDEX IF EXISTS uq_signups_event_user_live")
    op.execute("DROP INDEX IF EXISTS uq_signups_event_queue_number")
    op.execute("CREATE UNIQUE INDEX uq_signups_event_user_live ON signups (event_id, user_id) "
               "WHERE status IN ('confirmed', 'waitlisted')")
    op.execute("CREATE UNIQUE INDEX uq_signups_event_queue_number ON signups "
               "(event_id, queue_number) WHERE status = 'waitlisted'")


def downgrade():
    op.drop_index('ix_bookings_named_end', table_name='bookings',
                  postgresql_where=sa.text('user_id IS NOT NULL'),
                  sqlite_where=sa.text('user_id IS NOT NULL'))
    # Anonymised rows cannot go back to a schema that needs a person on every row.
    op.execute("DELETE FROM bookings WHERE user_id IS NULL")
    op.execute("DELETE FROM signups WHERE user_id IS NULL")
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_update")
    with op.batch_alter_table('user_certifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_certifications_branch_id_branches'), type_='foreignkey')
        batch_op.drop_column('branch_id')

    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_signups_user_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_signups_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('age_band')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('link_kind')

    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.drop_column('staff_feed_full_names')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bookings_user_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_bookings_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        if _sqlite():
            batch_op.drop_constraint(batch_op.f('ck_bookings_cancellation'), type_='check')
        batch_op.drop_column('cancellation')
        batch_op.drop_column('age_band')

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_entries_subject_user_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_audit_entries_subject_user_id_users'), 'users', ['subject_user_id'], ['id'], ondelete='CASCADE')
        batch_op.alter_column('action', existing_type=sa.String(length=40),
                              type_=sa.String(length=20), existing_nullable=False)
        if _sqlite():
            batch_op.create_check_constraint(
                batch_op.f('ck_audit_entries_audit_action'),
                "action IN ('checked_in', 'no_show', 'blocked', 'block_lifted', 'attended')")

    if _sqlite():
        _create_sqlite_overlap_triggers()
        _recreate_partial_indexes()

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_user_sessions_expires_at'))

    op.drop_table('user_sessions')
