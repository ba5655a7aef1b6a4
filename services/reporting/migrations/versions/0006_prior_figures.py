"""reporting: prior_figures, the imported figures of the years before the platform; and
year_definitions, the primary group each year's figures were first counted with

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from kernel.tables import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prior_figures",
        sa.Column("period", sa.String(9), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("imported_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "year_definitions",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("primary_org_types", sa.Text, nullable=True),
        sa.Column("fixed_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("year_definitions")
    op.drop_table("prior_figures")
