"""statistics: citizen keys and first bookings on bookings, yearly salts, the rollup, summary opt-ins

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 07:30:00

Bookings that still name their booker get their citizen key and first-booking mark here, as
new ones do when written (makerspace/stats/keys.py); bookings already anonymised keep none
and count as bookings without an account.
"""
import hashlib
import hmac
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_salts',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_stats_salts'))
    )
    op.create_table('stats_subscriptions',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stats_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_stats_subscriptions'))
    )
    op.create_table('stats_summaries_sent',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_stats_summaries_sent'))
    )
    op.create_table('stats_rollups',
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('grouping', sa.String(length=60), nullable=False),
    sa.Column('rows', sa.Text(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('period', 'grouping', name=op.f('pk_stats_rollups'))
    )
    # Plain ALTER TABLE ADD COLUMN, not a batch rebuild: on SQLite the bookings table keeps
    # its AUTOINCREMENT and its overlap triggers (migrations 0002 and 0005).
    op.add_column('bookings', sa.Column('citizen_key', sa.String(length=16), nullable=True))
    op.add_column('bookings', sa.Column('first_booking', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_bookings_stats', 'bookings', ['start_at', 'equipment_id', 'status', 'end_at', 'citizen_key'], unique=False)

    bind = op.get_bind()
    bookings = sa.table('bookings', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                        sa.column('start_at', sa.DateTime), sa.column('citizen_key', sa.String),
                        sa.column('first_booking', sa.Boolean))
    salts = sa.table('stats_salts', sa.column('year', sa.Integer), sa.column('salt', sa.String))
    kept: dict[int, str] = {}
    first_seen: set[int] = set()
    rows = bind.execute(sa.select(bookings.c.id, bookings.c.user_id, bookings.c.start_at)
                        .where(bookings.c.user_id.is_not(None))
                        .order_by(bookings.c.user_id, bookings.c.id)).all()
    for booking_id, user_id, start_at in rows:
        year = start_at.year if not isinstance(start_at, str) else int(start_at[:4])
        if year not in kept:
            kept[year] = secrets.token_hex(32)
            bind.execute(salts.insert().values(year=year, salt=kept[year]))
        key = hmac.new(kept[year].encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:16]
        bind.execute(bookings.update().where(bookings.c.id == booking_id).values(
            citizen_key=key, first_booking=user_id not in first_seen))
        first_seen.add(user_id)


def downgrade():
    # No batch rebuild here either (SQLite 3.35+ drops columns in place).
    op.drop_index('ix_bookings_stats', table_name='bookings')
    op.execute('ALTER TABLE bookings DROP COLUMN first_booking')
    op.execute('ALTER TABLE bookings DROP COLUMN citizen_key')
    op.drop_table('stats_rollups')
    op.drop_table('stats_summaries_sent')
    op.drop_table('stats_subscriptions')
    op.drop_table('stats_salts')
