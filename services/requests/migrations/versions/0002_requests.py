"""requests: staff members, requests, their notes and deliveries

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
        "staff_members",
        sa.Column("staff_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
        sa.Column("contact_phone", sa.String(40), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=True),
        sa.Column("organisation_name", sa.String(200), nullable=True),
        sa.Column("org_type", sa.String(40), nullable=False),
        sa.Column("recognised", sa.Boolean, nullable=False),
        sa.Column("target_group", sa.String(20), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("theme", sa.String(80), nullable=False),
        sa.Column("goal", sa.String(40), nullable=True),
        sa.Column("preferred_timing", sa.String(500), nullable=True),
        sa.Column("assignee", sa.String(36), sa.ForeignKey("staff_members.staff_id"), nullable=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("answer_due_at", UtcDateTime, nullable=False),
        sa.Column("answered_at", UtcDateTime, nullable=True),
        sa.Column("overdue_marked_at", UtcDateTime, nullable=True),
        sa.Column("decline_reason", sa.String(40), nullable=True),
        sa.Column("referred_to", sa.String(200), nullable=True),
        sa.Column("decided_at", UtcDateTime, nullable=True),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_requests_status_received", "requests", ["status", "received_at"])
    op.create_index("ix_requests_assignee_status", "requests", ["assignee", "status"])
    op.create_index("ix_requests_answer_due", "requests", ["answered_at", "answer_due_at"])
    op.create_table(
        "request_notes",
        sa.Column("note_id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(36), sa.ForeignKey("requests.request_id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(36), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_request_notes_request", "request_notes", ["request_id"])
    op.create_table(
        "request_deliveries",
        sa.Column("delivery_id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(36), sa.ForeignKey("requests.request_id"), nullable=False),
        sa.Column("delivered_on", sa.Date, nullable=False),
        sa.Column("form", sa.String(40), nullable=False),
        sa.Column("dagdelen", sa.Integer, nullable=False),
        sa.Column("participants", sa.Integer, nullable=False),
        sa.Column("participations", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_request_deliveries_request", "request_deliveries", ["request_id"])


def downgrade() -> None:
    op.drop_table("request_deliveries")
    op.drop_table("request_notes")
    op.drop_table("requests")
    op.drop_table("staff_members")
