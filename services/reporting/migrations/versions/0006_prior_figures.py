"""reporting: prior_figures, the imported figures of the years before the platform

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


def downgrade() -> None:
    op.drop_table("prior_figures")
