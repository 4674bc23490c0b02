"""unattended jobs and material: machines' longest unattended job, branches' night limits,
bookings' unattended flag and estimate, the job and its material (`booking_jobs`), prices

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:30:00

Columns are added in place (no batch rebuild): on SQLite the bookings, equipment and
branches tables keep their AUTOINCREMENT and the overlap triggers (0002, 0005). SQLite gets
the new check constraints inline in ADD COLUMN; PostgreSQL as table constraints.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _add_checked(table: str, column: str, ddl: str, check_name: str, check: str) -> None:
    """ADD COLUMN `column ddl` with a named check constraint."""
    if _sqlite():
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl} "
                   f"CONSTRAINT {check_name} CHECK ({check})")
    else:
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")
        op.create_check_constraint(check_name, table, check)


def upgrade():
    _add_checked('equipment', 'unattended_max_minutes', "INTEGER DEFAULT '0' NOT NULL",
                 'ck_equipment_unattended_max_minutes', 'unattended_max_minutes BETWEEN 0 AND 1440')
    _add_checked('branches', 'unattended_per_night', "INTEGER DEFAULT '1'",
                 'ck_branches_unattended_per_night',
                 'unattended_per_night IS NULL OR unattended_per_night >= 0')
    op.add_column('branches', sa.Column('unattended_before_closed_day', sa.Boolean(),
                                        server_default=sa.false(), nullable=False))
    _add_checked('branches', 'unattended_pickup_minutes', "INTEGER DEFAULT '60' NOT NULL",
                 'ck_branches_unattended_pickup_minutes',
                 'unattended_pickup_minutes BETWEEN 0 AND 720')
    op.add_column('bookings', sa.Column('unattended', sa.Boolean(), server_default=sa.false(),
                                        nullable=False))
    op.add_column('bookings', sa.Column('estimated_minutes', sa.Integer(), nullable=True))
    op.add_column('bookings', sa.Column('rerun_of_id', sa.Integer(), nullable=True))

    op.create_table('booking_jobs',
    sa.Column('booking_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('started_via', sa.String(length=20), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_via', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.Enum('finished', 'failed', 'stopped', name='job_outcome', native_enum=False, create_constraint=True, length=30), nullable=True),
    sa.Column('material_amount', sa.Float(), nullable=True),
    sa.Column('material_unit', sa.Enum('g', 'm', 'sheet', name='material_unit', native_enum=False, create_constraint=True, length=30), nullable=True),
    sa.Column('material_name', sa.String(length=60), server_default='', nullable=False),
    sa.Column('material_colour', sa.String(length=60), server_default='', nullable=False),
    sa.Column('material_price_ore', sa.Integer(), nullable=True),
    sa.Column('material_cost_ore', sa.Integer(), nullable=True),
    sa.Column('material_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('material_recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ended_at IS NULL OR outcome IS NOT NULL', name=op.f('ck_booking_jobs_outcome')),
    sa.CheckConstraint('material_amount IS NULL OR material_amount >= 0', name=op.f('ck_booking_jobs_material_amount')),
    sa.CheckConstraint('material_cost_ore IS NULL OR material_cost_ore >= 0', name=op.f('ck_booking_jobs_material_cost')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_jobs_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_booking_jobs_started_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_booking_jobs_ended_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['material_recorded_by_id'], ['users.id'], name=op.f('fk_booking_jobs_material_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('booking_id', name=op.f('pk_booking_jobs'))
    )
    op.create_table('material_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('3d-printer', 'laser-cutter', 'vr-kit', 'vinyl-cutter', 'sewing-machine', 'podcast-studio', 'digitisation-station', 'other', name='equipment_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('price_ore', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_ore >= 0 AND price_ore <= 1000000', name=op.f('ck_material_prices_price_ore')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_material_prices_branch_id_branches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material_prices')),
    sa.UniqueConstraint('branch_id', 'kind', name=op.f('uq_material_prices_branch_id')),
    sqlite_autoincrement=True
    )
    # The night limit counts a branch's unattended jobs by start.
    op.create_index('ix_bookings_unattended_start', 'bookings', ['start_at'],
                    postgresql_where=sa.text('unattended'), sqlite_where=sa.text('unattended'))


def downgrade():
    op.drop_index('ix_bookings_unattended_start', table_name='bookings')
    op.drop_table('material_prices')
    op.drop_table('booking_jobs')
    for table, column in (('bookings', 'rerun_of_id'), ('bookings', 'estimated_minutes'),
                          ('bookings', 'unattended'),
                          ('branches', 'unattended_pickup_minutes'),
                          ('branches', 'unattended_before_closed_day'),
                          ('branches', 'unattended_per_night'),
                          ('equipment', 'unattended_max_minutes')):
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
