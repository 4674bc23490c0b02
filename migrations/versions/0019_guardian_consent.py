"""guardian consent: a machine's age below which a guardian must agree, and the consents

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 14:30:00
"""
from alembic import op
import sqlalchemy as sa



revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

LIVE = "status IN ('pending', 'given')"


CHECK = "guardian_consent_under IS NULL OR guardian_consent_under BETWEEN 1 AND 100"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.add_column('equipment', sa.Column('guardian_consent_under', sa.Integer(),
                                             nullable=True))
        op.create_check_constraint(op.f('ck_equipment_guardian_consent_under'), 'equipment',
                                   CHECK)
    else:
        # In place, not a batch rebuild: rebuilding `equipment` would lose its AUTOINCREMENT
        # and, through ON DELETE CASCADE, could take the machines' bookings with it (0017).
        op.execute("ALTER TABLE equipment ADD COLUMN guardian_consent_under INTEGER "
                   f"CONSTRAINT ck_equipment_guardian_consent_under CHECK ({CHECK})")
    op.create_table('guardian_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('guardian_email', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('pending', 'given', 'withdrawn', 'expired', name='guardian_consent_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('expires_at > requested_at', name=op.f('ck_guardian_consents_expiry')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_guardian_consents_equipment_id_equipment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_guardian_consents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardian_consents')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardian_consents_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_guardian_consents_live', ['user_id', 'equipment_id'], unique=True, postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))


def downgrade():
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.drop_index('uq_guardian_consents_live', postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
        batch_op.drop_index(batch_op.f('ix_guardian_consents_user_id'))
    op.drop_table('guardian_consents')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f('ck_equipment_guardian_consent_under'), 'equipment',
                           type_='check')
    # SQLite 3.35+ drops a column with a column CHECK only if the check names it alone.
    op.drop_column('equipment', 'guardian_consent_under')
