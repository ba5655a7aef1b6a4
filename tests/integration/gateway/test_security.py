"""The gateway's protection against the real platform, route by route.

Every route is enumerated from GatewayService's @http entrypoints (its mixins' too), not from a
hand-kept list: a route that is not on the explicit allow-list of public paths must declare its
roles, and answers 401 without a (valid) token and 403 with a token of a role that may not use it,
by bearer header and by the staff sign-in cookie. Every form post needs the CSRF token; the
security headers are on every kind of page."""
from __future__ import annotations

import base64
import hashlib
import re

import pytest
import requests
from nameko.web.handlers import HttpRequestHandler

from services.gateway.core.auth import IMPLIES, ROLES, SESSION_COOKIE, required_roles
from services.gateway.core.csrf import sign_csrf
from services.gateway.core.security import GatewayHttp
from services.gateway.service import GatewayService
from tests.conftest import ADMIN_TOKEN, OPS_TOKEN, STAFF_TOKEN
from tests.integration.gateway.support import (
    CSRF_FIELD,
    activity_payload,
    create_account,
    form_post,
    registration_payload,
    sign_in,
)

TOKENS = {"staff": STAFF_TOKEN, "ops": OPS_TOKEN, "admin": ADMIN_TOKEN}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# Every path anyone may use without a token, and why. Nothing under /api/staff.
PUBLIC = {
    "/": "the activity list",
    "/privacy": "the privacy notice",
    "/activities/<activity_id>": "an activity and its registration form",
    "/registrations/<token>/cancel": "the cancel page: the link's secret token is the credential",
    "/requests/new": "the request form",
    "/evaluations/<token>": "the survey: its signed single-use link is the credential",
    "/staff/login": "the sign-in form",
    "/staff/logout": "signing out (drops the cookie)",
    "/static/dashboard.js": "the dashboard's script (no data)",
    "/static/dashboard.css": "the dashboard's style sheet (no data)",
    "/<path:rest>": "unknown pages: 404",
    "/health": "health checks (Docker, Kubernetes, make run)",
    "/api/openapi.json": "the API description",
    "/api/activities": "public activities",
    "/api/activities/<activity_id>": "a public activity",
    "/api/activities/<activity_id>/registrations": "registering",
    "/api/registrations/<token>": "a registration by its cancel link's secret token",
    "/api/registrations/<token>/cancel": "cancelling by that token",
    "/api/requests": "the request form as JSON",
    "/api/alerts/alertmanager": "Alertmanager's webhook: its own token (AUTH.ALERTMANAGER_TOKEN_SHA256)",
    "/api/<path:rest>": "unknown API paths: 404 or 405",
}


# What a staff page answers a role that may use it, when the address names nothing usable: a year
# that is not one (400), a mail or activity that does not exist (404). Anything else is a success.
PAGE_CLIENT_ERRORS = {400, 404}


def entrypoints() -> list[tuple[str, tuple[str, ...], object, frozenset]]:
    """(url, methods, handler, roles) of every @http entrypoint of the gateway."""
    found = []
    for name in dir(GatewayService):
        method = getattr(GatewayService, name)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler):
                methods = tuple(sorted(m.strip().upper() for m in entrypoint.method.split(",")))
                found.append((entrypoint.url, methods, entrypoint, required_roles(method)))
    return sorted(found, key=lambda item: item[0])


def concrete(url: str) -> str:
    """A path that the route matches (any value for its parameters)."""
    url = re.sub(r"<int:[^>]+>", "1", url)
    url = re.sub(r"<path:[^>]+>", "no/such/thing", url)
    return re.sub(r"<[^>]+>", "x", url)


@pytest.fixture
def gateway_config(platform_config):
    platform_config["GATEWAY"]["HEALTH_TIMEOUT_SECONDS"] = 1
    platform_config["AUTH"]["METRICS_PUBLIC"] = False  # so /metrics is checked as the ops route it then is
    return platform_config


def test_the_allow_list_of_public_paths_is_explicit_and_everything_else_declares_its_roles():
    routes = entrypoints()
    urls = {url for url, *_ in routes}
    assert len(routes) > 50
    assert set(PUBLIC) <= urls, f"stale public paths: {set(PUBLIC) - urls}"
    assert not [path for path in PUBLIC if path.startswith("/api/staff")]
    for url, _, entrypoint, roles in routes:
        # every route passes the gateway's screening (CSRF, rate limits, headers)
        assert isinstance(entrypoint, GatewayHttp), f"{url} is not declared with services.gateway.core.security.http"
        if url in PUBLIC:
            assert not roles, f"{url} is on the public allow-list but requires {set(roles)}"
        else:
            assert roles and roles <= set(ROLES), f"{url} is neither public nor declares its roles"
        if url.startswith("/api/staff") or url.startswith("/api/kpis"):
            assert roles, url
    # the public writes that take a rate limit (the others: a token of their own, or nothing to store)
    limited = {(url, entrypoint.rate_limit) for url, methods, entrypoint, roles in routes
               if not roles and set(methods) & UNSAFE}
    assert limited == {
        ("/activities/<activity_id>", "public"), ("/registrations/<token>/cancel", "public"),
        ("/requests/new", "public"), ("/evaluations/<token>", "public"), ("/staff/login", "login"),
        ("/api/activities/<activity_id>/registrations", "public"), ("/api/registrations/<token>/cancel", "public"),
        ("/api/requests", "public"),
        ("/staff/logout", None), ("/api/alerts/alertmanager", None), ("/<path:rest>", None),
        ("/api/<path:rest>", None),
    }


@pytest.mark.usefixtures("platform")
def test_every_protected_route_refuses_anonymous_invalid_and_wrong_role_tokens(gateway_url):
    session = requests.Session()
    login = session.get(f"{gateway_url}/staff/login", timeout=10)  # a CSRF token, for page forms
    csrf = CSRF_FIELD.search(login.text)[1]
    problems, checked = [], 0
    # a signed-in browser of each role: its session cookie
    session_of = {role: sign_in(gateway_url, create_account(gateway_url, role)["email"]).cookies[SESSION_COOKIE]
                  for role in ROLES}

    def call(method, path, bearer=None, cookie=None):
        headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
        cookies = {"csrf": session.cookies["csrf"]}
        if cookie is not None:
            cookies[SESSION_COOKIE] = cookie
        kwargs = {"json": {}} if path.startswith("/api/") and method in UNSAFE else {}
        if method in UNSAFE and not path.startswith("/api/"):
            kwargs = {"data": {"csrf_token": csrf}}
        return requests.request(method, f"{gateway_url}{path}", headers=headers, cookies=cookies,
                                allow_redirects=False, timeout=15, **kwargs)

    def expect(answer, statuses, what):
        if answer.status_code not in statuses:
            problems.append(f"{what}: {answer.status_code}, expected {statuses}")

    documented = requests.get(f"{gateway_url}/api/openapi.json", timeout=10).json()["paths"]

    def expect_served(answer, method, url, what):
        """A role that may use the route gets a success, or a client error the route documents
        (the API: one of its OpenAPI responses, as a JSON error; a page: PAGE_CLIENT_ERRORS)."""
        status = answer.status_code
        if 200 <= status < 400:
            return
        if url.startswith("/api/"):
            operation = documented.get(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", url), {}).get(method.lower(), {})
            ok = (400 <= status < 500 and status not in (401, 403) and str(status) in operation.get("responses", {})
                  and answer.headers.get("Content-Type", "").startswith("application/json")
                  and isinstance(answer.json().get("error"), str))
        else:
            ok = status in PAGE_CLIENT_ERRORS
        if not ok:
            problems.append(f"{what}: {status} is neither a success nor a documented client error: {answer.text[:200]}")

    for url, methods, _, roles in entrypoints():
        if not roles:
            continue
        path = concrete(url)
        api = path.startswith("/api/")
        may = {role for role in ROLES if IMPLIES[role] & roles}
        may_not = set(ROLES) - may
        assert "admin" in may, url  # admin may do everything
        for method in methods:
            what = f"{method} {url}"
            checked += 1
            anonymous = call(method, path)
            expect(anonymous, {401}, f"{what} without a token")
            if not url.startswith("/staff/"):  # JSON (the API, /metrics)
                if anonymous.headers.get("Content-Type", "").startswith("application/json"):
                    expect(anonymous, {401}, what)
                    if anonymous.json().get("error") != "unauthorized":
                        problems.append(f"{what}: anonymous error {anonymous.json()}")
                else:
                    problems.append(f"{what}: anonymous answer is not JSON")
                if not anonymous.headers.get("WWW-Authenticate", "").startswith("Bearer"):
                    problems.append(f"{what}: no WWW-Authenticate on 401")
            elif 'action="/staff/login"' not in anonymous.text:  # a staff page
                problems.append(f"{what}: the 401 page does not offer the sign-in form")
            expect(call(method, path, bearer="not-a-token"), {401}, f"{what} with an invalid bearer token")
            for role in sorted(may_not):
                wrong = call(method, path, bearer=TOKENS[role])
                expect(wrong, {403}, f"{what} with a {role} token")
                if not url.startswith("/staff/") and wrong.status_code == 403 and wrong.json()["error"] != "forbidden":
                    problems.append(f"{what}: 403 error {wrong.json()}")
            for role in sorted(may):  # admin among them
                expect_served(call(method, path, bearer=TOKENS[role]), method, url, f"{what} with a {role} token")
            if method in ("GET", "HEAD") or not api:  # the sign-in cookie reads, and posts pages' forms
                expect(call(method, path, cookie="not-a-token"), {401}, f"{what} with an invalid cookie")
                for role in sorted(may_not):
                    expect(call(method, path, cookie=session_of[role]), {403}, f"{what} with a {role} cookie")
                expect_served(call(method, path, cookie=session_of[sorted(may)[0]]), method, url,
                              f"{what} with the sign-in cookie of an allowed role")
            else:  # never a JSON write on the cookie alone
                expect(call(method, path, cookie=session_of["admin"]), {401}, f"{what} with only the sign-in cookie")
    assert checked >= 40
    assert problems == []


# ------------------------------------------------------------------ CSRF


def registrations(gateway_url, staff_headers, activity_id) -> list:
    answer = requests.get(f"{gateway_url}/api/staff/activities/{activity_id}/registrations", headers=staff_headers,
                          timeout=10)
    return answer.json()


def form(**overrides) -> dict:
    return {"name": "Ann Peeters", "email": "ann@example.org", "organisation": "individual",
            "privacy_consent": "yes", **overrides}


@pytest.mark.usefixtures("platform")
def test_every_form_post_needs_the_signed_token_from_our_own_site(gateway_url, staff_headers):
    activity = requests.post(f"{gateway_url}/api/staff/activities", json=activity_payload(capacity=10),
                             headers=staff_headers, timeout=10).json()
    url = f"{gateway_url}/activities/{activity['activity_id']}"
    browser = requests.Session()
    page = browser.get(f"{url}?lang=en", timeout=10)
    (cookie,) = [c for c in page.raw.headers.getlist("Set-Cookie") if c.startswith("csrf=")]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert attributes == {"httponly", "samesite", "path"} and "SameSite=Strict" in cookie and "Path=/" in cookie
    # (under https also Secure: tests/unit/gateway/test_security.py)
    token = CSRF_FIELD.search(page.text)[1]
    value = browser.cookies["csrf"]
    assert token.split(".")[0] == value

    def post(data, cookies=None, headers=None):
        return requests.post(f"{url}?lang=en", data=data, timeout=10, headers=headers or {},
                             cookies={"csrf": value} if cookies is None else cookies)

    refused = {
        "no token, no cookie": post(form(), cookies={}),
        "a token, no cookie": post(form(csrf_token=token), cookies={}),
        "a cookie, no token": post(form()),
        "a token of another cookie": post(form(csrf_token=token), cookies={"csrf": "A" * 43}),
        "a token signed with another key": post(form(csrf_token=sign_csrf(b"another key", value))),
        "a token without its signature": post(form(csrf_token=value)),
        "posted from another site (Origin)": post(form(csrf_token=token), headers={"Origin": "https://evil.example"}),
        "posted from another site (Sec-Fetch-Site)": post(form(csrf_token=token),
                                                          headers={"Sec-Fetch-Site": "cross-site"}),
    }
    for what, answer in refused.items():
        assert answer.status_code == 403, what
        assert "Your form was not sent" in answer.text and "Nothing was saved" in answer.text, what
        assert f'href="/activities/{activity["activity_id"]}?lang=en"' in answer.text, what  # back to the form
    assert registrations(gateway_url, staff_headers, activity["activity_id"]) == []

    assert post(form(csrf_token=token, email="a@example.org"), headers={"Origin": gateway_url}).status_code == 201
    # Referrer-Policy no-referrer makes a browser send "Origin: null" for our own forms: the token decides
    assert post(form(csrf_token=token, email="b@example.org"), headers={"Origin": "null"}).status_code == 201
    assert post(form(csrf_token=token, email="c@example.org"),
                headers={"Sec-Fetch-Site": "same-origin"}).status_code == 201
    assert len(registrations(gateway_url, staff_headers, activity["activity_id"])) == 3
    assert form_post(url, form(email="d@example.org")).status_code == 201  # the test helper does it right


@pytest.mark.usefixtures("platform")
def test_every_page_route_that_takes_a_post_refuses_it_without_the_token(gateway_url):
    posted = 0
    for url, methods, _, _ in entrypoints():
        if url.startswith("/api/") or not set(methods) & UNSAFE:
            continue
        for method in sorted(set(methods) & UNSAFE):
            answer = requests.request(method, f"{gateway_url}{concrete(url)}", data={"x": "1"}, timeout=10,
                                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            assert answer.status_code == 403 and "Je formulier is niet verstuurd" in answer.text, url
            posted += 1
    assert posted >= 7


@pytest.mark.usefixtures("platform")
def test_the_json_api_takes_json_not_what_a_cross_site_form_sends(gateway_url, staff_headers):
    activity = requests.post(f"{gateway_url}/api/staff/activities", json=activity_payload(),
                             headers=staff_headers, timeout=10).json()
    url = f"{gateway_url}/api/activities/{activity['activity_id']}/registrations"
    body = '{"name": "Ann", "email": "ann@example.org", "privacy_consent": true}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        answer = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=10)
        assert answer.status_code == 415 and answer.json()["error"] == "unsupported_media_type", content_type
    assert registrations(gateway_url, staff_headers, activity["activity_id"]) == []
    sent = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert sent.status_code == 201, sent.text


# ------------------------------------------------------------------ headers


def styles_hashed(html: str, policy: str) -> bool:
    for css in re.findall(r"<style(?:\s[^>]*)?>(.*?)</style>", html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
        if f"'sha256-{digest}'" not in policy:
            return False
    return True


@pytest.mark.usefixtures("platform")
def test_security_headers_on_every_kind_of_page_and_answer(gateway_url, staff_headers, ops_headers):
    activity = requests.post(f"{gateway_url}/api/staff/activities", json=activity_payload(),
                             headers=staff_headers, timeout=10).json()
    registered = requests.post(f"{gateway_url}/api/activities/{activity['activity_id']}/registrations",
                               json=registration_payload(), timeout=10).json()
    pages = {
        "activity list": requests.get(f"{gateway_url}/", timeout=10),
        "privacy": requests.get(f"{gateway_url}/privacy", timeout=10),
        "activity and its form": requests.get(f"{gateway_url}/activities/{activity['activity_id']}", timeout=10),
        "cancel page": requests.get(f"{gateway_url}/registrations/{registered['cancel_token']}/cancel", timeout=10),
        "request form": requests.get(f"{gateway_url}/requests/new", timeout=10),
        "survey link problem": requests.get(f"{gateway_url}/evaluations/not-a-link", timeout=10),
        "not found": requests.get(f"{gateway_url}/no/such/page", timeout=10),
        "csrf refusal": requests.post(f"{gateway_url}/requests/new", data={}, timeout=10),
        "staff sign-in": requests.get(f"{gateway_url}/staff/login", timeout=10),
        "staff sign-in (401)": requests.get(f"{gateway_url}/staff/mail", timeout=10),
        "wrong role (403)": requests.get(f"{gateway_url}/staff/mail", headers=staff_headers, timeout=10),
        "captured mail": requests.get(f"{gateway_url}/staff/mail", headers=ops_headers, timeout=10),
        "annual report": requests.get(f"{gateway_url}/staff/reports/annual/2026", headers=staff_headers, timeout=10),
    }
    for kind, answer in pages.items():
        headers = answer.headers
        assert headers["Content-Type"].startswith("text/html"), kind
        policy = headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "script-src 'none'", "frame-ancestors 'none'", "form-action 'self'",
                          "base-uri 'none'", "object-src 'none'"):
            assert directive in policy, (kind, directive)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, kind
        assert styles_hashed(answer.text, policy), f"{kind}: a <style> whose hash the policy does not allow"
        assert "<script" not in answer.text and not re.search(r"\sstyle=", answer.text), kind
        assert headers["X-Content-Type-Options"] == "nosniff", kind
        assert headers["Referrer-Policy"] == "no-referrer", kind
        assert headers["X-Frame-Options"] == "DENY", kind
        assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]
        assert headers["Cache-Control"] == "no-store", kind
        assert "Strict-Transport-Security" not in headers, kind  # http here
    assert pages["cancel page"].status_code == 200 and pages["annual report"].status_code == 200
    assert pages["captured mail"].status_code == 200 and pages["csrf refusal"].status_code == 403

    data = {
        "JSON": requests.get(f"{gateway_url}/api/activities", timeout=10),
        "JSON error": requests.get(f"{gateway_url}/api/staff/activities", timeout=10),
        "health": requests.get(f"{gateway_url}/health", timeout=10),
        "CSV": requests.get(f"{gateway_url}/api/kpis/annual/2026/report.csv", headers=staff_headers, timeout=10),
        "metrics": requests.get(f"{gateway_url}/metrics", headers=ops_headers, timeout=10),
    }
    for kind, answer in data.items():
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'"), kind
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], kind
        assert answer.headers["X-Content-Type-Options"] == "nosniff", kind
        assert answer.headers["X-Frame-Options"] == "DENY", kind
        assert answer.headers["Cache-Control"] == "no-store", kind
    assert data["CSV"].status_code == 200 and data["metrics"].status_code == 200
