"""Tables every service database has: the outbox (also the producer's event
log, which reporting replays) and the processed-event ledger of idempotent consumers."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, TypeDecorator


class UtcDateTime(TypeDecorator):
    """Timezone-aware datetimes in, stored as UTC, aware UTC out (also on SQLite)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


kernel_metadata = MetaData()

outbox = Table(
    "outbox",
    kernel_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", String(200), nullable=True),
    Index("ix_outbox_published_at", "published_at"),
)

processed_events = Table(
    "processed_events",
    kernel_metadata,
    Column("consumer", String(200), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)
