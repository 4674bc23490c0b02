"""statistics: the jobs and material of each machine's day and month in the rollup

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 19:05:00

`stats_days` and `stats_months` also keep the material recorded (in thousandths of the unit)
and the jobs ended and failed, so a year's jobs table adds up rows instead of joining a year
of bookings to their jobs. The daily rollup is emptied here, since its rows have no jobs
yet: the next ticks roll it up again (62 days a tick), and until then pages count those days
from the bookings. The kept distinct citizens stay.
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

TABLES = ('stats_days', 'stats_months')
COLUMNS = (('grams_milli', sa.BigInteger), ('metres_milli', sa.BigInteger),
           ('sheets_milli', sa.BigInteger), ('jobs_ended', sa.Integer),
           ('jobs_failed', sa.Integer))


def upgrade():
    for table in ('stats_coverage', 'stats_days', 'stats_months', 'stats_hours',
                  'stats_week_hours'):
        op.execute(sa.table(table).delete())
    for table in TABLES:
        for name, kind in COLUMNS:
            op.add_column(table, sa.Column(name, kind(), server_default='0', nullable=False))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            for name, _kind in COLUMNS:
                batch_op.drop_column(name)
