"""Tables of the evaluation service (besides the kernel's outbox and processed-event ledger), and the
imperative mapping of the plain domain classes onto them.

No names or addresses: persons are registration's opaque ids (removed on erasure), and the
free-text answers stay in this database (never in an event)."""
from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import registry

from kernel.tables import UtcDateTime
from services.evaluation import domain

metadata = MetaData()

activities = Table(
    "evaluation_activities",
    metadata,
    Column("activity_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("kind", String(40), nullable=True),
    Column("starts_at", UtcDateTime, nullable=True),
    Column("ends_at", UtcDateTime, nullable=True),
    Column("schedule_at", UtcDateTime, nullable=True),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("cancelled_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_evaluation_activities_status_ends", "status", "ends_at"),
)

attendance = Table(
    "evaluation_attendance",
    metadata,
    Column("registration_id", String(64), primary_key=True),
    Column("activity_id", String(64), nullable=False),
    Column("person_id", String(64), nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("erased_at", UtcDateTime, nullable=True),
    Index("ix_evaluation_attendance_activity", "activity_id"),
    Index("ix_evaluation_attendance_person", "person_id"),
)

erased_persons = Table(
    "evaluation_erased_persons",
    metadata,
    Column("person_id", String(64), primary_key=True),
    Column("erased_at", UtcDateTime, nullable=False),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("evaluation_id", String(36), primary_key=True),
    Column("registration_id", String(64), nullable=False),
    Column("activity_id", String(64), nullable=False),
    Column("person_id", String(64), nullable=True),
    Column("stage", String(10), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("closes_at", UtcDateTime, nullable=False),
    Column("reminder_sent_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("satisfaction", Integer, nullable=True),
    Column("recommend", Integer, nullable=True),
    Column("most_useful", Text, nullable=True),
    Column("could_be_better", Text, nullable=True),
    Column("comment", Text, nullable=True),
    Column("anonymised_at", UtcDateTime, nullable=True),
    # one survey (so one answer) per registration and stage
    UniqueConstraint("registration_id", "stage", name="uq_evaluations_registration_stage"),
    Index("ix_evaluations_activity_stage", "activity_id", "stage"),
    Index("ix_evaluations_person", "person_id"),
    Index("ix_evaluations_pending", "submitted_at", "closed_at", "closes_at"),
)

mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    """Map the domain classes onto the tables (once per process)."""
    if getattr(domain.Evaluation, "__mapper__", None) is not None:
        return
    mapper_registry.map_imperatively(domain.Activity, activities)
    mapper_registry.map_imperatively(domain.Attendance, attendance)
    mapper_registry.map_imperatively(domain.ErasedPerson, erased_persons)
    mapper_registry.map_imperatively(domain.Evaluation, evaluations)


start_mappers()
