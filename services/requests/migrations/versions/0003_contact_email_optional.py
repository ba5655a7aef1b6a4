"""requests: a request taken by phone may have no email address

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
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("contact_email", existing_type=sa.String(254), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE requests SET contact_email = '' WHERE contact_email IS NULL")
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("contact_email", existing_type=sa.String(254), nullable=False)
