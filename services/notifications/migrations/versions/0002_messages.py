"""notifications: message log, captured mail, activity schedule, alert state

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from kernel.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("notification_id", sa.String(36), primary_key=True),
        sa.Column("dedup_key", sa.String(64), nullable=False, unique=True),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("cause_event_id", sa.String(100), nullable=True),
        sa.Column("cause_event_type", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("subject", sa.String(300), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_messages_person", "messages", ["person_id"])
    op.create_index("ix_messages_cause", "messages", ["cause_event_id"])
    op.create_index("ix_messages_created", "messages", ["created_at"])
    op.create_table(
        "captured_mail",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.String(36), nullable=True),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("captured_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_captured_mail_person", "captured_mail", ["person_id"])
    op.create_table(
        "activity_schedule",
        sa.Column("activity_id", sa.String(64), primary_key=True),
        sa.Column("starts_at", UtcDateTime, nullable=False),
        sa.Column("ends_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reminded_for", UtcDateTime, nullable=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_activity_schedule_starts_at", "activity_schedule", ["starts_at"])
    op.create_table(
        "alert_state",
        sa.Column("kpi", sa.String(100), primary_key=True),
        sa.Column("scope", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("last_sent_at", UtcDateTime, nullable=False),
        sa.Column("suppressed", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_state")
    op.drop_table("activity_schedule")
    op.drop_table("captured_mail")
    op.drop_table("messages")
