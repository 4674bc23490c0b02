"""guardian consent for courses, and a consent for a machine, a course or a weekly series

A course gets the age below which a guardian must agree.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 19:10:00

On SQLite every change is made in place: the new columns by ALTER TABLE ADD COLUMN, and
guardian_consents' equipment_id loses its NOT NULL and the table gets its "one target" CHECK
by editing the stored definition, as 0017 does (https://sqlite.org/lang_altertable.html,
"making other kinds of table schema changes": dropping a NOT NULL is safe, and every stored
row, all for a machine, satisfies the new CHECK, which the migration verifies first). Neither
`events` nor `equipment` is rebuilt.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

LIVE = "status IN ('pending', 'given')"
EVENT_CHECK = "guardian_consent_under IS NULL OR guardian_consent_under BETWEEN 1 AND 100"
TARGET = " + ".join(f"CASE WHEN {c} IS NULL THEN 0 ELSE 1 END"
                    for c in ("equipment_id", "event_id", "series_id")) + " = 1"
EXPIRY = "CONSTRAINT ck_guardian_consents_expiry CHECK (expires_at > requested_at)"
WITH_TARGET = f"{EXPIRY}, \n\tCONSTRAINT ck_guardian_consents_target CHECK ({TARGET})"
MACHINE_FK = ("CONSTRAINT fk_guardian_consents_equipment_id_equipment FOREIGN KEY(equipment_id) "
              "REFERENCES equipment (id) ON DELETE CASCADE, ")
COURSE_FKS = ("CONSTRAINT fk_guardian_consents_event_id_events FOREIGN KEY(event_id) "
              "REFERENCES events (id) ON DELETE CASCADE, \n\t"
              "CONSTRAINT fk_guardian_consents_series_id_event_series FOREIGN KEY(series_id) "
              "REFERENCES event_series (id) ON DELETE CASCADE, \n\t")
MACHINE_NOT_NULL = "equipment_id INTEGER NOT NULL"
MACHINE_NULL = "equipment_id INTEGER"


def _edit_stored_sqlite(replacements: list[tuple[str, str]]) -> None:
    bind = op.get_bind()
    stored = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'guardian_consents'"
    ).scalar()
    edited = stored
    for old, new in replacements:
        if edited.count(old) != 1:
            raise RuntimeError("guardian_consents is not defined as this migration expects")
        edited = edited.replace(old, new)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? "
                         "WHERE type = 'table' AND name = 'guardian_consents'", (edited,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.add_column('events', sa.Column('guardian_consent_under', sa.Integer(),
                                          nullable=True))
        op.create_check_constraint(op.f('ck_events_guardian_consent_under'), 'events',
                                   EVENT_CHECK)
        op.add_column('guardian_consents', sa.Column('event_id', sa.Integer(), nullable=True))
        op.add_column('guardian_consents', sa.Column('series_id', sa.Integer(), nullable=True))
        op.alter_column('guardian_consents', 'equipment_id', existing_type=sa.Integer(),
                        nullable=True)
        op.create_foreign_key(op.f('fk_guardian_consents_event_id_events'),
                              'guardian_consents', 'events', ['event_id'], ['id'],
                              ondelete='CASCADE')
        op.create_foreign_key(op.f('fk_guardian_consents_series_id_event_series'),
                              'guardian_consents', 'event_series', ['series_id'], ['id'],
                              ondelete='CASCADE')
        op.create_check_constraint(op.f('ck_guardian_consents_target'), 'guardian_consents',
                                   TARGET)
    else:
        op.execute("ALTER TABLE events ADD COLUMN guardian_consent_under INTEGER "
                   f"CONSTRAINT ck_events_guardian_consent_under CHECK ({EVENT_CHECK})")
        # Plain columns (all NULL), then their foreign keys as table constraints in the
        # stored definition, where SQLite and the model's comparison both read them.
        op.execute("ALTER TABLE guardian_consents ADD COLUMN event_id INTEGER")
        op.execute("ALTER TABLE guardian_consents ADD COLUMN series_id INTEGER")
        wrong = op.get_bind().exec_driver_sql(
            f"SELECT count(*) FROM guardian_consents WHERE NOT ({TARGET})").scalar()
        if wrong:
            raise RuntimeError("guardian_consents has rows without exactly one target")
        _edit_stored_sqlite([(MACHINE_NOT_NULL, MACHINE_NULL), (EXPIRY, WITH_TARGET),
                             (MACHINE_FK, MACHINE_FK + COURSE_FKS)])
    op.create_index('uq_guardian_consents_live_event', 'guardian_consents',
                    ['user_id', 'event_id'], unique=True,
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    op.create_index('uq_guardian_consents_live_series', 'guardian_consents',
                    ['user_id', 'series_id'], unique=True,
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))


def downgrade():
    # A course's consents have no place in the older table.
    op.execute("DELETE FROM guardian_consents WHERE equipment_id IS NULL")
    op.drop_index('uq_guardian_consents_live_series', table_name='guardian_consents')
    op.drop_index('uq_guardian_consents_live_event', table_name='guardian_consents')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f('ck_guardian_consents_target'), 'guardian_consents',
                           type_='check')
        op.drop_constraint(op.f('fk_guardian_consents_series_id_event_series'),
                           'guardian_consents', type_='foreignkey')
        op.drop_constraint(op.f('fk_guardian_consents_event_id_events'),
                           'guardian_consents', type_='foreignkey')
        op.alter_column('guardian_consents', 'equipment_id', existing_type=sa.Integer(),
                        nullable=False)
        op.drop_column('guardian_consents', 'series_id')
        op.drop_column('guardian_consents', 'event_id')
        op.drop_constraint(op.f('ck_events_guardian_consent_under'), 'events', type_='check')
    else:
        # SQLite drops no column that a foreign key names: the foreign keys go from the
        # stored definition first (safe: it only removes constraints).
        _edit_stored_sqlite([(MACHINE_NULL + ",", MACHINE_NOT_NULL + ","),
                             (WITH_TARGET, EXPIRY), (MACHINE_FK + COURSE_FKS, MACHINE_FK)])
        op.execute("ALTER TABLE guardian_consents DROP COLUMN series_id")
        op.execute("ALTER TABLE guardian_consents DROP COLUMN event_id")
    # SQLite 3.35+ drops a column with a column CHECK only if the check names it alone.
    op.drop_column('events', 'guardian_consent_under')
