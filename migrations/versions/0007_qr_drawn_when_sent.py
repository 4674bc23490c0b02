"""performance: a QR code in the outbox is kept as its payload and drawn when sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:10:00

Messages queued before keep their drawn PNG in `content`; new ones leave it empty and set
`qr_payload`.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_attachments') as batch_op:
        batch_op.add_column(sa.Column('qr_payload', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_attachments') as batch_op:
        batch_op.drop_column('qr_payload')
