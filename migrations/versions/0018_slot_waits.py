"""slot waits and holds: the slot_waits table; bookings may be `held`, and held rows occupy
the machine like active bookings

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 13:30:00

The overlap guarantee (migration 0002) now counts held rows: PostgreSQL's exclusion
constraint and SQLite's triggers are made again with `held` among the statuses that occupy
the machine. SQLite cannot change a CHECK constraint in place, so the bookings table is
rebuilt the way SQLite's documentation describes (new table, copy, drop, rename), from its
own CREATE statement with one status more: AUTOINCREMENT, its counter, every index and the
triggers stay as they were.
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

STATUSES = "'confirmed', 'checked_in', 'completed', 'cancelled', 'no_show'"
ACTIVE = "('confirmed', 'checked_in', 'completed')"
OCCUPYING = "('confirmed', 'checked_in', 'completed', 'held')"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    op.create_table('slot_waits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('hold_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(booking_id IS NULL) = (hold_expires_at IS NULL)', name=op.f('ck_slot_waits_hold')),
    sa.CheckConstraint('end_at > start_at', name=op.f('ck_slot_waits_period')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_slot_waits_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_slot_waits_equipment_id_equipment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_slot_waits_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slot_waits')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_slot_waits_booking_id')),
    sa.UniqueConstraint('user_id', 'equipment_id', 'start_at', 'end_at', name=op.f('uq_slot_waits_one_per_slot')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_slot_waits_equipment_start', 'slot_waits', ['equipment_id', 'start_at'], unique=False)
    op.create_index(op.f('ix_slot_waits_hold_expires_at'), 'slot_waits', ['hold_expires_at'], unique=False)
    op.create_index(op.f('ix_slot_waits_user_id'), 'slot_waits', ['user_id'], unique=False)
    _statuses(f"{STATUSES}, 'held'", OCCUPYING)


def downgrade():
    op.drop_table('slot_waits')
    op.execute("DELETE FROM bookings WHERE status = 'held'")
    _statuses(STATUSES, ACTIVE)


def _statuses(allowed: str, occupying: str) -> None:
    """The statuses a booking may have, and those that occupy the machine (the overlap
    guarantee)."""
    if not _sqlite():
        op.execute("ALTER TABLE bookings DROP CONSTRAINT ck_bookings_booking_status")
        op.execute(f"ALTER TABLE bookings ADD CONSTRAINT ck_bookings_booking_status "
                   f"CHECK (status IN ({allowed}))")
        op.execute("ALTER TABLE bookings DROP CONSTRAINT ex_bookings_no_overlap")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
            "(equipment_id WITH =, tstzrange(start_at, occupied_until, '[)') WITH &&) "
            f"WHERE (status IN {occupying})")
        return
    bind = op.get_bind()
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'bookings'").scalar()
    start = table_sql.index("CONSTRAINT ck_bookings_booking_status CHECK (status IN (")
    end = table_sql.index("))", start) + 2
    new_sql = (table_sql[:start]
               + f"CONSTRAINT ck_bookings_booking_status CHECK (status IN ({allowed}))"
               + table_sql[end:]).replace('CREATE TABLE "bookings"', 'CREATE TABLE bookings_new', 1)
    assert "bookings_new" in new_sql, "unexpected CREATE TABLE statement for bookings"
    indexes = [sql for (sql,) in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bookings' "
        "AND sql IS NOT NULL")]
    counter = bind.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = 'bookings'").scalar()
    columns = ", ".join(f'"{row[1]}"' for row in bind.exec_driver_sql(
        "PRAGMA table_info(bookings)"))
    op.execute(new_sql)
    op.execute(f"INSERT INTO bookings_new ({columns}) SELECT {columns} FROM bookings")
    op.execute("DROP TABLE bookings")  # its indexes and triggers go with it
    op.execute("ALTER TABLE bookings_new RENAME TO bookings")
    if counter is not None:
        op.execute(f"UPDATE sqlite_sequence SET seq = {int(counter)} WHERE name = 'bookings'")
    for sql in indexes:
        op.execute(sql)
    overlapping = (
        "SELECT RAISE(ABORT, 'booking_overlap') WHERE EXISTS (SELECT 1 FROM bookings b "
        f"WHERE b.equipment_id = NEW.equipment_id AND b.status IN {occupying} "
        "AND b.start_at < NEW.occupied_until AND NEW.start_at < b.occupied_until {extra})"
    )
    op.execute(
        "CREATE TRIGGER bookings_no_overlap_insert BEFORE INSERT ON bookings "
        f"WHEN NEW.status IN {occupying} BEGIN " + overlapping.format(extra="") + "; END"
    )
    op.execute(
        "CREATE TRIGGER bookings_no_overlap_update BEFORE UPDATE ON bookings "
        f"WHEN NEW.status IN {occupying} BEGIN "
        + overlapping.format(extra="AND b.id != NEW.id") + "; END"
    )
