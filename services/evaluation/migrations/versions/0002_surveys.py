"""evaluation: activity facts, attendance, erased persons and the surveys

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
        "evaluation_activities",
        sa.Column("activity_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(40), nullable=True),
        sa.Column("starts_at", UtcDateTime, nullable=True),
        sa.Column("ends_at", UtcDateTime, nullable=True),
        sa.Column("schedule_at", UtcDateTime, nullable=True),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("cancelled_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_evaluation_activities_status_ends", "evaluation_activities", ["status", "ends_at"])
    op.create_table(
        "evaluation_attendance",
        sa.Column("registration_id", sa.String(64), primary_key=True),
        sa.Column("activity_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("erased_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_evaluation_attendance_activity", "evaluation_attendance", ["activity_id"])
    op.create_index("ix_evaluation_attendance_person", "evaluation_attendance", ["person_id"])
    op.create_table(
        "evaluation_erased_persons",
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("erased_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "evaluations",
        sa.Column("evaluation_id", sa.String(36), primary_key=True),
        sa.Column("registration_id", sa.String(64), nullable=False),
        sa.Column("activity_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("stage", sa.String(10), nullable=False),
        sa.Column("requested_at", UtcDateTime, nullable=False),
        sa.Column("closes_at", UtcDateTime, nullable=False),
        sa.Column("reminder_sent_at", UtcDateTime, nullable=True),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("submitted_at", UtcDateTime, nullable=True),
        sa.Column("satisfaction", sa.Integer, nullable=True),
        sa.Column("recommend", sa.Integer, nullable=True),
        sa.Column("most_useful", sa.Text, nullable=True),
        sa.Column("could_be_better", sa.Text, nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("anonymised_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("registration_id", "stage", name="uq_evaluations_registration_stage"),
    )
    op.create_index("ix_evaluations_activity_stage", "evaluations", ["activity_id", "stage"])
    op.create_index("ix_evaluations_person", "evaluations", ["person_id"])
    op.create_index("ix_evaluations_pending", "evaluations", ["submitted_at", "closed_at", "closes_at"])


def downgrade() -> None:
    op.drop_table("evaluations")
    op.drop_table("evaluation_erased_persons")
    op.drop_table("evaluation_attendance")
    op.drop_table("evaluation_activities")
