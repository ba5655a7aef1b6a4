"""reporting: the facts the 1.1 breakdowns need (attendance role, request goal) and longer
metric names (a breakdown by theme carries the theme in its metric)

Aggregates written before this have no breakdowns: a rebuild
(`python -m services.reporting.rebuild`) fills them from the producers' event logs.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attendance_facts") as batch:
        batch.add_column(sa.Column("role", sa.String(40), nullable=True))
    with op.batch_alter_table("request_facts") as batch:
        batch.add_column(sa.Column("goal", sa.String(40), nullable=True))
    with op.batch_alter_table("kpi_counters") as batch:
        batch.alter_column("metric", type_=sa.String(160), existing_type=sa.String(80), existing_nullable=False)


def downgrade() -> None:
    op.execute("DELETE FROM kpi_counters WHERE length(metric) > 80")
    with op.batch_alter_table("kpi_counters") as batch:
        batch.alter_column("metric", type_=sa.String(80), existing_type=sa.String(160), existing_nullable=False)
    with op.batch_alter_table("request_facts") as batch:
        batch.drop_column("goal")
    with op.batch_alter_table("attendance_facts") as batch:
        batch.drop_column("role")
