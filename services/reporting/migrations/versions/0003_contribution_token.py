"""reporting: unit_contributions.token, the write that last stored a unit (for the unit cache)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unit_contributions") as batch:
        batch.add_column(sa.Column("token", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unit_contributions") as batch:
        batch.drop_column("token")
