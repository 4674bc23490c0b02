"""citizen find: a branch's address, map link, contact and staffed hours; a home library

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:30:00

Branches get public contact details and `staffed_when_open` (true: staff whenever open);
`staffed_hours` holds the weekly staffed intervals of branches where it is false. Users get
`home_branch_id` (set to NULL when the branch goes).
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite may rebuild `branches` for the new columns: keep its AUTOINCREMENT.
    with op.batch_alter_table('branches', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('map_url', sa.String(length=500), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=40), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('staffed_when_open', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    op.create_table(
        'staffed_hours',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('opens_minute', sa.Integer(), nullable=False),
        sa.Column('closes_minute', sa.Integer(), nullable=False),
        sa.CheckConstraint('opens_minute >= 0 AND opens_minute < closes_minute AND '
                           'closes_minute <= 1440', name=op.f('ck_staffed_hours_interval')),
        sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_staffed_hours_weekday')),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'],
                                name=op.f('fk_staffed_hours_branch_id_branches'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staffed_hours')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('staffed_hours') as batch_op:
        batch_op.create_index(batch_op.f('ix_staffed_hours_branch_id'), ['branch_id'],
                              unique=False)
    # SQLite rebuilds `users` for the foreign key: keep its AUTOINCREMENT.
    with op.batch_alter_table('users', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('home_branch_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_home_branch_id_branches'), 'branches',
                                    ['home_branch_id'], ['id'], ondelete='SET NULL')


def downgrade():
    # SQLite rebuilds `users` for the foreign key: keep its AUTOINCREMENT.
    with op.batch_alter_table('users', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_home_branch_id_branches'),
                                 type_='foreignkey')
        batch_op.drop_column('home_branch_id')
    with op.batch_alter_table('staffed_hours') as batch_op:
        batch_op.drop_index(batch_op.f('ix_staffed_hours_branch_id'))
    op.drop_table('staffed_hours')
    with op.batch_alter_table('branches', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('staffed_when_open')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('map_url')
        batch_op.drop_column('address')
