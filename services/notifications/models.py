"""Tables of the notifications service (besides the kernel's outbox and processed-event ledger).

- `messages`: the log of every outgoing message, one row per (cause event, recipient, template)
  (the unique `dedup_key`), so a redelivered event never sends twice. The address is kept only
  while the message still has to go out; a person's rows are deleted on `person.erased`.
- `captured_mail`: mail kept locally instead of sent (NOTIFICATIONS.MAIL_CAPTURE, the embedded
  default), shown to staff on the gateway's /staff/mail page.
- `activity_schedule`: the dates of each activity as the newest of its events told them (by
  occurred_at, then event id: activity.scheduled and activity.updated come in any order), to notice
  a move and to find the activities whose reminder is due.
- `alert_state`: when an alert for (kpi, scope, kind) last went out, for de-duplication; Alertmanager's
  alerts (the gateway's webhook) are kept as kpi "alertmanager", scope = fingerprint, kind = firing/resolved.
"""
from sqlalchemy import Boolean, Column, Index, Integer, LargeBinary, MetaData, String, Table

from kernel.tables import UtcDateTime

metadata = MetaData()

messages = Table(
    "messages",
    metadata,
    Column("notification_id", String(36), primary_key=True),
    # sha256 of (cause event, recipient, template): one message per triple
    Column("dedup_key", String(64), nullable=False, unique=True),
    Column("template", String(60), nullable=False),
    Column("channel", String(20), nullable=False),
    # "person:<id>" for participants, "staff:<address>" or "webhook:<digest>" for alerts
    Column("recipient", String(300), nullable=False),
    Column("person_id", String(64), nullable=True),
    Column("language", String(2), nullable=True),
    Column("cause_event_id", String(100), nullable=True),
    Column("cause_event_type", String(64), nullable=True),
    # pending -> sending -> sent | failed (back to pending while attempts remain) | dropped (domain.DROPPED)
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    # the claim that took the message to send it (a worker past its lease records nothing)
    Column("claim", String(36), nullable=True),
    Column("email", String(254), nullable=True),
    Column("subject", String(300), nullable=True),
    Column("error", String(500), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Index("ix_messages_person", "person_id"),
    Index("ix_messages_cause", "cause_event_id"),
    Index("ix_messages_created", "created_at"),
)

captured_mail = Table(
    "captured_mail",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", String(36), nullable=True),
    Column("person_id", String(64), nullable=True),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("captured_at", UtcDateTime, nullable=False),
    Index("ix_captured_mail_person", "person_id"),
)

activity_schedule = Table(
    "activity_schedule",
    metadata,
    Column("activity_id", String(64), primary_key=True),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    # the start the reminder was sent for (a moved activity gets a new reminder)
    Column("reminded_for", UtcDateTime, nullable=True),
    Column("sequence", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # the event the times come from (occurred_at, event id): an older event never overwrites them
    # (NULL: stored before 0003, older than any event)
    Column("times_at", UtcDateTime, nullable=True),
    Column("times_event_id", String(36), nullable=True),
    # True while the times come from an activity.updated handled before any other version of the
    # activity: whether it moved the activity is found out (and told) when another version comes
    Column("move_unknown", Boolean, nullable=True),
    Index("ix_activity_schedule_starts_at", "starts_at"),
)

alert_state = Table(
    "alert_state",
    metadata,
    Column("kpi", String(100), primary_key=True),
    Column("scope", String(100), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("last_sent_at", UtcDateTime, nullable=False),
    Column("suppressed", Integer, nullable=False),
)

