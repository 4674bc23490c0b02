"""statistics: a daily and monthly rollup per machine (and per branch and hour) that every period sums

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 13:45:00

`stats_days`, `stats_months`, `stats_hours` and `stats_week_hours` hold the summable counts of each settled local
day and whole month;
`stats_coverage` says how far they reach. `stats_rollups` now keeps only distinct citizens of
closed months, quarters and years; its old rows are dropped here and counted again by the
next ticks (or `flask stats-rollup`).
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('bookings', sa.Integer(), nullable=False),
    sa.Column('booked_seconds', sa.BigInteger(), nullable=False),
    sa.Column('checked_in', sa.Integer(), nullable=False),
    sa.Column('no_shows', sa.Integer(), nullable=False),
    sa.Column('cancellations', sa.Integer(), nullable=False),
    sa.Column('cancelled_by_citizen', sa.Integer(), nullable=False),
    sa.Column('cancelled_by_staff', sa.Integer(), nullable=False),
    sa.Column('cancelled_out_of_service', sa.Integer(), nullable=False),
    sa.Column('first_time', sa.Integer(), nullable=False),
    sa.Column('without_account', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_stats_days_equipment_id_equipment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'equipment_id', name=op.f('pk_stats_days'))
    )
    op.create_table('stats_months',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('equipment_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('bookings', sa.Integer(), nullable=False),
    sa.Column('booked_seconds', sa.BigInteger(), nullable=False),
    sa.Column('checked_in', sa.Integer(), nullable=False),
    sa.Column('no_shows', sa.Integer(), nullable=False),
    sa.Column('cancellations', sa.Integer(), nullable=False),
    sa.Column('cancelled_by_citizen', sa.Integer(), nullable=False),
    sa.Column('cancelled_by_staff', sa.Integer(), nullable=False),
    sa.Column('cancelled_out_of_service', sa.Integer(), nullable=False),
    sa.Column('first_time', sa.Integer(), nullable=False),
    sa.Column('without_account', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_stats_months_equipment_id_equipment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('month', 'equipment_id', name=op.f('pk_stats_months'))
    )
    op.create_table('stats_hours',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('branch_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('hour', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('bookings', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_stats_hours_branch_id_branches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'branch_id', 'hour', name=op.f('pk_stats_hours'))
    )
    op.create_table('stats_week_hours',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('branch_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('weekday', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('hour', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('bookings', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_stats_week_hours_branch_id_branches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('month', 'branch_id', 'weekday', 'hour', name=op.f('pk_stats_week_hours'))
    )
    op.create_table('stats_coverage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('days_until', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_coverage')),
    sqlite_autoincrement=True
    )
    op.execute('DELETE FROM stats_rollups')


def downgrade():
    op.drop_table('stats_coverage')
    op.drop_table('stats_week_hours')
    op.drop_table('stats_hours')
    op.drop_table('stats_months')
    op.drop_table('stats_days')
    op.execute('DELETE FROM stats_rollups')
