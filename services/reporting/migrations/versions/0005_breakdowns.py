"""reporting: the facts the 1.1 document needs (attendance role, request goal, every version
of an organisation for the register at the end of each year) and longer metric names (a
breakdown by theme carries the theme in its metric)

Aggregates written before this have no breakdowns and no yearly register: a rebuild
(`python -m services.reporting.rebuild`) fills them from the producers' event logs.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from kernel.tables import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_version_facts",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("org_type", sa.String(40), nullable=False),
        sa.Column("recognised", sa.Boolean, nullable=False),
    )
    op.create_index("ix_org_version_facts_organisation", "org_version_facts", ["organisation_id"])
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
    op.drop_index("ix_org_version_facts_organisation", table_name="org_version_facts")
    op.drop_table("org_version_facts")
