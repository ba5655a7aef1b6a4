"""Accounts service: the staff's personal accounts, their server-side sessions and API tokens, and
the audit log of who changed what.

Thin nameko entrypoints: input loaded with a schema, one unit of work, the domain decides. It
consumes and emits no events: the gateway asks it over RPC (a sign-in, who a session or token is,
an audit line to write). Every change to an account is written to the audit log in the same
transaction. `actor` arguments say who asks: {"account_id": ..., "name": ...} (account_id None for
a machine token of the environment, whose name is "machine:<role>")."""
from __future__ import annotations

from datetime import timedelta

from nameko.dependency_providers import Config
from sqlalchemy.exc import IntegrityError

from kernel import health
from kernel.dependencies import Database
from kernel.errors import Conflict
from kernel.inputs import domain_errors, load
from kernel.rpc import rpc
from kernel.tables import utcnow
from services.accounts import domain, repository, schemas
from services.accounts.domain import AUDIT_ACTIONS, Account, ApiToken, AuditEntry, Session

_account_input = schemas.AccountInputSchema()
_account_update = schemas.AccountUpdateSchema(partial=True)
_password = schemas.PasswordSchema()
_account_view = schemas.AccountViewSchema()
_token_view = schemas.ApiTokenViewSchema()
_token_label = schemas.TokenLabelSchema()
_actor = schemas.ActorSchema()
_audit_input = schemas.AuditInputSchema()
_audit_entry = schemas.AuditEntrySchema()
_audit_filters = schemas.AuditFiltersSchema()
# who signs in is nobody yet: sign-in lines name the account as their subject
ANONYMOUS = {"account_id": None, "name": "sign-in"}  # a failed sign-in: nobody known (the page words it)
CHANGE_ACTIONS = {"name": "account.renamed", "role": "account.role_changed"}


def session_lifetimes(config: dict) -> tuple[timedelta, timedelta]:
    """(idle, absolute) of a session: ACCOUNTS.SESSION_IDLE_MINUTES and SESSION_ABSOLUTE_HOURS."""
    section = config.get("ACCOUNTS") or {}
    idle = section.get("SESSION_IDLE_MINUTES")
    absolute = section.get("SESSION_ABSOLUTE_HOURS")
    return (domain.DEFAULT_SESSION_IDLE if idle in (None, "") else timedelta(minutes=float(idle)),
            domain.DEFAULT_SESSION_ABSOLUTE if absolute in (None, "") else timedelta(hours=float(absolute)))


def audit(session, actor: dict, action: str, subject_type: str, subject_id: str | None, now, **details) -> None:
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to AUDIT_ACTIONS (and its words to the catalogs)")
    session.add(AuditEntry(at=now, actor=actor["name"], actor_account_id=actor.get("account_id"), action=action,
                           subject_type=subject_type, subject_id=subject_id, details=details))


def account_view(account: Account) -> dict:
    return _account_view.dump(account)


def create(session, data: dict, actor: dict, now) -> Account:
    """A new account (Conflict when the email is taken), audited."""
    with domain_errors():
        account = Account.new(data["email"], data["name"], data["role"], data["password"], now)
    if repository.account_by_email(session, account.email) is not None:
        raise Conflict("email taken", {"email": ["An account with this email exists."]})
    session.add(account)
    session.flush()
    audit(session, actor, "account.created", "account", account.account_id, now, role=account.role)
    return account


class AccountsService(health.HealthRpc):
    name = "accounts"
    db = Database()
    config = Config()

    # --- accounts ------------------------------------------------------------------------------------------

    @rpc
    def create_account(self, payload, actor):
        data = load(_account_input, payload)
        who = load(_actor, actor)
        now = utcnow()
        try:
            with self.db.unit_of_work() as uow:
                return account_view(create(uow.session, data, who, now))
        except IntegrityError:  # the same email created at the same moment
            raise Conflict("email taken", {"email": ["An account with this email exists."]}) from None

    @rpc
    def update_account(self, account_id, payload, actor):
        data = load(_account_update, payload)
        who = load(_actor, actor)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            account = repository.account(uow.session, account_id, lock=True)
            active_admins = repository.count_accounts(uow.session, "admin", active_only=True)
            if domain.leaves_no_admin(account, active_admins, data.get("role"), data.get("active")):
                raise Conflict("the last admin", {"role": ["The last active admin stays an active admin."]})
            changed = account.change(now, **data)
            for field, value in changed.items():
                if field == "active":
                    action = "account.reactivated" if value else "account.deactivated"
                    audit(uow.session, who, action, "account", account.account_id, now)
                else:
                    details = {"role": value} if field == "role" else {}
                    audit(uow.session, who, CHANGE_ACTIONS[field], "account", account.account_id, now, **details)
            if changed.get("active") is False:  # a deactivated account is signed out everywhere
                for session in repository.live_sessions(uow.session, account.account_id):
                    session.revoked_at = now
            return account_view(account)

    @rpc
    def set_password(self, account_id, payload, actor):
        """An admin gives the account a new password; its sessions end (whoever had the old one)."""
        data = load(_password, payload)
        who = load(_actor, actor)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            account = repository.account(uow.session, account_id, lock=True)
            account.set_password(data["password"], now)
            for session in repository.live_sessions(uow.session, account.account_id):
                session.revoked_at = now
            audit(uow.session, who, "account.password_set", "account", account.account_id, now)
            return account_view(account)

    @rpc
    def get_account(self, account_id):
        with self.db.read() as session:
            return account_view(repository.account(session, account_id))

    @rpc
    def list_accounts(self):
        with self.db.read() as session:
            return [account_view(a) for a in repository.all_accounts(session)]

    @rpc
    def count_accounts(self, role=None):
        with self.db.read() as session:
            return repository.count_accounts(session, role)

    # --- signing in: sessions ------------------------------------------------------------------------------

    @rpc
    def sign_in(self, email, password):
        """{"token": <the session cookie's value>, "account": {...}} when the password is right and the
        account active and not locked; else {"token": None, "outcome": "failed" | "locked"}. The
        caller must say the same thing whatever the outcome (no hint whether the email exists)."""
        email = domain.normalise_email(str(email or ""))[:254]
        password = str(password or "")[:domain.PASSWORD_MAX_LENGTH]
        now = utcnow()
        _, absolute = session_lifetimes(self.config)
        with self.db.unit_of_work() as uow:
            account = repository.account_by_email(uow.session, email, lock=True) if email else None
            if account is None:
                domain.password_matches(None, password)  # as long as for a known email
                audit(uow.session, ANONYMOUS, "account.sign_in_failed", "account", None, now)
                return {"token": None, "outcome": "failed"}
            outcome = account.sign_in(password, now)
            subject = ("account", account.account_id, now)
            if outcome != "succeeded":
                action = "account.locked" if outcome == "locked" else "account.sign_in_failed"
                audit(uow.session, ANONYMOUS, action, *subject)
                return {"token": None, "outcome": outcome}
            session, token = Session.start(account.account_id, now, absolute)
            uow.session.add(session)
            audit(uow.session, {"account_id": account.account_id, "name": account.name}, "account.signed_in",
                  *subject)
            return {"token": token, "account": account_view(account)}

    @rpc
    def session_account(self, token):
        """The account a session cookie signs in (touched: its idle time starts again); None when the
        session is unknown, revoked, idle too long, past its absolute end, or its account inactive."""
        if not isinstance(token, str) or not token:
            return None
        now = utcnow()
        idle, _ = session_lifetimes(self.config)
        with self.db.read() as read:
            session = repository.session_by_digest(read, domain.token_digest(token))
            if session is None or not session.valid(now, idle):
                return None
            account = repository.account(read, session.account_id)
            if not account.active:
                return None
            touch = session.needs_touch(now)
        if touch:
            with self.db.unit_of_work() as uow:
                session = repository.session_by_digest(uow.session, domain.token_digest(token))
                session.last_seen_at = now
        return account_view(account)

    @rpc
    def sign_out(self, token):
        if not isinstance(token, str) or not token:
            return False
        now = utcnow()
        with self.db.unit_of_work() as uow:
            session = repository.session_by_digest(uow.session, domain.token_digest(token))
            if session is None or session.revoked_at is not None:
                return False
            session.revoked_at = now
            return True

    @rpc
    def revoke_sessions(self, account_id, actor):
        """Sign an account out everywhere; returns how many sessions were open."""
        who = load(_actor, actor)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            account = repository.account(uow.session, account_id)
            live = repository.live_sessions(uow.session, account.account_id)
            for session in live:
                session.revoked_at = now
            audit(uow.session, who, "account.sessions_revoked", "account", account.account_id, now,
                  sessions=len(live))
            return len(live)

    # --- personal API tokens -------------------------------------------------------------------------------

    @rpc
    def issue_token(self, account_id, payload, actor):
        """A new bearer token for the account: {"token": <shown once>, **its view}."""
        data = load(_token_label, payload if payload is not None else {})
        who = load(_actor, actor)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            account = repository.account(uow.session, account_id)
            api_token, token = ApiToken.issue(account.account_id, data["label"], now)
            uow.session.add(api_token)
            audit(uow.session, who, "account.token_issued", "account", account.account_id, now,
                  token_id=api_token.token_id)
            return {"token": token, **_token_view.dump(api_token)}

    @rpc
    def list_tokens(self, account_id):
        with self.db.read() as session:
            account = repository.account(session, account_id)
            return [_token_view.dump(t) for t in repository.tokens_of(session, account.account_id)]

    @rpc
    def revoke_token(self, token_id, actor):
        who = load(_actor, actor)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            api_token = repository.api_token(uow.session, token_id)
            if api_token.revoked_at is None:
                api_token.revoked_at = now
                audit(uow.session, who, "account.token_revoked", "account", api_token.account_id, now,
                      token_id=api_token.token_id)
            return _token_view.dump(api_token)

    @rpc
    def token_account(self, token):
        """The active account a personal API token belongs to; None for an unknown or revoked one."""
        if not isinstance(token, str) or not token:
            return None
        with self.db.read() as session:
            api_token = repository.token_by_digest(session, domain.token_digest(token))
            if api_token is None or api_token.revoked_at is not None:
                return None
            account = repository.account(session, api_token.account_id)
            return account_view(account) if account.active else None

    # --- the audit log -------------------------------------------------------------------------------------

    @rpc
    def record_audit(self, entry):
        data = load(_audit_input, entry)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            audit(uow.session, data["actor"], data["action"], data["subject_type"], data["subject_id"], now,
                  **data["details"])

    @rpc
    def list_audit(self, filters=None):
        """{"entries": [...] newest first, "total": n, "action_kinds": [...]} for a page of the log."""
        data = load(_audit_filters, filters if filters is not None else {})
        with self.db.read() as session:
            entries, total = repository.audit_page(session, data["account_id"], data["action_kind"],
                                                   data["limit"], data["offset"])
            return {"entries": [_audit_entry.dump(e) for e in entries], "total": total,
                    "action_kinds": repository.action_kinds(session)}
