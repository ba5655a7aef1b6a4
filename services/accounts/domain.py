"""The accounts domain, plain Python: staff accounts and their roles, the password rules (argon2id),
the sign-in lockout, server-side sessions with idle and absolute expiry, personal API tokens and the
lines of the audit log. The clock is always passed in (`now`, timezone-aware)."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.rules import InvalidInput

ROLES = ("staff", "ops", "admin")
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256  # hashing has a cost; nobody types more
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
DEFAULT_SESSION_IDLE = timedelta(hours=2)
DEFAULT_SESSION_ABSOLUTE = timedelta(hours=12)
# a session's last use is written at most this often (not on every page)
SESSION_TOUCH_EVERY = timedelta(minutes=1)

# argon2id (the library's default type), with its default cost parameters (RFC 9106's second choice)
_hasher = PasswordHasher()
# verified against when the email is unknown, so the answer takes as long either way
_UNKNOWN_ACCOUNT_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    """Emails are unique whatever their case."""
    return email.strip().lower()


def password_problems(password: str, email: str = "") -> list[str]:
    """What is wrong with a new password (empty: it may be used)."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"At least {PASSWORD_MIN_LENGTH} characters.")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"At most {PASSWORD_MAX_LENGTH} characters.")
    if email and normalise_email(password) == normalise_email(email):
        problems.append("Not the email address.")
    if password and len(set(password)) < 4:
        problems.append("Too simple: use more different characters.")
    return problems


def hash_password(password: str) -> str:
    problems = password_problems(password)
    if problems:
        raise InvalidInput("invalid password", {"password": problems})
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _UNKNOWN_ACCOUNT_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """Only this is stored of a session or API token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class Account:
    account_id: str
    email: str
    name: str
    role: str
    active: bool
    password_hash: str
    created_at: datetime
    updated_at: datetime
    failed_sign_ins: int = 0
    locked_until: datetime | None = None

    @classmethod
    def new(cls, email: str, name: str, role: str, password: str, now: datetime) -> Account:
        if role not in ROLES:
            raise InvalidInput("invalid role", {"role": [f"One of {', '.join(ROLES)}."]})
        problems = password_problems(password, email)
        if problems:
            raise InvalidInput("invalid password", {"password": problems})
        return cls(str(uuid.uuid4()), normalise_email(email), name.strip(), role, True, hash_password(password),
                   now, now)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def sign_in(self, password: str, now: datetime) -> str:
        """Check a sign-in: "succeeded", "failed" (a wrong password or inactive) or "locked" (the
        MAX_FAILED_SIGN_INS-th failure in a row locks the account for LOCKOUT, and while it is
        locked even the right password is refused)."""
        if self.locked(now):
            return "locked"
        if password_matches(self.password_hash, password) and self.active:
            self.failed_sign_ins, self.locked_until = 0, None
            return "succeeded"
        self.failed_sign_ins += 1
        if self.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            self.failed_sign_ins, self.locked_until = 0, now + LOCKOUT
            return "locked"
        return "failed"

    def set_password(self, password: str, now: datetime) -> None:
        """A new password (an admin's reset): the lockout is lifted."""
        problems = password_problems(password, self.email)
        if problems:
            raise InvalidInput("invalid password", {"password": problems})
        self.password_hash, self.failed_sign_ins, self.locked_until, self.updated_at = (
            hash_password(password), 0, None, now)

    def change(self, now: datetime, name: str | None = None, role: str | None = None,
               active: bool | None = None) -> dict:
        """Apply the given changes; returns {field: new value} of what changed."""
        if role is not None and role not in ROLES:
            raise InvalidInput("invalid role", {"role": [f"One of {', '.join(ROLES)}."]})
        changed = {}
        for name_, value in (("name", name.strip() if name is not None else None), ("role", role),
                             ("active", active)):
            if value is not None and getattr(self, name_) != value:
                setattr(self, name_, value)
                changed[name_] = value
        if changed:
            self.updated_at = now
        return changed


def leaves_no_admin(account: Account, active_admins: int, role: str | None, active: bool | None) -> bool:
    """Whether this change would take away the last active admin (nobody could manage accounts)."""
    is_last = account.role == "admin" and account.active and active_admins <= 1
    return is_last and ((role is not None and role != "admin") or active is False)


@dataclass
class Session:
    """A signed-in browser: only the sha256 of its cookie's token is kept."""

    token_sha256: str
    account_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute end, however busy the session is
    revoked_at: datetime | None = None

    @classmethod
    def start(cls, account_id: str, now: datetime, absolute: timedelta) -> tuple[Session, str]:
        """A new session and its token (given to the browser once)."""
        token = new_secret()
        return cls(token_digest(token), account_id, now, now, now + absolute), token

    def valid(self, now: datetime, idle: timedelta) -> bool:
        return self.revoked_at is None and now < self.expires_at and now < self.last_seen_at + idle

    def needs_touch(self, now: datetime) -> bool:
        return now - self.last_seen_at >= SESSION_TOUCH_EVERY


@dataclass
class ApiToken:
    """A personal bearer token for machine access; only its sha256 is kept."""

    token_id: str
    account_id: str
    label: str
    token_sha256: str
    created_at: datetime
    revoked_at: datetime | None = None

    @classmethod
    def issue(cls, account_id: str, label: str, now: datetime) -> tuple[ApiToken, str]:
        token = new_secret()
        return cls(str(uuid.uuid4()), account_id, label.strip(), token_digest(token), now), token


@dataclass
class AuditEntry:
    """One line of the audit log: who (an account, or a machine token of a role) did what to what."""

    at: datetime
    actor: str  # the account's name, "machine:<role>", "ops:<user>" or "sign-in"
    action: str
    subject_type: str
    subject_id: str | None = None
    actor_account_id: str | None = None
    details: dict = field(default_factory=dict)


# Every action the audit log knows, by what it is about; the audit page words each one (catalog id
# accounts_action.<action>), and a line with another action is refused.
AUDIT_ACTIONS = (
    "account.created", "account.renamed", "account.role_changed", "account.deactivated", "account.reactivated",
    "account.password_set", "account.sessions_revoked", "account.token_issued", "account.token_revoked",
    "account.signed_in", "account.sign_in_failed", "account.locked",
    "activity.created", "activity.updated", "activity.postponed", "activity.cancelled", "activity.completed",
    "registration.created", "registration.cancelled", "registration.promoted", "registration.walk_in",
    "attendance.recorded", "registrations.exported",
    "organisation.created", "organisation.updated", "organisation.imported",
    "request.recorded", "request.updated", "request.explored", "request.note_added", "request.accepted",
    "request.declined", "request.delivery_recorded", "request.closed", "requests.exported",
    "request_staff.created", "request_staff.updated",
    "evaluations.exported",
    "person.exported", "person.erased",
)
# what a line is about (its subject's kind; the id is opaque, never an address or a name)
AUDIT_SUBJECTS = ("account", "activity", "registration", "organisation", "request", "request_staff", "person")
