"""reporting: facts, unit contributions, KPI counters and set members, threshold state

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
        "org_facts",
        sa.Column("organisation_id", sa.String(64), primary_key=True),
        sa.Column("org_type", sa.String(40), nullable=True),
        sa.Column("recognised", sa.Boolean, nullable=True),
        sa.Column("target_group", sa.String(20), nullable=True),
        sa.Column("at", UtcDateTime, nullable=True),
        sa.Column("event_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "activity_facts",
        sa.Column("activity_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=True),
        sa.Column("theme", sa.String(80), nullable=True),
        sa.Column("goal", sa.String(40), nullable=True),
        sa.Column("format", sa.String(20), nullable=True),
        sa.Column("starts_at", UtcDateTime, nullable=True),
        sa.Column("ends_at", UtcDateTime, nullable=True),
        sa.Column("days", sa.Integer, nullable=True),
        sa.Column("dagdelen", sa.Integer, nullable=True),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("fields_at", UtcDateTime, nullable=True),
        sa.Column("fields_event_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_at", UtcDateTime, nullable=True),
        sa.Column("status_event_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "registration_facts",
        sa.Column("registration_id", sa.String(64), primary_key=True),
        sa.Column("activity_id", sa.String(64), nullable=False),
        sa.Column("created", sa.Boolean, nullable=False),
        sa.Column("created_status", sa.String(20), nullable=True),
        sa.Column("confirmed_seen", sa.Boolean, nullable=False),
        sa.Column("cancelled_seen", sa.Boolean, nullable=False),
    )
    op.create_table(
        "attendance_facts",
        sa.Column("registration_id", sa.String(64), primary_key=True),
        sa.Column("activity_id", sa.String(64), nullable=False),
        sa.Column("person_key", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=True),
        sa.Column("org_type", sa.String(40), nullable=False),
        sa.Column("recognised", sa.Boolean, nullable=False),
        sa.Column("target_group", sa.String(20), nullable=False),
        sa.Column("days_attended", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "evaluation_facts",
        sa.Column("evaluation_id", sa.String(64), primary_key=True),
        sa.Column("activity_id", sa.String(64), nullable=False),
        sa.Column("registration_id", sa.String(64), nullable=True),
        sa.Column("requested", sa.Boolean, nullable=False),
        sa.Column("submitted", sa.Boolean, nullable=False),
        sa.Column("satisfaction", sa.Integer, nullable=True),
        sa.Column("recommend", sa.Integer, nullable=True),
        sa.Column("at", UtcDateTime, nullable=True),
        sa.Column("event_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "request_facts",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("received", sa.Boolean, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=True),
        sa.Column("received_event_id", sa.String(36), nullable=True),
        sa.Column("organisation_id", sa.String(64), nullable=True),
        sa.Column("org_type", sa.String(40), nullable=True),
        sa.Column("recognised", sa.Boolean, nullable=True),
        sa.Column("target_group", sa.String(20), nullable=True),
        sa.Column("decision", sa.String(20), nullable=True),
        sa.Column("referred", sa.Boolean, nullable=False),
        sa.Column("decision_at", UtcDateTime, nullable=True),
        sa.Column("decision_event_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "delivery_facts",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("delivered_at", UtcDateTime, nullable=False),
        sa.Column("dagdelen", sa.Integer, nullable=False),
        sa.Column("participants", sa.Integer, nullable=False),
        sa.Column("participations", sa.Integer, nullable=False),
    )
    op.create_table(
        "unit_contributions",
        sa.Column("unit", sa.String(80), primary_key=True),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "kpi_counters",
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("metric", sa.String(80), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    op.create_table(
        "kpi_members",
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("set_name", sa.String(80), primary_key=True),
        sa.Column("member", sa.String(64), primary_key=True),
        sa.Column("refcount", sa.Integer, nullable=False),
    )
    op.create_table(
        "threshold_state",
        sa.Column("kpi", sa.String(80), primary_key=True),
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("breached", sa.Boolean, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_registration_facts_activity", "registration_facts", ["activity_id"])
    op.create_index("ix_attendance_facts_activity", "attendance_facts", ["activity_id"])
    op.create_index("ix_evaluation_facts_activity", "evaluation_facts", ["activity_id"])
    op.create_index("ix_delivery_facts_request", "delivery_facts", ["request_id"])


def downgrade() -> None:
    op.drop_table("threshold_state")
    op.drop_table("kpi_members")
    op.drop_table("kpi_counters")
    op.drop_table("unit_contributions")
    op.drop_table("delivery_facts")
    op.drop_table("request_facts")
    op.drop_table("evaluation_facts")
    op.drop_table("attendance_facts")
    op.drop_table("registration_facts")
    op.drop_table("activity_facts")
    op.drop_table("org_facts")
