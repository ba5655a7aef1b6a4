"""registration: a minimum number of participants, the activity repeated (herneming) and postponement
(verdaagd) on the activity row

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

COLUMNS = (
    ("min_participants", sa.Integer()),
    ("repeat_of", sa.String(36)),
    ("postponed_at", UtcDateTime()),
    ("postponed_from", UtcDateTime()),
    ("postpone_reason", sa.String(200)),
)


def upgrade() -> None:
    # plain ALTER TABLE on both databases (a batch copy of the table would trip SQLite's foreign keys)
    for name, kind in COLUMNS:
        op.add_column("activities", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.execute(f"ALTER TABLE activities DROP COLUMN {name}")
