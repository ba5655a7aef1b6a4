"""Tables of the requests service (besides the kernel's outbox and processed-event ledger),
and the imperative mapping of the plain domain classes onto them."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import registry, relationship

from kernel.tables import UtcDateTime
from services.requests import domain

metadata = MetaData()

staff_members = Table(
    "staff_members",
    metadata,
    Column("staff_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=True),
    Column("themes", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

requests = Table(
    "requests",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("contact_name", String(200), nullable=False),
    Column("contact_email", String(254), nullable=True),  # none: taken by phone without an address
    Column("contact_phone", String(40), nullable=True),
    Column("language", String(2), nullable=False),
    Column("organisation_id", String(64), nullable=True),
    Column("organisation_name", String(200), nullable=True),
    Column("org_type", String(40), nullable=False),
    Column("recognised", Boolean, nullable=False),
    Column("target_group", String(20), nullable=False),
    Column("question", Text, nullable=False),
    Column("theme", String(80), nullable=False),
    Column("goal", String(40), nullable=True),
    Column("preferred_timing", String(500), nullable=True),
    Column("assignee", String(36), ForeignKey("staff_members.staff_id"), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("answer_due_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("overdue_marked_at", UtcDateTime, nullable=True),
    Column("decline_reason", String(40), nullable=True),
    Column("referred_to", String(200), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_requests_status_received", "status", "received_at"),
    Index("ix_requests_assignee_status", "assignee", "status"),
    Index("ix_requests_answer_due", "answered_at", "answer_due_at"),
)

request_notes = Table(
    "request_notes",
    metadata,
    Column("note_id", String(36), primary_key=True),
    Column("request_id", String(36), ForeignKey("requests.request_id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("author", String(36), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_request_notes_request", "request_id"),
)

deliveries = Table(
    "request_deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("request_id", String(36), ForeignKey("requests.request_id"), nullable=False),
    Column("delivered_on", Date, nullable=False),
    Column("form", String(40), nullable=False),
    Column("dagdelen", Integer, nullable=False),
    Column("participants", Integer, nullable=False),
    Column("participations", Integer, nullable=False),
    Column("description", Text, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_request_deliveries_request", "request_id"),
)

mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    """Map the domain classes onto the tables (once per process)."""
    if getattr(domain.Request, "__mapper__", None) is not None:
        return
    mapper_registry.map_imperatively(domain.StaffMember, staff_members)
    mapper_registry.map_imperatively(domain.Note, request_notes)
    mapper_registry.map_imperatively(domain.Delivery, deliveries)
    mapper_registry.map_imperatively(
        domain.Request,
        requests,
        properties={
            "notes": relationship(
                domain.Note, order_by=(request_notes.c.created_at, request_notes.c.note_id), lazy="selectin"
            ),
            "deliveries": relationship(
                domain.Delivery, order_by=(deliveries.c.delivered_on, deliveries.c.recorded_at), lazy="selectin"
            ),
        },
    )


start_mappers()
