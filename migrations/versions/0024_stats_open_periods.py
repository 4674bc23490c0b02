"""statistics: kept distinct citizens of open periods, and an index of each person's bookings

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 09:00:00

`stats_rollups.days_until` marks numbers that count an open month, quarter or year up to a
day; `ix_bookings_people` finds one person's bookings in a period (makerspace/stats).
"""
import sqlalchemy as sa
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('stats_rollups', sa.Column('days_until', sa.Date(), nullable=True))
    op.create_index('ix_bookings_people', 'bookings',
                    ['citizen_key', 'start_at', 'equipment_id', 'status', 'age_band'],
                    unique=False)


def downgrade():
    op.drop_index('ix_bookings_people', table_name='bookings')
    with op.batch_alter_table('stats_rollups') as batch_op:
        batch_op.drop_column('days_until')
