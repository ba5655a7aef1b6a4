"""The accounts service's SQL: plain functions on the caller's session."""
from __future__ import annotations

from sqlalchemy import func, select

from kernel.errors import NotFound
from kernel.inputs import existing_id
from services.accounts.domain import Account, ApiToken, AuditEntry, Session
from services.accounts.models import accounts, api_tokens, audit_log, sessions


def account(session, account_id, lock: bool = False) -> Account:
    statement = select(Account).where(accounts.c.account_id == existing_id(account_id, "account"))
    if lock:
        statement = statement.with_for_update()
    found = session.execute(statement).scalars().first()
    if found is None:
        raise NotFound("account not found")
    return found


def account_by_email(session, email: str, lock: bool = False) -> Account | None:
    statement = select(Account).where(accounts.c.email == email)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalars().first()


def all_accounts(session) -> list[Account]:
    return list(session.execute(select(Account).order_by(accounts.c.name, accounts.c.email)).scalars())


def count_accounts(session, role: str | None = None, active_only: bool = False) -> int:
    statement = select(func.count()).select_from(accounts)
    if role is not None:
        statement = statement.where(accounts.c.role == role)
    if active_only:
        statement = statement.where(accounts.c.active.is_(True))
    return session.execute(statement).scalar_one()


def session_by_digest(session, digest: str) -> Session | None:
    return session.get(Session, digest)


def live_sessions(session, account_id: str) -> list[Session]:
    return list(session.execute(select(Session).where(
        sessions.c.account_id == account_id, sessions.c.revoked_at.is_(None))).scalars())


def token_by_digest(session, digest: str) -> ApiToken | None:
    return session.execute(select(ApiToken).where(api_tokens.c.token_sha256 == digest)).scalars().first()


def api_token(session, token_id) -> ApiToken:
    found = session.get(ApiToken, existing_id(token_id, "token"))
    if found is None:
        raise NotFound("token not found")
    return found


def tokens_of(session, account_id: str) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).where(api_tokens.c.account_id == account_id)
                                .order_by(api_tokens.c.created_at.desc())).scalars())


def audit_page(session, account_id: str | None, action_kind: str | None, limit: int, offset: int
               ) -> tuple[list[AuditEntry], int]:
    """Newest first; `action_kind` is the part of the action before the dot ("account", "activity")."""
    conditions = []
    if account_id:
        conditions.append(audit_log.c.actor_account_id == account_id)
    if action_kind:
        conditions.append(audit_log.c.action.like(f"{action_kind}.%"))
    total = session.execute(select(func.count()).select_from(audit_log).where(*conditions)).scalar_one()
    entries = session.execute(select(AuditEntry).where(*conditions)
                              .order_by(audit_log.c.at.desc(), audit_log.c.audit_id.desc())
                              .limit(limit).offset(offset)).scalars()
    return list(entries), total


def action_kinds(session) -> list[str]:
    actions = session.execute(select(audit_log.c.action).distinct()).scalars()
    return sorted({action.split(".", 1)[0] for action in actions})
