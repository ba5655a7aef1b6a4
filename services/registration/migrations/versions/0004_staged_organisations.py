"""registration: organisations named on the public form wait for staff to confirm them

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
    # every organisation so far was entered by staff: confirmed
    op.add_column("organisations", sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    op.execute("ALTER TABLE organisations DROP COLUMN confirmed")
