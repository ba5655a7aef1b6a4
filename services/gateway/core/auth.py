"""Authentication and roles. Who asks is one of:
- a staff member's browser, by its session cookie (SESSION_COOKIE, given at /staff/login): the
  accounts service says whose session it is (one RPC per request), until it expires or is revoked;
- `Authorization: Bearer <token>`: a machine token of the environment (compared by sha256 digest
  with AUTH.STAFF_TOKEN_SHA256, AUTH.OPS_TOKEN_SHA256, AUTH.ADMIN_TOKEN_SHA256; comma-separated or
  a list, never tokens), else a personal API token the accounts service issued to an account.
A role with no digest configured refuses every machine token: an empty setting must not mean
"open to all".

Every protected entrypoint of the gateway says who may use it with `@require(role, ...)`;
docs/SECURITY.md has the table.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import wraps

from werkzeug.wrappers import Response

from services.gateway.core.errors import error_body
from services.gateway.core.http import json_response

log = logging.getLogger(__name__)

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class InvalidTokenConfig(ValueError):
    """A token setting (AUTH.*_TOKEN_SHA256) holds something that is not a sha256 hex digest."""


def parse_digests(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The configured digests as lowercase hex strings; empty entries are ignored."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    digests = []
    for item in items:
        item = str(item or "").strip().lower()
        if not item:
            continue
        if not _HEX_DIGEST.match(item):
            raise InvalidTokenConfig("token settings must hold sha256 hex digests (64 hex characters)")
        digests.append(item)
    return tuple(digests)


def digests_from_config(config: dict) -> tuple[str, ...]:
    return parse_digests((config.get("AUTH") or {}).get("STAFF_TOKEN_SHA256"))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def is_staff(authorization: str | None, digests: Iterable[str]) -> bool:
    """True when the header carries a token whose sha256 matches one of `digests`.

    Every configured digest is compared (constant time each), so the answer
    takes as long for the first digest as for the last.
    """
    digests = tuple(digests)
    token = bearer_token(authorization)
    if not digests or token is None:
        return False
    presented = hash_token(token)
    matched = False
    for digest in digests:
        matched |= hmac.compare_digest(presented, digest)
    return matched


# --- roles ---------------------------------------------------------------------------------------------------
#
# Three roles, each with its own tokens, stored only as sha256 digests in configuration:
#   staff  AUTH.STAFF_TOKEN_SHA256   the desk: activities, registrations, requests, KPIs, reports,
#                                    evaluation figures, the notification log
#   ops    AUTH.OPS_TOKEN_SHA256     running the platform: the captured mail, /metrics when it is closed
#   admin  AUTH.ADMIN_TOKEN_SHA256   everything staff and ops may do, and what exports personal data in bulk
# (Alertmanager's webhook keeps its own token, AUTH.ALERTMANAGER_TOKEN_SHA256: it is no role.)

ROLES = ("staff", "ops", "admin")
ROLE_SETTINGS = {"staff": "STAFF_TOKEN_SHA256", "ops": "OPS_TOKEN_SHA256", "admin": "ADMIN_TOKEN_SHA256"}
# the roles a token of one role holds: admin may do everything staff and ops may do
IMPLIES = {"staff": frozenset({"staff"}), "ops": frozenset({"ops"}), "admin": frozenset(ROLES)}
# the HttpOnly cookie of a signed-in browser: the session's secret (services.gateway.staff.routes)
SESSION_COOKIE = "staff_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# environ key of the gateway's security extension: a wrong token takes from the client's sign-in
# bucket, and a client that has used it up gets 429 before its token is looked at
AUTH_GUARD = "gateway.auth_guard"
VIEWER = "gateway.viewer"  # environ key: who a protected route is answering (a Viewer)


@dataclass(frozen=True)
class Viewer:
    """Who is asking: the roles their token or session holds, and the account behind it (None for
    a machine token from the environment)."""

    roles: frozenset[str]
    account_id: str | None = None
    name: str | None = None
    email: str | None = None

    def may(self, role: str) -> bool:
        return role in self.roles


def viewer_of(request) -> Viewer:
    """The Viewer `require` let through (no roles on a public route)."""
    return request.environ.get(VIEWER) or Viewer(frozenset())


def role_digests(config: dict) -> dict[str, tuple[str, ...]]:
    """The configured digests of every role; a malformed setting refuses that role's tokens (logged)."""
    section = config.get("AUTH") or {}
    digests = {}
    for role, key in ROLE_SETTINGS.items():
        try:
            digests[role] = parse_digests(section.get(key))
        except InvalidTokenConfig:
            log.error("AUTH.%s is malformed: every %s token is refused", key, role)
            digests[role] = ()
    return digests


# Tokens that examples and documentation show, and the empty token: a digest of one of them
# opens the platform to whoever read the example, so the gateway refuses to start with it.
KNOWN_EXAMPLE_TOKENS = ("", "change-me", "change-me-ops", "change-me-admin", "change-me-too", "changeme",
                        "secret", "password", "admin", "staff", "ops", "token", "test")
TOKEN_SETTINGS = (*ROLE_SETTINGS.values(), "ALERTMANAGER_TOKEN_SHA256")


class KnownTokenDigest(ValueError):
    """A token setting holds the digest of an example or empty token (raised at start-up)."""


def refuse_known_digests(config: dict) -> None:
    """Raise KnownTokenDigest when any AUTH.*_TOKEN_SHA256 holds the sha256 of an example token
    (change-me, ...) or of the empty token; the message names the setting, never the token."""
    known = {hash_token(token) for token in KNOWN_EXAMPLE_TOKENS}
    section = config.get("AUTH") or {}
    for key in TOKEN_SETTINGS:
        try:
            digests = parse_digests(section.get(key))
        except InvalidTokenConfig:
            continue  # refused per request and logged (role_digests)
        if known & set(digests):
            raise KnownTokenDigest(
                f"AUTH.{key} holds the sha256 of an example or empty token, which anyone can look up: "
                f"make a token of your own (docs/SECURITY.md) and configure its digest")


def token_roles(token: str | None, config: dict) -> frozenset[str]:
    """The roles `token` holds (admin's include staff and ops); empty for an unknown token.

    Every configured digest is compared in constant time, so the answer takes as long for
    any token."""
    if not token:
        return frozenset()
    presented = hash_token(token)
    held: set[str] = set()
    for role, digests in role_digests(config).items():
        matched = False
        for digest in digests:
            matched |= hmac.compare_digest(presented, digest)
        if matched:
            held |= IMPLIES[role]
    return frozenset(held)


def presented_credentials(request) -> tuple[str, str] | None:
    """("bearer", token) from the header, else ("session", the sign-in cookie's value), else None.

    The cookie counts for reading (GET, HEAD) anywhere and on the HTML pages, whose form posts
    all carry a CSRF token (services.gateway.core.security); never for a change through the JSON
    API, so the cookie alone can never make a staff change (besides being SameSite=Strict)."""
    header = request.headers.get("Authorization")
    if header:
        return "bearer", bearer_token(header) or ""
    if request.method in SAFE_METHODS or not is_api_path(request.path):
        cookie = request.cookies.get(SESSION_COOKIE)
        return ("session", cookie) if cookie else None
    return None


def account_viewer(account: dict) -> Viewer:
    """The Viewer of an account as the accounts service describes it."""
    return Viewer(IMPLIES[account["role"]], account["account_id"], account["name"], account["email"])


def identify(service, kind: str, secret: str) -> Viewer | None:
    """Who a bearer token or session cookie belongs to; None when nobody (unknown, expired, revoked)."""
    if not secret:
        return None
    if kind == "bearer":
        held = token_roles(secret, service.config)
        if held:
            return Viewer(held)
    accounts = getattr(service, "accounts", None)
    if accounts is None:
        return None
    account = accounts.token_account(secret) if kind == "bearer" else accounts.session_account(secret)
    return account_viewer(account) if account else None


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def refusal(service, request, roles) -> Response | None:
    """None when the request's token holds one of `roles`; else the answer: 401 without a
    (valid) token, 403 with a valid token of another role. A page for the staff pages (/staff/...:
    the service's `auth_refused_page`, which offers the sign-in form), JSON for the rest."""
    presented = presented_credentials(request)
    guard = request.environ.get(AUTH_GUARD)  # the gateway's rate limits (absent in unit tests)
    bearer = presented is not None and presented[0] == "bearer"
    if bearer and presented[1] and guard is not None and (too_many := guard.token_refusal(request)) is not None:
        return too_many
    viewer = identify(service, *presented) if presented else None
    held = viewer.roles if viewer else frozenset()
    if held & set(roles):
        request.environ[VIEWER] = viewer
        return None
    if bearer and presented[1] and not held and guard is not None:  # guessing tokens; a session that ended is no guess
        guard.token_failed(request)
    if presented is None:
        status, message = 401, "This endpoint needs a token: Authorization: Bearer <token>."
    elif not held:
        status, message = 401, "The token is not valid."
    else:
        status, message = 403, f"This token may not use this endpoint (it needs the {' or '.join(roles)} role)."
        request.environ[VIEWER] = viewer  # the refusal page shows them what they may open
    if request.path.startswith("/staff/") and hasattr(service, "auth_refused_page"):
        return service.auth_refused_page(request, status, roles, held)
    headers = {"WWW-Authenticate": 'Bearer realm="staff", error="invalid_token"'} if status == 401 else None
    return json_response(error_body("unauthorized" if status == 401 else "forbidden", message), status, headers)


def require(*roles: str, open_when=None):
    """Decorate an HTTP entrypoint of the gateway: only a token holding one of `roles` may use it
    (401 without a valid token, 403 with one of another role). `open_when(config)` true: the
    route is open to all (how /metrics stays scrapeable by default). The roles are kept on the
    function as `required_roles` (tests enumerate every route with them)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require() needs roles out of {ROLES}, not {roles!r}")

    def decorate(handler):
        @wraps(handler)
        def wrapper(self, request, *args, **kwargs):
            if open_when is None or not open_when(self.config):
                refused = refusal(self, request, roles)
                if refused is not None:
                    return refused
            return handler(self, request, *args, **kwargs)

        wrapper.required_roles = frozenset(roles)
        return wrapper

    return decorate


def required_roles(handler) -> frozenset[str]:
    """The roles an entrypoint method was declared with (empty: public)."""
    return frozenset(getattr(handler, "required_roles", ()))
