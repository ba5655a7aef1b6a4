"""Tables of the reporting service (besides the kernel's outbox and processed-event ledger).

Facts hold what the KPIs need from the events, never names, e-mails or person
ids (only `person_key`, a sha256 hash). The aggregates are
`kpi_counters` (scope, metric, value) and `kpi_members` (scope, set, member,
refcount), kept as the sum of every unit's last contribution (`unit_contributions`).
"""
from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

from kernel.tables import UtcDateTime

metadata = MetaData()

org_facts = Table(
    "org_facts",
    metadata,
    Column("organisation_id", String(64), primary_key=True),
    Column("org_type", String(40), nullable=True),
    Column("recognised", Boolean, nullable=True),
    Column("target_group", String(20), nullable=True),
    Column("at", UtcDateTime, nullable=True),
    Column("event_id", String(36), nullable=True),
)

org_version_facts = Table(  # every registered/updated: the register at the end of each year
    "org_version_facts",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("organisation_id", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("org_type", String(40), nullable=False),
    Column("recognised", Boolean, nullable=False),
    Index("ix_org_version_facts_organisation", "organisation_id"),
)

activity_facts = Table(
    "activity_facts",
    metadata,
    Column("activity_id", String(64), primary_key=True),
    Column("kind", String(40), nullable=True),
    Column("theme", String(80), nullable=True),
    Column("goal", String(40), nullable=True),
    Column("format", String(20), nullable=True),
    Column("starts_at", UtcDateTime, nullable=True),
    Column("ends_at", UtcDateTime, nullable=True),
    Column("days", Integer, nullable=True),
    Column("dagdelen", Integer, nullable=True),
    Column("capacity", Integer, nullable=True),
    Column("fields_at", UtcDateTime, nullable=True),
    Column("fields_event_id", String(36), nullable=True),
    Column("status", String(20), nullable=False),
    Column("status_at", UtcDateTime, nullable=True),
    Column("status_event_id", String(36), nullable=True),
)

registration_facts = Table(
    "registration_facts",
    metadata,
    Column("registration_id", String(64), primary_key=True),
    Column("activity_id", String(64), nullable=False),
    Column("created", Boolean, nullable=False),
    Column("created_status", String(20), nullable=True),
    Column("confirmed_seen", Boolean, nullable=False),
    Column("cancelled_seen", Boolean, nullable=False),
    Index("ix_registration_facts_activity", "activity_id"),
)

attendance_facts = Table(
    "attendance_facts",
    metadata,
    Column("registration_id", String(64), primary_key=True),
    Column("activity_id", String(64), nullable=False),
    Column("person_key", String(64), nullable=False),
    Column("organisation_id", String(64), nullable=True),
    Column("org_type", String(40), nullable=False),
    Column("recognised", Boolean, nullable=False),
    Column("target_group", String(20), nullable=False),
    Column("days_attended", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("role", String(40), nullable=True),
    Index("ix_attendance_facts_activity", "activity_id"),
)

evaluation_facts = Table(
    "evaluation_facts",
    metadata,
    Column("evaluation_id", String(64), primary_key=True),
    Column("activity_id", String(64), nullable=False),
    Column("registration_id", String(64), nullable=True),
    Column("requested", Boolean, nullable=False),
    Column("submitted", Boolean, nullable=False),
    Column("satisfaction", Integer, nullable=True),
    Column("recommend", Integer, nullable=True),
    Column("at", UtcDateTime, nullable=True),
    Column("event_id", String(36), nullable=True),
    Index("ix_evaluation_facts_activity", "activity_id"),
)

request_facts = Table(
    "request_facts",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("received", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=True),
    Column("received_event_id", String(36), nullable=True),
    Column("organisation_id", String(64), nullable=True),
    Column("org_type", String(40), nullable=True),
    Column("recognised", Boolean, nullable=True),
    Column("target_group", String(20), nullable=True),
    Column("goal", String(40), nullable=True),
    Column("decision", String(20), nullable=True),
    Column("referred", Boolean, nullable=False),
    Column("decision_at", UtcDateTime, nullable=True),
    Column("decision_event_id", String(36), nullable=True),
)

delivery_facts = Table(
    "delivery_facts",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("request_id", String(64), nullable=False),
    Column("delivered_at", UtcDateTime, nullable=False),
    Column("dagdelen", Integer, nullable=False),
    Column("participants", Integer, nullable=False),
    Column("participations", Integer, nullable=False),
    Index("ix_delivery_facts_request", "request_id"),
)

unit_contributions = Table(
    "unit_contributions",
    metadata,
    Column("unit", String(80), primary_key=True),
    Column("payload", Text, nullable=False),  # JSON of domain.Contribution
    Column("token", String(32), nullable=True),  # the write that stored it last (store.UnitCache)
)

kpi_counters = Table(
    "kpi_counters",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("metric", String(160), primary_key=True),
    Column("value", Integer, nullable=False),
)

kpi_members = Table(
    "kpi_members",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("set_name", String(80), primary_key=True),
    Column("member", String(64), primary_key=True),
    Column("refcount", Integer, nullable=False),
)

prior_figures = Table(  # imported figures of the years before the platform, apart from the live ones (prior.py)
    "prior_figures",
    metadata,
    Column("period", String(9), primary_key=True),  # 2016 or 2011-2015
    Column("document", Text, nullable=False),  # JSON {figure path: value}
    Column("imported_at", UtcDateTime, nullable=False),
)

year_definitions = Table(  # the primary group a year's figures were first counted with, kept with them
    "year_definitions",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("primary_org_types", Text, nullable=True),  # JSON list; null: as the events carried it
    Column("fixed_at", UtcDateTime, nullable=False),
)

threshold_state = Table(
    "threshold_state",
    metadata,
    Column("kpi", String(80), primary_key=True),
    Column("scope", String(80), primary_key=True),
    Column("breached", Boolean, nullable=False),
    Column("value", Float, nullable=True),
    Column("threshold", Float, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

FACT_TABLES = (
    org_facts, org_version_facts, activity_facts, registration_facts, attendance_facts, evaluation_facts, request_facts,
    delivery_facts,
)
