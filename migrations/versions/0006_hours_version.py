"""performance: branches.hours_version, the key of the opening hours kept in memory

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:55:00

Every change to a branch's weekly hours or date exceptions gives the branch a new random
hours_version; processes keep the computed opening hours under (branch, hours_version).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('branches') as batch_op:
        batch_op.add_column(sa.Column('hours_version', sa.String(length=16), nullable=False,
                                      server_default='0'))


def downgrade():
    with op.batch_alter_table('branches') as batch_op:
        batch_op.drop_column('hours_version')
