"""librarian's desk: guest bookings, retired machines, temporary branch closures, invitations

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-02 07:30:00

Only columns are added to `bookings` (no constraint), so SQLite keeps the table and the
triggers that refuse overlapping bookings (a batch recreate would drop them).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE ADD COLUMN on both databases (no batch: see the docstring).
    op.add_column('bookings', sa.Column('guest_name', sa.String(length=200), nullable=True))
    op.add_column('bookings', sa.Column('guest_phone', sa.String(length=40), nullable=True))
    op.add_column('bookings', sa.Column('is_guest', sa.Boolean(), server_default=sa.false(),
                                        nullable=False))
    op.create_index('ix_bookings_guest_end', 'bookings', ['end_at'], unique=False,
                    postgresql_where=sa.text('guest_name IS NOT NULL'),
                    sqlite_where=sa.text('guest_name IS NOT NULL'))
    op.add_column('equipment', sa.Column('retired_at', sa.DateTime(timezone=True),
                                         nullable=True))
    op.add_column('branches', sa.Column('closure_notice', sa.String(length=500),
                                        server_default='', nullable=False))
    op.add_column('branches', sa.Column('closed_from', sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column('branches', sa.Column('closed_until', sa.DateTime(timezone=True),
                                        nullable=True))
    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.Enum('librarian', 'admin', name='staff_role', native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'],
                                name=op.f('fk_invitations_invited_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_invitations_email'), 'invitations', ['email'], unique=False)
    op.create_table(
        'invitation_branches',
        sa.Column('invitation_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'],
                                name=op.f('fk_invitation_branches_branch_id_branches'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'],
                                name=op.f('fk_invitation_branches_invitation_id_invitations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('invitation_id', 'branch_id',
                                name=op.f('pk_invitation_branches')),
    )


def downgrade():
    op.drop_table('invitation_branches')
    op.drop_index(op.f('ix_invitations_email'), table_name='invitations')
    op.drop_table('invitations')
    _drop_columns('branches', 'closed_until', 'closed_from', 'closure_notice')
    _drop_columns('equipment', 'retired_at')
    op.drop_index('ix_bookings_guest_end', table_name='bookings',
                  postgresql_where=sa.text('guest_name IS NOT NULL'),
                  sqlite_where=sa.text('guest_name IS NOT NULL'))
    _drop_columns('bookings', 'is_guest', 'guest_phone', 'guest_name')


def _drop_columns(table, *columns):
    for column in columns:
        if op.get_bind().dialect.name == 'sqlite':
            # In place (SQLite 3.35+): a batch recreate would drop the overlap triggers.
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            op.drop_column(table, column)
