"""registration: kernel tables, organisations, activities, persons, registrations

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from kernel.migrate import create_kernel_tables, drop_kernel_tables
from kernel.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables(op.get_bind())
    op.create_table(
        "organisations",
        sa.Column("organisation_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("org_type", sa.String(40), nullable=False),
        sa.Column("recognised", sa.Boolean, nullable=False),
        sa.Column("target_group", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_organisations_name", "organisations", ["name"])
    op.create_table(
        "activities",
        sa.Column("activity_id", sa.String(36), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("theme", sa.String(80), nullable=False),
        sa.Column("goal", sa.String(40), nullable=True),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("starts_at", UtcDateTime, nullable=False),
        sa.Column("ends_at", UtcDateTime, nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("dagdelen", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("location", sa.String(300), nullable=True),
        sa.Column("online_link", sa.String(500), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("price_eur", sa.Numeric(10, 2), nullable=False),
        sa.Column("reduced_price_eur", sa.Numeric(10, 2), nullable=True),
        sa.Column("registration_opens_at", UtcDateTime, nullable=True),
        sa.Column("registration_closes_at", UtcDateTime, nullable=True),
        sa.Column("invitation_only", sa.Boolean, nullable=False),
        sa.Column("invitation_code", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cancel_reason", sa.String(200), nullable=True),
        sa.Column("cancelled_at", UtcDateTime, nullable=True),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("next_waitlist_seq", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_activities_starts_at", "activities", ["starts_at"])
    op.create_table(
        "persons",
        sa.Column("person_id", sa.String(36), primary_key=True),
        sa.Column("identity_key", sa.String(400), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "registrations",
        sa.Column("registration_id", sa.String(36), primary_key=True),
        sa.Column("activity_id", sa.String(36), sa.ForeignKey("activities.activity_id"), nullable=False),
        sa.Column("person_id", sa.String(36), sa.ForeignKey("persons.person_id"), nullable=False),
        sa.Column(
            "organisation_id", sa.String(36), sa.ForeignKey("organisations.organisation_id"), nullable=True
        ),
        sa.Column("org_type", sa.String(40), nullable=False),
        sa.Column("recognised", sa.Boolean, nullable=False),
        sa.Column("target_group", sa.String(20), nullable=False),
        sa.Column("role", sa.String(40), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("needs", sa.JSON, nullable=False),
        sa.Column("begeleider_name", sa.String(200), nullable=True),
        sa.Column("begeleider_email", sa.String(254), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("waitlist_seq", sa.Integer, nullable=True),
        sa.Column("cancel_token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("cancelled_by", sa.String(20), nullable=True),
        sa.Column("cancelled_at", UtcDateTime, nullable=True),
        sa.Column("days_attended", sa.Integer, nullable=True),
        sa.Column("attendance_recorded_at", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_registrations_activity_status", "registrations", ["activity_id", "status"])
    op.create_index("ix_registrations_person", "registrations", ["person_id"])
    op.create_index(
        "uq_registrations_active_person",
        "registrations",
        ["activity_id", "person_id"],
        unique=True,
        sqlite_where=sa.text("status != 'cancelled'"),
        postgresql_where=sa.text("status != 'cancelled'"),
    )


def downgrade() -> None:
    op.drop_table("registrations")
    op.drop_table("persons")
    op.drop_table("activities")
    op.drop_table("organisations")
    drop_kernel_tables(op.get_bind())
