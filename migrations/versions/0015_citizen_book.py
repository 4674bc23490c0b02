"""citizen book: a course's category, and its description in nynorsk and English

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 08:00:00

`description` stays the bokmål text (and the fallback); `description_nn` and `description_en`
are empty until written. `category` is one of makerspace.events.models.EventCategory, or none.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

CATEGORIES = ("3d-printing", "laser", "sewing", "vr", "digital-skills", "podcast",
              "digitisation", "open-workshop", "other")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _batch(table: str):
    """Alter a table; on SQLite rebuild it, keeping AUTOINCREMENT (ids are never reused)."""
    if _sqlite():
        return op.batch_alter_table(table, recreate="always",
                                    table_kwargs={"sqlite_autoincrement": True})
    return op.batch_alter_table(table)


def upgrade():
    listed = ", ".join(f"'{c}'" for c in CATEGORIES)
    with _batch('events') as batch_op:
        batch_op.add_column(sa.Column('description_nn', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('description_en', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('category', sa.String(length=30), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f('ck_events_category'), f"category IS NULL OR category IN ({listed})")


def downgrade():
    with _batch('events') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_events_category'), type_='check')
        batch_op.drop_column('category')
        batch_op.drop_column('description_en')
        batch_op.drop_column('description_nn')
