"""machine connections: a machine's OctoPrint, Moonraker or PrusaLink, and the jobs seen on it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 13:08:27

The API key is kept encrypted (makerspace/machines/credentials.py). At most one open job per
machine (a partial unique index), so two pollers cannot both start one.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('machine_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('octoprint', 'moonraker', 'prusalink', name='connection_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('api_key_encrypted', sa.Text(), nullable=True),
    sa.Column('check_in_on_start', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('finish_on_end', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('status', sa.Enum('unknown', 'online', 'offline', name='machine_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('printer_state', sa.String(length=30), nullable=False),
    sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_machine_connections_failures')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_machine_connections_equipment_id_equipment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machine_connections')),
    sa.UniqueConstraint('equipment_id', name=op.f('uq_machine_connections_equipment_id')),
    sqlite_autoincrement=True
    )
    op.create_table('machine_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('remote_key', sa.String(length=300), nullable=False),
    sa.Column('state', sa.Enum('running', 'paused', 'finished', 'failed', 'cancelled', 'unknown', name='machine_job_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress', sa.Float(), nullable=True),
    sa.Column('estimated_end_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filament_mm', sa.Float(), nullable=True),
    sa.Column('filament_grams', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_machine_jobs_period')),
    sa.CheckConstraint('progress IS NULL OR (progress >= 0 AND progress <= 100)', name=op.f('ck_machine_jobs_progress')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_machine_jobs_booking_id_bookings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_machine_jobs_equipment_id_equipment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machine_jobs')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('machine_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_machine_jobs_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index('ix_machine_jobs_equipment_started', ['equipment_id', 'started_at'], unique=False)
        batch_op.create_index('uq_machine_jobs_open', ['equipment_id'], unique=True, postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))



def downgrade():
    with op.batch_alter_table('machine_jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_machine_jobs_open', postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index('ix_machine_jobs_equipment_started')
        batch_op.drop_index(batch_op.f('ix_machine_jobs_booking_id'))

    op.drop_table('machine_jobs')
    op.drop_table('machine_connections')
