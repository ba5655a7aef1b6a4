"""registration: seat counters on the activity row, counted from the existing registrations

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COUNTERS = {"confirmed_count": "confirmed", "waitlisted_count": "waitlisted"}


def upgrade() -> None:
    # plain ALTER TABLE on both databases (a batch copy of the table would trip SQLite's foreign keys)
    for column in COUNTERS:
        op.add_column("activities", sa.Column(column, sa.Integer, nullable=False, server_default=sa.text("0")))
    for column, status in COUNTERS.items():
        op.execute(
            f"UPDATE activities SET {column} = (SELECT count(*) FROM registrations "
            f"WHERE registrations.activity_id = activities.activity_id AND registrations.status = '{status}')"
        )
    # the next waitlist number follows the highest one handed out so far
    op.execute(
        "UPDATE activities SET next_waitlist_seq = 1 + (SELECT coalesce(max(waitlist_seq), 0) FROM registrations "
        "WHERE registrations.activity_id = activities.activity_id) "
        "WHERE next_waitlist_seq <= (SELECT coalesce(max(waitlist_seq), 0) FROM registrations "
        "WHERE registrations.activity_id = activities.activity_id)"
    )


def downgrade() -> None:
    for column in COUNTERS:
        op.execute(f"ALTER TABLE activities DROP COLUMN {column}")
