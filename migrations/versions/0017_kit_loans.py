"""kit loans: equipment of kind "kit" with a quantity and a longest loan, and the loans table

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 13:30:00

The kind column's CHECK constraint gets the new value "kit". On PostgreSQL the constraint is
dropped and made again. On SQLite a constraint cannot be altered, and rebuilding the equipment
table (a batch migration) would drop it, which with foreign keys on deletes every booking of
it; instead the table's stored definition gets the one new value, as SQLite documents for
changes that leave the stored rows valid (https://sqlite.org/lang_altertable.html, "making
other kinds of table schema changes": relaxing a CHECK constraint is one).
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

OLD_KINDS = ("'3d-printer', 'laser-cutter', 'vr-kit', 'vinyl-cutter', 'sewing-machine', "
             "'podcast-studio', 'digitisation-station', 'other'")
NEW_KINDS = OLD_KINDS + ", 'kit'"


def _set_kinds(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_equipment_equipment_kind"), "equipment", type_="check")
        op.create_check_constraint(op.f("ck_equipment_equipment_kind"), "equipment",
                                   f"kind IN ({new})")
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) "
        "WHERE type = 'table' AND name = 'equipment'",
        (f"CHECK (kind IN ({old}))", f"CHECK (kind IN ({new}))"))
    stored = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'equipment'").scalar()
    if f"CHECK (kind IN ({new}))" not in stored:
        raise RuntimeError("the equipment table's kind constraint is not the one expected")
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _add_rule_column(name: str, default: int, check: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column('equipment', sa.Column(name, sa.Integer(), server_default=str(default),
                                             nullable=False))
        op.create_check_constraint(op.f(f"ck_equipment_{name}"), "equipment", check)
    else:
        # Plain ALTER TABLE ADD COLUMN with its named CHECK, not a batch rebuild (see above).
        op.execute(f"ALTER TABLE equipment ADD COLUMN {name} INTEGER DEFAULT {default} "
                   f"NOT NULL CONSTRAINT ck_equipment_{name} CHECK ({check})")


def upgrade():
    _set_kinds(OLD_KINDS, NEW_KINDS)
    _add_rule_column("quantity", 1, "quantity BETWEEN 1 AND 100")
    _add_rule_column("max_loan_days", 7, "max_loan_days BETWEEN 1 AND 60")
    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('pickup_date', sa.Date(), nullable=False),
    sa.Column('return_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('reserved', 'picked_up', 'returned', 'cancelled', 'not_picked_up', name='loan_status', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('checkin_token', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('picked_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('picked_up_by_id', sa.Integer(), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_by_id', sa.Integer(), nullable=True),
    sa.Column('condition', sa.Enum('complete', 'damaged', 'parts_missing', name='return_condition', native_enum=False, create_constraint=True, length=30), nullable=True),
    sa.Column('return_note', sa.String(length=1000), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_noticed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('return_date > pickup_date', name=op.f('ck_loans_period')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_loans_equipment_id_equipment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['picked_up_by_id'], ['users.id'], name=op.f('fk_loans_picked_up_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['returned_by_id'], ['users.id'], name=op.f('fk_loans_returned_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_loans_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans')),
    sa.UniqueConstraint('checkin_token', name=op.f('uq_loans_checkin_token')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_loans_equipment_return', 'loans', ['equipment_id', 'return_date'], unique=False)
    op.create_index('ix_loans_status_return', 'loans', ['status', 'return_date'], unique=False)
    op.create_index('ix_loans_user_status', 'loans', ['user_id', 'status'], unique=False)


def downgrade():
    op.drop_index('ix_loans_user_status', table_name='loans')
    op.drop_index('ix_loans_status_return', table_name='loans')
    op.drop_index('ix_loans_equipment_return', table_name='loans')
    op.drop_table('loans')
    op.execute("DELETE FROM equipment WHERE kind = 'kit'")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_equipment_max_loan_days"), "equipment", type_="check")
        op.drop_constraint(op.f("ck_equipment_quantity"), "equipment", type_="check")
    # SQLite 3.35+ drops a column with a column CHECK only if the check names it alone.
    op.drop_column('equipment', 'max_loan_days')
    op.drop_column('equipment', 'quantity')
    _set_kinds(NEW_KINDS, OLD_KINDS)
