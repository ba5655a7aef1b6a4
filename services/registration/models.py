"""The registration service's tables, and the imperative (classical) mapping of
the plain domain classes onto them: the domain never imports SQLAlchemy."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    text,
    true,
)
from sqlalchemy.orm import registry, relationship

from kernel.tables import UtcDateTime
from services.registration import domain

metadata = MetaData()

organisations = Table(
    "organisations",
    metadata,
    Column("organisation_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("org_type", String(40), nullable=False),
    Column("recognised", Boolean, nullable=False),
    Column("target_group", String(20), nullable=False),
    # false: named on the public form ("not listed"), waiting for staff to confirm it
    Column("confirmed", Boolean, nullable=False, server_default=true()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_organisations_name", "name"),
)

activities = Table(
    "activities",
    metadata,
    Column("activity_id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("theme", String(80), nullable=False),
    Column("goal", String(40), nullable=True),
    Column("format", String(20), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("days", Integer, nullable=False),
    Column("dagdelen", Integer, nullable=False),
    Column("capacity", Integer, nullable=True),
    Column("location", String(300), nullable=True),
    Column("online_link", String(500), nullable=True),
    Column("language", String(2), nullable=False),
    Column("price_eur", Numeric(10, 2), nullable=False),
    Column("reduced_price_eur", Numeric(10, 2), nullable=True),
    Column("registration_opens_at", UtcDateTime, nullable=True),
    Column("registration_closes_at", UtcDateTime, nullable=True),
    Column("invitation_only", Boolean, nullable=False),
    Column("invitation_code", String(64), nullable=True),
    Column("status", String(20), nullable=False),
    Column("cancel_reason", String(200), nullable=True),
    Column("cancelled_at", UtcDateTime, nullable=True),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("min_participants", Integer, nullable=True),
    Column("repeat_of", String(36), nullable=True),  # the activity this one repeats (herneming)
    Column("postponed_at", UtcDateTime, nullable=True),
    Column("postponed_from", UtcDateTime, nullable=True),  # the start first planned (verdaagd)
    Column("postpone_reason", String(200), nullable=True),
    Column("next_waitlist_seq", Integer, nullable=False),
    # seat counters kept by the domain (Activity), so registering loads no registration
    Column("confirmed_count", Integer, nullable=False, server_default=text("0")),
    Column("waitlisted_count", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_activities_starts_at", "starts_at"),
)

persons = Table(
    "persons",
    metadata,
    Column("person_id", String(36), primary_key=True),
    # normalised email, or begeleider email + normalised participant name
    Column("identity_key", String(400), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

registrations = Table(
    "registrations",
    metadata,
    Column("registration_id", String(36), primary_key=True),
    Column("activity_id", String(36), ForeignKey("activities.activity_id"), nullable=False),
    Column("person_id", String(36), ForeignKey("persons.person_id"), nullable=False),
    Column("organisation_id", String(36), ForeignKey("organisations.organisation_id"), nullable=True),
    Column("org_type", String(40), nullable=False),
    Column("recognised", Boolean, nullable=False),
    Column("target_group", String(20), nullable=False),
    Column("role", String(40), nullable=True),
    Column("language", String(2), nullable=False),
    Column("needs", JSON, nullable=False),
    Column("begeleider_name", String(200), nullable=True),
    Column("begeleider_email", String(254), nullable=True),
    Column("status", String(20), nullable=False),
    Column("waitlist_seq", Integer, nullable=True),
    Column("cancel_token_hash", String(64), nullable=False, unique=True),
    Column("cancelled_by", String(20), nullable=True),
    Column("cancelled_at", UtcDateTime, nullable=True),
    Column("days_attended", Integer, nullable=True),
    Column("attendance_recorded_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_registrations_activity_status", "activity_id", "status"),
    Index("ix_registrations_person", "person_id"),
    # the database's own guard behind the domain rule: one active registration per person per activity
    Index(
        "uq_registrations_active_person",
        "activity_id",
        "person_id",
        unique=True,
        sqlite_where=text("status != 'cancelled'"),
        postgresql_where=text("status != 'cancelled'"),
    ),
)

mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    """Map the domain classes onto the tables (once per process)."""
    if getattr(domain.Activity, "__mapper__", None) is not None:
        return
    mapper_registry.map_imperatively(domain.Organisation, organisations)
    mapper_registry.map_imperatively(domain.Person, persons)
    mapper_registry.map_imperatively(domain.Registration, registrations)
    mapper_registry.map_imperatively(
        domain.Activity,
        activities,
        properties={
            "registrations": relationship(
                domain.Registration, order_by=registrations.c.created_at, lazy="select"
            ),
        },
    )


start_mappers()
