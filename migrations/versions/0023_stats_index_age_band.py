"""statistics: age_band in ix_bookings_stats, so distinct citizens per age band read the index alone

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 20:05:00

Only the index is made again; the bookings table is not rebuilt (also on SQLite).
"""
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_bookings_stats', table_name='bookings')
    op.create_index('ix_bookings_stats', 'bookings',
                    ['start_at', 'equipment_id', 'status', 'end_at', 'citizen_key', 'age_band'],
                    unique=False)


def downgrade():
    op.drop_index('ix_bookings_stats', table_name='bookings')
    op.create_index('ix_bookings_stats', 'bookings',
                    ['start_at', 'equipment_id', 'status', 'end_at', 'citizen_key'],
                    unique=False)
