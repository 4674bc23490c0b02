"""statistics: an open period's kept numbers count the bookings made before a moment

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 13:10:00

`stats_rollups.made_before` replaces `days_until`: an open month, quarter or year is kept
with all its days (those ahead too), counting the bookings made before that moment, and a
page adds the people of the bookings made since, found by `ix_bookings_created_at`. Kept
open numbers of the old kind are dropped; the next ticks count them again.
"""
import sqlalchemy as sa
from alembic import op


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM stats_rollups WHERE days_until IS NOT NULL")
    with op.batch_alter_table('stats_rollups') as batch_op:
        batch_op.drop_column('days_until')
        batch_op.add_column(sa.Column('made_before', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_bookings_created_at', 'bookings', ['created_at'], unique=False)


def downgrade():
    op.drop_index('ix_bookings_created_at', table_name='bookings')
    op.execute("DELETE FROM stats_rollups WHERE made_before IS NOT NULL")
    with op.batch_alter_table('stats_rollups') as batch_op:
        batch_op.drop_column('made_before')
        batch_op.add_column(sa.Column('days_until', sa.Date(), nullable=True))
