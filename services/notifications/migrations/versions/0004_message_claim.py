"""notifications: a message being sent carries the token of the claim that took it

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: only a message being sent has a claim
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("claim", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("claim")
