"""notifications: activity_schedule keeps which event its times come from (events come in any order)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from kernel.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: a row stored before has no stamp and counts as older than any event
    with op.batch_alter_table("activity_schedule") as batch:
        batch.add_column(sa.Column("times_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("times_event_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("move_unknown", sa.Boolean, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activity_schedule") as batch:
        batch.drop_column("move_unknown")
        batch.drop_column("times_event_id")
        batch.drop_column("times_at")
