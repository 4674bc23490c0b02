"""performance: a booking's confirmation is written when it is sent (`booking_id`; bodies NULL
until then)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 23:40:00

Messages queued before keep their bodies; new booking confirmations name their booking and
are written by the sender.
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages',
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('booking_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_booking_id'), ['booking_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_booking_id_bookings'),
                                    'bookings', ['booking_id'], ['id'], ondelete='SET NULL')
        batch_op.alter_column('text_body', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('html_body', existing_type=sa.Text(), nullable=True)


def downgrade():
    # The older code cannot write a message, and would send one without text empty: refuse
    # while any is waiting, rather than lose it.
    waiting = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM outbox_messages WHERE text_body IS NULL AND status = 'pending'"
    )).scalar()
    if waiting:
        raise RuntimeError(f"{waiting} booking confirmation(s) in the outbox are not written "
                           "yet: send them first (flask send-mail), then downgrade.")
    op.execute("UPDATE outbox_messages SET text_body = '', html_body = '' "
               "WHERE text_body IS NULL")
    with op.batch_alter_table('outbox_messages',
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.alter_column('html_body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('text_body', existing_type=sa.Text(), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_booking_id_bookings'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_booking_id'))
        batch_op.drop_column('booking_id')
