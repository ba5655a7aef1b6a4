"""The CSRF token of the gateway's HTML forms: a signed double submit.

A random value in the `csrf` cookie (HttpOnly, SameSite=Strict, Secure under https) and, in a
hidden field of each form, the same value with its HMAC under GATEWAY.CSRF_SECRET. The pages put
the field in their forms (services.gateway.core.pages); services.gateway.core.security checks
every form post against the cookie and sets the cookie when a page handed out a new value.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from kernel.config import ROOT, secret_key

CSRF_COOKIE = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_ENVIRON = "gateway.csrf"
CSRF_KEY_FILE = ROOT / "var" / "csrf.key"
_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 random bytes, base64url without padding


def csrf_key(config: dict) -> bytes:
    """GATEWAY.CSRF_SECRET, or (not configured: the embedded default) a random key kept in
    var/csrf.key, made on first use. Every gateway replica must share it."""
    return secret_key(config, "GATEWAY", "CSRF_SECRET", CSRF_KEY_FILE)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_csrf_value() -> str:
    return _b64(secrets.token_bytes(32))


def sign_csrf(key: bytes, value: str) -> str:
    """The form field for cookie value `value`: the value and its HMAC under the gateway's key."""
    return f"{value}.{_b64(hmac.new(key, b'csrf:' + value.encode('ascii'), hashlib.sha256).digest())}"


def csrf_valid(key: bytes, cookie_value: str | None, submitted: str | None) -> bool:
    """The field signs exactly the cookie's value, under our key (both compared in constant time)."""
    if not cookie_value or not submitted or not _VALUE.match(cookie_value) or submitted.count(".") != 1:
        return False
    value, _, _ = submitted.partition(".")
    if not _VALUE.match(value):
        return False
    return hmac.compare_digest(value, cookie_value) & hmac.compare_digest(sign_csrf(key, value), submitted)


class CsrfContext:
    """The CSRF value of one request: the cookie's, or a new one to set when a page used it."""

    def __init__(self, key: bytes, cookie_value: str | None):
        self.key = key
        valid_cookie = bool(cookie_value) and bool(_VALUE.match(cookie_value))
        self.value = cookie_value if valid_cookie else new_csrf_value()
        self.new = not valid_cookie
        self.used = False

    def token(self) -> str:
        self.used = True
        return sign_csrf(self.key, self.value)


def csrf_token(request) -> str:
    """The hidden field's value for a form on this page ("" when the request did not come through
    the gateway's handler, e.g. a unit test calling an entrypoint method directly)."""
    context = request.environ.get(CSRF_ENVIRON)
    return context.token() if context is not None else ""
