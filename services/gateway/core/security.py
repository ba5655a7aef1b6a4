"""What every request to the gateway goes through, before and after its entrypoint.

Every HTTP entrypoint of the gateway is declared with this module's `http` (a subclass of
nameko's HttpRequestHandler), so no route can miss it; tests/integration/gateway/test_security.py
checks that. Before the entrypoint runs:

- **Body size.** A body longer than GATEWAY.LIMITS.MAX_BODY_BYTES (or the route's `max_body`) is
  answered 413 from its Content-Length, before it is read, and the connection closed
  (services.gateway.core.server has the other limits: timeouts, keep-alive, connections).
- **Rate limits of public writes.** A route declared `@http(..., rate_limit="public")` or
  `"login"` takes one token per POST (PUT, PATCH, DELETE) from the client IP's bucket
  (GATEWAY.RATE_LIMIT; in the memory of this gateway process, so per replica). An empty bucket
  answers 429 with Retry-After and nothing reaches a service. `"health"` counts every request
  (GET too). A wrong staff token takes from the client's sign-in bucket (services.gateway.core.auth).
  An IPv6 client's bucket is its /64.
- **CSRF on every form post.** Each HTML page with a form carries a signed double-submit token
  (services.gateway.core.csrf): a random value in the `csrf` cookie (HttpOnly, SameSite=Strict,
  Secure under https) and, in a hidden field, the same value with its HMAC under
  GATEWAY.CSRF_SECRET. Every POST (PUT, PATCH, DELETE) to a page (anything not under /api/) must
  carry both, matching, or it is answered 403 (a page that says what to do) and nothing is stored.
  So is a form post whose Origin (or Sec-Fetch-Site) names another site.
- **The JSON API takes JSON only.** A write under /api/ with a body whose Content-Type is one a
  plain HTML form can send cross-site (urlencoded, multipart, text/plain) is answered 415. A POST with
  `Content-Type: application/json` is not a form: a browser sends it cross-site only after a
  CORS preflight, which the gateway never grants, so the JSON API needs no CSRF token. (Nor does
  a staff token travel with a cross-site request: the bearer header is never sent by a browser
  on its own, and the sign-in cookie is SameSite=Strict and not accepted for JSON writes.)

After it, every answer gets the security headers (Content-Security-Policy without inline
scripts, nosniff, Referrer-Policy no-referrer, X-Frame-Options DENY, Permissions-Policy,
`Cache-Control: no-store` unless the route chose otherwise, HSTS when PUBLIC_BASE_URL is https),
and the `csrf` cookie when a page handed out a new token.
"""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import eventlet
from nameko.extensions import SharedExtension
from nameko.web.handlers import HttpRequestHandler

from services.gateway.core.auth import AUTH_GUARD, refuse_known_digests
from services.gateway.core.csrf import (
    CSRF_COOKIE,
    CSRF_ENVIRON,
    CSRF_FIELD,
    CsrfContext,
    csrf_key,
    csrf_valid,
)
from services.gateway.core.errors import error_body
from services.gateway.core.http import json_response
from services.gateway.core.pages import Page, template_files
from services.gateway.core.server import CLOSE_CONNECTION, GatewayWebServer
from services.gateway.core.urls import masked, site_path

log = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# what a plain HTML form (no JavaScript, no CORS preflight) can send to another site
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
RATE_LIMITS = ("public", "login", "health")
READ_LIMITS = frozenset({"health"})  # limits that count every request, not just writes
DEFAULT_RATE_LIMIT = {"PER_MINUTE": 30, "BURST": 10, "LOGIN_PER_MINUTE": 5, "LOGIN_BURST": 5,
                      "HEALTH_PER_MINUTE": 300, "HEALTH_BURST": 30, "TRUSTED_PROXIES": 0}

# --- settings ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    public_origin: str | None  # scheme://host[:port] of PUBLIC_BASE_URL
    https: bool
    limits: dict  # rate limit name -> (per minute, burst); a 0 in either: no limit
    trusted_proxies: int  # X-Forwarded-For hops to trust for the client IP (0: the peer's address)


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of a URL, as a browser writes it in an Origin header (default port left out)."""
    if not url:
        return None
    parts = urlsplit(str(url).strip())
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _number(value, default: float) -> float:
    try:
        return max(0.0, float(value if value not in (None, "") else default))
    except (TypeError, ValueError):
        log.error("GATEWAY.RATE_LIMIT: %r is not a number; %s is used", value, default)
        return float(default)


def settings_from_config(config: dict) -> Settings:
    gateway = config.get("GATEWAY") or {}
    limits = {**DEFAULT_RATE_LIMIT, **(gateway.get("RATE_LIMIT") or {})}
    base = str(config.get("PUBLIC_BASE_URL") or "")
    return Settings(
        public_origin=origin_of(base),
        https=base.lower().startswith("https://"),
        limits={
            "public": (_number(limits["PER_MINUTE"], 30), _number(limits["BURST"], 10)),
            "login": (_number(limits["LOGIN_PER_MINUTE"], 5), _number(limits["LOGIN_BURST"], 5)),
            "health": (_number(limits["HEALTH_PER_MINUTE"], 300), _number(limits["HEALTH_BURST"], 30)),
        },
        trusted_proxies=int(_number(limits["TRUSTED_PROXIES"], 0)),
    )


# --- where a form post comes from ----------------------------------------------------------------------------


def same_site_post(request, settings: Settings) -> bool:
    """False when the browser says the form was sent from another site.

    `Origin: null` is let through: with Referrer-Policy no-referrer (our pages' policy) a browser
    sends exactly that for a form posted from our own page. The CSRF token still decides."""
    fetch_site = (request.headers.get("Sec-Fetch-Site") or "").lower()
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return False
    origin = (request.headers.get("Origin") or "").strip()
    if not origin or origin == "null":
        return True
    own = {settings.public_origin, origin_of(request.host_url)}
    return origin_of(origin) in own


def sent_mimetype(request) -> str | None:
    """The Content-Type the client sent (None: none). eventlet's server fills in text/plain for a
    request without one, which a browser's form never is; its raw headers tell them apart."""
    raw = request.environ.get("headers_raw")
    if raw is None:  # not eventlet's server (a unit test)
        return request.mimetype or None
    for name, value in raw:
        if name.strip().lower() == "content-type":
            return value.split(";", 1)[0].strip().lower() or None
    return None


# --- rate limits: a token bucket per client IP ---------------------------------------------------------------


class TokenBuckets:
    """`burst` requests at once, then `per_minute` a minute, per key (the client IP)."""

    MAX_KEYS = 50_000  # beyond: buckets that have filled up again are forgotten

    def __init__(self, per_minute: float, burst: float, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self.enabled = per_minute > 0 and burst > 0
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go; else the seconds until it may (nothing is taken)."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, when = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - when) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > self.MAX_KEYS:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def wait(self, key: str) -> float:
        """The seconds until `key` may go again (0: now), taking nothing."""
        if not self.enabled:
            return 0.0
        with self._lock:
            tokens, when = self._buckets.get(key, (self.burst, self.clock()))
        tokens = min(self.burst, tokens + (self.clock() - when) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        for key, (tokens, when) in list(self._buckets.items()):
            if tokens + (now - when) * self.rate >= self.burst:
                del self._buckets[key]


def bucket_key(address: str) -> str:
    """The rate-limit bucket of a client address: an IPv6 client's /64 (one subscriber's network:
    a single machine may use any of its 2^64 addresses), an IPv4 client's address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def client_ip(request, trusted_proxies: int) -> str:
    """The client's address: the peer's, or with `trusted_proxies` proxies in front of the gateway
    the address the outermost trusted proxy saw (X-Forwarded-For, counted from the right)."""
    peer = request.remote_addr or "unknown"
    if trusted_proxies <= 0:
        return peer
    hops = [hop.strip() for hop in (request.headers.get("X-Forwarded-For") or "").split(",") if hop.strip()]
    if len(hops) >= trusted_proxies:
        return hops[-trusted_proxies]
    return hops[0] if hops else peer


# --- response headers ----------------------------------------------------------------------------------------

_STYLE = re.compile(r"<style(?:\s[^>]*)?>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_page_policy: str | None = None

PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
# JSON, CSV, metrics: nothing in them may run or be framed
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def style_hashes() -> list[str]:
    """CSP hashes of every <style> element of the gateway's templates: the pages' CSS stays in the
    templates, yet no inline style other than these may apply (and no inline script at all)."""
    found = []
    for source in (path.read_text(encoding="utf-8") for path in template_files()):
        for css in _STYLE.findall(source):
            digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
            if f"'sha256-{digest}'" not in found:
                found.append(f"'sha256-{digest}'")
    return found


def page_policy() -> str:
    """The Content-Security-Policy of the HTML pages."""
    global _page_policy
    if _page_policy is None:
        _page_policy = "; ".join([
            "default-src 'self'", "script-src 'none'", "object-src 'none'", "base-uri 'none'",
            "style-src 'self' " + " ".join(style_hashes()), "img-src 'self' data:",
            "form-action 'self'", "frame-ancestors 'none'",
        ])
    return _page_policy


def apply_headers(response, settings: Settings) -> None:
    """The security headers every answer gets (a route's own Content-Security-Policy or
    Cache-Control wins)."""
    headers = response.headers
    html = response.mimetype == "text/html"
    headers.setdefault("Content-Security-Policy", page_policy() if html else DATA_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"  # cancel and survey links carry secrets in their URL
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers.setdefault("Cache-Control", "no-store")  # pages with tokens or personal data; JSON
    if html:
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if settings.https:
        headers["Strict-Transport-Security"] = "max-age=31536000"


# --- the handler ---------------------------------------------------------------------------------------------


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class GatewaySecurity(SharedExtension):
    """Per gateway process: the settings, the CSRF key and the rate-limit buckets."""

    def setup(self):
        config = self.container.config
        refuse_known_digests(config)  # before serving a single request
        self.settings = settings_from_config(config)
        self.key = csrf_key(config)
        self.buckets = {name: TokenBuckets(*self.settings.limits[name]) for name in RATE_LIMITS}

    def screen(self, request, rate_limit: str | None, form_page: bool = True):
        """The refusal of a request that may not reach its entrypoint, or None. `form_page`: GET on
        the same URL shows the form again (the refusal page links to it)."""
        request.environ[CSRF_ENVIRON] = CsrfContext(self.key, request.cookies.get(CSRF_COOKIE))
        request.environ[AUTH_GUARD] = self  # core.auth: token failures share the sign-in bucket
        if rate_limit is not None and (request.method in UNSAFE_METHODS or rate_limit in READ_LIMITS):
            wait = self.buckets[rate_limit].take(self._client(request))
            if wait:
                log.warning("rate limit %s: %s %s refused", rate_limit, request.method, masked(request.path))
                return self._too_many(request, wait, form_page and request.method in UNSAFE_METHODS,
                                      json_answer=rate_limit in READ_LIMITS)
        if request.method not in UNSAFE_METHODS:
            return None
        if _is_api(request.path):
            if sent_mimetype(request) in FORM_CONTENT_TYPES and request.get_data(cache=True).strip():
                return json_response(error_body(
                    "unsupported_media_type", "The JSON API takes Content-Type: application/json."), 415)
            return None
        if not same_site_post(request, self.settings):
            log.warning("form post from another site refused: %s %s", request.method, masked(request.path))
            return self._csrf_refused(request, form_page)
        if not csrf_valid(self.key, request.cookies.get(CSRF_COOKIE), request.form.get(CSRF_FIELD)):
            log.info("form post without a valid CSRF token refused: %s %s", request.method, masked(request.path))
            return self._csrf_refused(request, form_page)
        return None

    def _client(self, request) -> str:
        return bucket_key(client_ip(request, self.settings.trusted_proxies))

    def token_refusal(self, request):
        """429 while this client has used up the sign-in bucket (wrong tokens, sign-in attempts),
        before its token is even looked at; else None."""
        wait = self.buckets["login"].wait(self._client(request))
        if not wait:
            return None
        log.warning("rate limit login: %s %s with a token refused", request.method, masked(request.path))
        return self._too_many(request, wait, form_page=False)

    def token_failed(self, request) -> None:
        """A wrong token takes from the client's sign-in bucket, as a sign-in attempt does."""
        self.buckets["login"].take(self._client(request))

    def finish(self, request, response) -> None:
        apply_headers(response, self.settings)
        context = request.environ.get(CSRF_ENVIRON)
        if context is not None and context.new and context.used:
            response.set_cookie(CSRF_COOKIE, context.value, path="/", httponly=True, samesite="Strict",
                                secure=self.settings.https)

    @staticmethod
    def _back(page, request, form_page: bool) -> dict:
        if not form_page:
            return {}
        query = request.query_string.decode("latin-1")
        return {"back_url": site_path(request.path) + (f"?{query}" if query else ""),
                "back_label": page.t("form_again")}

    @classmethod
    def _too_many(cls, request, wait: float, form_page: bool, json_answer: bool = False):
        retry = {"Retry-After": str(max(1, math.ceil(wait)))}
        if json_answer or _is_api(request.path):
            return json_response(error_body(
                "rate_limited", "Too many requests from your address: try again in a moment."), 429, retry)
        page = Page(request)
        response = page.message("too_many_title", [page.t("too_many_text")], 429, **cls._back(page, request, form_page))
        response.headers.update(retry)
        return response

    @classmethod
    def _csrf_refused(cls, request, form_page: bool):
        page = Page(request)
        return page.message("csrf_title", [page.t("csrf_text")], 403, **cls._back(page, request, form_page))


class GatewayHttp(HttpRequestHandler):
    """nameko's @http with the gateway's protection around every request (see the module's doc).

    `rate_limit`: None, "public" (registration, cancel, request intake, survey answers),
    "login" (the staff sign-in; a stricter bucket) or "health" (/health: every request counts)."""

    security = GatewaySecurity()
    server = GatewayWebServer()

    def __init__(self, method, url, rate_limit: str | None = None, max_body: int | None = None, **kwargs):
        if rate_limit is not None and rate_limit not in RATE_LIMITS:
            raise ValueError(f"rate_limit must be one of {RATE_LIMITS}, not {rate_limit!r}")
        self.rate_limit = rate_limit
        self.max_body = max_body  # None: GATEWAY.LIMITS.MAX_BODY_BYTES; more only for a route that needs it
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.shallow = False
        unread = self._body_refusal(request) or self._read_body(request)
        if unread is not None:
            self.security.finish(request, unread)
            return unread
        try:
            form_page = "GET" in {method.strip().upper() for method in self.method.split(",")}
            refused = self.security.screen(request, self.rate_limit, form_page)
        except Exception:  # noqa: BLE001 - a broken check must refuse, not let through
            log.exception("request screening failed")
            refused = json_response(error_body("internal_error", "Something went wrong on our side."), 500)
        response = refused if refused is not None else super().handle_request(request)
        self.security.finish(request, response)
        return response

    def _read_body(self, request):
        """Read the body (at most the route's limit, see _body_refusal) before the entrypoint runs,
        within GATEWAY.LIMITS.READ_TIMEOUT_SECONDS in all: a client that stops sending, or trickles,
        gets 408 and the connection is closed. The handler finds the body read (werkzeug's cache)."""
        if not request.content_length:
            return None
        try:
            with eventlet.Timeout(self.server.limits.read_timeout) as deadline:
                request.get_data(cache=True)
            return None
        except eventlet.Timeout as timeout:
            if timeout is not deadline:
                raise
        except OSError:  # the socket's own read timeout, or the client went away
            pass
        request.environ.get(CLOSE_CONNECTION, lambda: None)()
        log.info("request body not received in time: %s %s", request.method, masked(request.path))
        return json_response(error_body("request_timeout", "The request body did not arrive in time."), 408)

    def _body_refusal(self, request):
        """413 for a body longer than this route takes, 411 for one of unknown length, decided
        from the headers alone; the connection is then closed, so the body is never read."""
        chunked = "chunked" in (request.headers.get("Transfer-Encoding") or "").lower()
        limit = self.max_body or self.server.limits.max_body
        if not chunked and (request.content_length or 0) <= limit:
            return None
        request.environ.get(CLOSE_CONNECTION, lambda: None)()
        if chunked:
            return json_response(error_body("length_required", "Send the body with a Content-Length."), 411)
        log.warning("request body of %s bytes refused: %s %s", request.content_length, request.method,
                    masked(request.path))
        if not _is_api(request.path):  # a form: a page in the visitor's language
            page = Page(request)
            return page.message("too_large_title", [page.t("too_large_text")], 413)
        return json_response(error_body(
            "payload_too_large", f"The request body may be at most {limit} bytes."), 413)


http = GatewayHttp.decorator
