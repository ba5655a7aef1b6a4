"""Tables of the accounts service (besides the kernel's outbox and processed-event ledger), and the
imperative mapping of the plain domain classes onto them."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table
from sqlalchemy.orm import registry

from kernel.tables import UtcDateTime
from services.accounts import domain

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # normalised: lower case
    Column("name", String(200), nullable=False),
    Column("role", String(10), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("failed_sign_ins", Integer, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("account_id", String(36), ForeignKey("accounts.account_id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index("ix_sessions_account", "account_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(36), primary_key=True),
    Column("account_id", String(36), ForeignKey("accounts.account_id"), nullable=False),
    Column("label", String(100), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index("ix_api_tokens_account", "account_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_account_id", String(36), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject_type", String(40), nullable=False),
    Column("subject_id", String(64), nullable=True),
    Column("details", JSON, nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor", "actor_account_id", "at"),
    Index("ix_audit_log_action", "action", "at"),
)

mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    """Map the domain classes onto the tables (once per process)."""
    if getattr(domain.Account, "__mapper__", None) is not None:
        return
    mapper_registry.map_imperatively(domain.Account, accounts)
    mapper_registry.map_imperatively(domain.Session, sessions)
    mapper_registry.map_imperatively(domain.ApiToken, api_tokens)
    mapper_registry.map_imperatively(domain.AuditEntry, audit_log)


start_mappers()
