"""The gateway's protection, piece by piece (no broker): roles, the CSRF token, the rate-limit
buckets, the origin checks, the security headers and the CSP hashes of the pages' styles."""
from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from services.gateway.core import csrf, security
from services.gateway.core.auth import SESSION_COOKIE, require, token_roles
from services.gateway.core.csrf import (
    CSRF_ENVIRON,
    CsrfContext,
    csrf_key,
    csrf_valid,
    new_csrf_value,
    sign_csrf,
)
from services.gateway.core.security import (
    TokenBuckets,
    apply_headers,
    client_ip,
    origin_of,
    page_policy,
    same_site_post,
    settings_from_config,
)
from services.gateway.ops.routes import metrics_public
from tests.unit.evaluation.test_survey_page import survey_gateway
from tests.unit.gateway.fakes import FakeAccounts, gateway, request

KEY = b"unit-test-key"
TOKENS = {"staff": "staff-token", "ops": "ops-token", "admin": "admin-token"}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def config(**auth) -> dict:
    return {
        "PUBLIC_BASE_URL": "https://steunpunt.example.org",
        "AUTH": {"STAFF_TOKEN_SHA256": digest(TOKENS["staff"]), "OPS_TOKEN_SHA256": digest(TOKENS["ops"]),
                 "ADMIN_TOKEN_SHA256": f"{digest('old-admin')}, {digest(TOKENS['admin'])}", **auth},
    }


# ------------------------------------------------------------------ roles


def test_each_token_holds_its_role_and_admin_holds_them_all():
    assert token_roles(TOKENS["staff"], config()) == {"staff"}
    assert token_roles(TOKENS["ops"], config()) == {"ops"}
    assert token_roles(TOKENS["admin"], config()) == {"staff", "ops", "admin"}  # the second of two digests
    assert token_roles("old-admin", config()) == {"staff", "ops", "admin"}
    assert token_roles("unknown", config()) == frozenset()
    assert token_roles(None, config()) == frozenset()
    assert token_roles(digest(TOKENS["staff"]), config()) == frozenset()  # the digest is no token


def test_a_malformed_setting_refuses_only_that_role():
    broken = config(OPS_TOKEN_SHA256="not-a-digest")
    assert token_roles(TOKENS["ops"], broken) == frozenset()
    assert token_roles(TOKENS["staff"], broken) == {"staff"}
    assert token_roles(TOKENS["staff"], {"AUTH": {}}) == frozenset()  # nothing configured: nobody


class Service:
    def __init__(self, cfg):
        self.config = cfg
        self.accounts = FakeAccounts()

    @require("ops")
    def ops_only(self, request):
        return Response("secret")

    @require("staff", "ops")
    def either(self, request):
        return Response("ok")

    @require("ops", open_when=metrics_public)
    def metrics(self, request):
        return Response("metrics")


def answer(handler, path="/api/x", method="GET", token=None, cookie=None):
    headers = {"Authorization": f"Bearer {token}"} if token else None
    response = handler(request(method, path, headers=headers, cookies={SESSION_COOKIE: cookie} if cookie else None))
    return response.status_code, response.get_data(as_text=True)


def test_require_answers_401_without_a_valid_token_and_403_for_another_role():
    service = Service(config())
    status, body = answer(service.ops_only)
    assert status == 401 and json.loads(body)["error"] == "unauthorized"
    assert answer(service.ops_only, token="wrong")[0] == 401
    status, body = answer(service.ops_only, token=TOKENS["staff"])
    assert status == 403 and json.loads(body)["error"] == "forbidden" and "ops" in json.loads(body)["message"]
    assert answer(service.ops_only, token=TOKENS["ops"]) == (200, "secret")
    assert answer(service.ops_only, token=TOKENS["admin"]) == (200, "secret")
    assert answer(service.either, token=TOKENS["staff"])[0] == answer(service.either, token=TOKENS["ops"])[0] == 200
    assert Service.ops_only.required_roles == {"ops"} and Service.either.required_roles == {"staff", "ops"}


def test_the_session_cookie_reads_but_never_writes_through_the_json_api():
    service = Service(config())
    assert answer(service.ops_only, cookie="session-ops")[0] == 200
    assert answer(service.ops_only, cookie="session-staff")[0] == 403
    assert answer(service.ops_only, cookie="wrong")[0] == 401
    assert answer(service.ops_only, cookie=TOKENS["ops"])[0] == 401  # a machine token is no session
    assert answer(service.ops_only, method="POST", cookie="session-admin")[0] == 401
    assert answer(service.ops_only, method="POST", token=TOKENS["admin"])[0] == 200
    # a bearer header wins over the cookie, also when it is wrong
    assert answer(service.ops_only, token="wrong", cookie="session-ops")[0] == 401


def test_a_personal_api_token_holds_its_account_role():
    service = Service(config())
    assert answer(service.ops_only, token="personal-ops") == (200, "secret")
    assert answer(service.ops_only, token="personal-staff")[0] == 403
    assert answer(service.ops_only, token="personal-admin")[0] == 200
    assert answer(service.ops_only, token="personal-nobody")[0] == 401


def test_staff_pages_answer_with_the_sign_in_form_or_a_refusal_page():
    service = gateway(config=config())
    status, body = answer(service.staff_mail, path="/staff/mail")
    assert status == 401 and 'action="/staff/login"' in body and 'name="next" value="/staff/mail"' in body
    assert 'name="email"' in body and 'name="password"' in body
    status, body = answer(service.staff_mail, path="/staff/mail", cookie="session-signed-out")
    assert status == 401 and "Je sessie is afgelopen" in body  # a session that ended: sign in again
    status, body = answer(service.staff_mail, path="/staff/mail", cookie="session-staff")
    assert status == 403 and "beheer van het platform" in body and 'action="/staff/logout"' in body


def test_metrics_are_open_by_default_and_need_ops_when_closed():
    assert metrics_public({}) and metrics_public({"AUTH": {"METRICS_PUBLIC": True}})
    assert not metrics_public({"AUTH": {"METRICS_PUBLIC": False}})
    assert not metrics_public({"AUTH": {"METRICS_PUBLIC": "false"}})
    assert answer(Service(config()).metrics)[0] == 200
    closed = Service(config(METRICS_PUBLIC=False))
    assert answer(closed.metrics)[0] == 401
    assert answer(closed.metrics, token=TOKENS["staff"])[0] == 403
    assert answer(closed.metrics, token=TOKENS["ops"])[0] == 200


@pytest.mark.parametrize("roles", [(), ("root",), ("staff", "everyone")])
def test_require_knows_only_the_three_roles(roles):
    with pytest.raises(ValueError):
        require(*roles)


def test_signing_in_sets_an_httponly_strict_session_cookie_secure_under_https():
    service = gateway(config=config())

    def sign_in(**form):
        return service.staff_login(request("POST", "/staff/login", form=form))

    signed_in = sign_in(email="staff@steunpunt.example", password="right password")
    assert signed_in.status_code == 303 and signed_in.headers["Location"].startswith("/staff/reports/annual/")
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=session-staff;")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    ops = sign_in(email="ops@steunpunt.example", password="right password", next="//evil")
    assert ops.headers["Location"] == "/staff/mail"  # not somewhere else
    wrong = sign_in(email="ops@steunpunt.example", password="wrong")
    unknown = sign_in(email="nobody@steunpunt.example", password="right password")
    assert wrong.status_code == unknown.status_code == 401 and "Set-Cookie" not in wrong.headers
    # nothing tells a wrong password from an unknown email (the form keeps what was typed)
    assert wrong.get_data(as_text=True).replace("ops@", "nobody@") == unknown.get_data(as_text=True)


def test_signing_out_revokes_the_session_and_drops_the_cookie():
    service = gateway(config=config())
    signed_out = service.staff_logout(request("POST", "/staff/logout", cookies={SESSION_COOKIE: "session-ops"}))
    assert signed_out.status_code == 303 and service.accounts.signed_out == ["session-ops"]
    assert f"{SESSION_COOKIE}=;" in signed_out.headers["Set-Cookie"]


# ------------------------------------------------------------------ CSRF


def test_the_field_signs_exactly_the_cookie_value_under_our_key():
    value = new_csrf_value()
    field = sign_csrf(KEY, value)
    assert csrf_valid(KEY, value, field)
    assert not csrf_valid(b"another key", value, field)
    assert not csrf_valid(KEY, new_csrf_value(), field)  # another cookie
    assert not csrf_valid(KEY, value, value)  # unsigned
    assert not csrf_valid(KEY, value, field[:-1] + ("A" if field[-1] != "A" else "B"))
    assert not csrf_valid(KEY, value, field + ".x")
    assert not csrf_valid(KEY, None, field) and not csrf_valid(KEY, value, None) and not csrf_valid(KEY, "", "")
    assert not csrf_valid(KEY, "short", sign_csrf(KEY, "short"))  # not a value we make


def test_a_request_keeps_a_valid_cookie_and_gets_a_new_value_otherwise():
    value = new_csrf_value()
    kept = CsrfContext(KEY, value)
    assert kept.value == value and not kept.new and not kept.used
    assert csrf_valid(KEY, value, kept.token()) and kept.used
    fresh = CsrfContext(KEY, "forged<value>")
    assert fresh.new and fresh.value != "forged<value>" and re.fullmatch(r"[A-Za-z0-9_-]{43}", fresh.value)


def test_the_key_comes_from_the_config_or_a_file_made_once(tmp_path, monkeypatch):
    assert csrf_key({"GATEWAY": {"CSRF_SECRET": " s3cret "}}) == b"s3cret"
    monkeypatch.setattr(csrf, "CSRF_KEY_FILE", tmp_path / "var" / "csrf.key")
    made = csrf_key({"GATEWAY": {"CSRF_SECRET": ""}})
    assert len(made) >= 48 and csrf_key({}) == made
    assert oct((tmp_path / "var" / "csrf.key").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("url, origin", [
    ("https://steunpunt.example.org/", "https://steunpunt.example.org"),
    ("https://Steunpunt.Example.org:443/x", "https://steunpunt.example.org"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("http://localhost:80", "http://localhost"),
    ("", None), ("not a url", None),
])
def test_origin_of(url, origin):
    assert origin_of(url) == origin


@pytest.mark.parametrize("headers, allowed", [
    ({}, True),
    ({"Origin": "https://steunpunt.example.org"}, True),
    ({"Origin": "http://gateway.internal:8000"}, True),  # the address the request was sent to
    ({"Origin": "null"}, True),  # what Referrer-Policy no-referrer makes a browser send: the token decides
    ({"Origin": "https://evil.example"}, False),
    ({"Origin": "https://steunpunt.example.org.evil.example"}, False),
    ({"Origin": "http://steunpunt.example.org"}, False),
    ({"Sec-Fetch-Site": "same-origin"}, True),
    ({"Sec-Fetch-Site": "none"}, True),
    ({"Sec-Fetch-Site": "cross-site"}, False),
    ({"Sec-Fetch-Site": "same-site", "Origin": "https://steunpunt.example.org"}, False),
])
def test_form_posts_from_other_sites_are_told_apart(headers, allowed):
    settings = settings_from_config(config())
    posted = request("POST", "/requests/new", headers={"Host": "gateway.internal:8000", **headers})
    assert same_site_post(posted, settings) is allowed


# ------------------------------------------------------------------ rate limits


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_bucket_lets_a_burst_through_then_the_pace_per_minute():
    clock = Clock()
    buckets = TokenBuckets(per_minute=6, burst=3, clock=clock)
    assert [buckets.take("1.2.3.4") for _ in range(3)] == [0, 0, 0]
    wait = buckets.take("1.2.3.4")
    assert wait == pytest.approx(10.0)
    assert buckets.take("5.6.7.8") == 0  # another address, another bucket
    clock.now += 5
    assert buckets.take("1.2.3.4") == pytest.approx(5.0)  # refused again: nothing taken
    clock.now += 5
    assert buckets.take("1.2.3.4") == 0 and buckets.take("1.2.3.4") > 0
    clock.now += 3600
    assert [buckets.take("1.2.3.4") for _ in range(4)][:3] == [0, 0, 0]  # never more than the burst


@pytest.mark.parametrize("per_minute, burst", [(0, 10), (10, 0), (0, 0)])
def test_a_zero_turns_a_limit_off(per_minute, burst):
    buckets = TokenBuckets(per_minute, burst)
    assert all(buckets.take("1.2.3.4") == 0 for _ in range(1000))


def test_full_buckets_are_forgotten_when_there_are_too_many(monkeypatch):
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    monkeypatch.setattr(TokenBuckets, "MAX_KEYS", 10)
    for i in range(10):
        buckets.take(f"10.0.0.{i}")
    clock.now += 10
    buckets.take("10.0.1.1")
    assert len(buckets._buckets) <= 2


def test_the_client_address_trusts_only_the_configured_proxies():
    def from_peer(headers=None):
        from werkzeug.test import EnvironBuilder
        from werkzeug.wrappers import Request

        return Request(EnvironBuilder(method="POST", headers=headers,
                                      environ_overrides={"REMOTE_ADDR": "192.0.2.9"}).get_environ())

    spoofed = from_peer({"X-Forwarded-For": "6.6.6.6, 10.1.1.1"})
    assert client_ip(spoofed, 0) == "192.0.2.9"
    assert client_ip(spoofed, 1) == "10.1.1.1"
    assert client_ip(spoofed, 2) == "6.6.6.6"
    assert client_ip(spoofed, 3) == "6.6.6.6"  # fewer hops than proxies: the outermost one known
    assert client_ip(from_peer(), 1) == "192.0.2.9"


def test_settings_defaults_and_overrides():
    defaults = settings_from_config({"PUBLIC_BASE_URL": "http://127.0.0.1:8000"})
    assert defaults.limits == {"public": (30.0, 10.0), "login": (5.0, 5.0), "health": (300.0, 30.0)}
    assert not defaults.https
    assert defaults.public_origin == "http://127.0.0.1:8000" and defaults.trusted_proxies == 0
    chosen = settings_from_config({"PUBLIC_BASE_URL": "https://x.example", "GATEWAY": {"RATE_LIMIT": {
        "PER_MINUTE": "0", "BURST": 5, "TRUSTED_PROXIES": 1}}})
    assert chosen.https and chosen.limits["public"] == (0.0, 5.0) and chosen.trusted_proxies == 1


# ------------------------------------------------------------------ headers


def test_headers_of_pages_and_data_and_hsts_only_under_https():
    https = settings_from_config(config())
    page = Response("<p>hi</p>", content_type="text/html; charset=utf-8")
    apply_headers(page, https)
    assert page.headers["Content-Security-Policy"] == page_policy()
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["X-Content-Type-Options"] == "nosniff"
    data = Response("{}", content_type="application/json")
    data.headers["Cache-Control"] = "max-age=60"
    apply_headers(data, settings_from_config({"PUBLIC_BASE_URL": "http://127.0.0.1:8000"}))
    assert data.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert data.headers["Cache-Control"] == "max-age=60"  # the route's choice stays
    assert "Strict-Transport-Security" not in data.headers


def test_the_page_policy_has_no_inline_script_and_allows_styles_only_by_hash():
    policy = page_policy()
    assert "script-src 'none'" in policy and "unsafe-inline" not in policy
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    assert len(re.findall(r"'sha256-[A-Za-z0-9+/=]+'", policy)) >= 4  # public base, survey, report, staff base


def rendered_styles_allowed(html: str) -> bool:
    styles = re.findall(r"<style(?:\s[^>]*)?>(.*?)</style>", html, re.DOTALL)
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'" for css in styles}
    return bool(styles) and hashes <= set(page_policy().replace(";", " ").split())


def with_csrf(req):
    req.environ[CSRF_ENVIRON] = CsrfContext(KEY, None)
    return req


def test_every_form_page_carries_the_csrf_field_and_only_hashed_styles():
    service = survey_gateway()
    pages = {
        "activity": service.page_activity(with_csrf(request(path="/activities/act-1")), "act-1"),
        "survey": service.page_evaluation(with_csrf(request(path="/evaluations/good")), "good"),
        "survey errors": service.page_evaluation(with_csrf(request("POST", "/evaluations/good",
                                                                   form=MultiDict({}))), "good"),
        "login": service.staff_login(with_csrf(request(path="/staff/login"))),
    }
    service.page_activity(request("POST", "/activities/act-1", form=MultiDict(
        {"name": "Ann", "email": "ann@example.org", "organisation": "individual", "privacy_consent": "yes"})), "act-1")
    pages["cancel"] = service.page_cancel(with_csrf(request(path="/registrations/tok1/cancel")), "tok1")
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        field = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert field and csrf_valid(KEY, field[1].split(".")[0], field[1]), name
        assert rendered_styles_allowed(html), name
    for name, response in {"list": service.page_activities(request()), "privacy": service.page_privacy(request()),
                           "not found": service.page_not_found(request(path="/x"), "x")}.items():
        assert rendered_styles_allowed(response.get_data(as_text=True)), name


def test_the_trefdag_benchmark_keeps_the_rate_limit_on_behind_one_trusted_proxy(monkeypatch):
    """The benchmark configures `make run` through config.yml's environment overrides: the limit of
    public writes stays as configured, one proxy is trusted, and every person has an address of their own."""
    from benchmarks import registration_bench
    from kernel.config import SERVICES, load_config

    sandbox = {"AMQP_URI": "pyamqp://guest:guest@127.0.0.1:5672/bench",
               "DATABASES": {service: f"sqlite:////tmp/{service}.db" for service in SERVICES}}
    for name in ("RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_BURST"):
        monkeypatch.delenv(name, raising=False)
    environment = registration_bench._environment(sandbox, "127.0.0.1:1")
    assert not {"RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_BURST"} & set(environment)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = settings_from_config(load_config())
    assert settings.limits["public"] == (30, 10)  # config.yml's defaults
    assert TokenBuckets(*settings.limits["public"]).enabled
    assert settings.trusted_proxies == 1
    addresses = {registration_bench._address(n) for n in range(registration_bench.PEOPLE)}
    assert len(addresses) == registration_bench.PEOPLE


def test_the_api_description_names_the_refusals():
    from services.gateway.service import build_spec

    paths = build_spec().to_dict()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            if operation.get("security") == [{"staffToken": []}]:
                assert {"401", "403"} <= set(operation["responses"]), (path, method)
            elif method == "post" and path != "/api/alerts/alertmanager":
                assert {"415", "429"} <= set(operation["responses"]), (path, method)
    assert "admin" in paths["/api/staff/requests/export.csv"]["get"]["description"]


def screening(cfg: dict):
    guard = security.GatewaySecurity()
    guard.settings = settings_from_config(cfg)
    guard.key = KEY
    guard.buckets = {name: TokenBuckets(*guard.settings.limits[name]) for name in security.RATE_LIMITS}
    return guard


def test_a_page_that_hands_out_a_token_sets_the_cookie_secure_under_https():
    guard = screening(config())
    shown = request(path="/requests/new")
    assert guard.screen(shown, None) is None
    token = csrf.csrf_token(shown)
    response = Response("<form></form>", content_type="text/html")
    guard.finish(shown, response)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"csrf={token.split('.')[0]};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie and "Path=/" in cookie
    untouched = request(path="/api/activities")
    guard.screen(untouched, None)
    plain = Response("{}", content_type="application/json")
    guard.finish(untouched, plain)
    assert "Set-Cookie" not in plain.headers  # no form, no cookie


def test_screening_refuses_form_posts_without_the_token_and_counts_public_writes():
    guard = screening({"PUBLIC_BASE_URL": "http://127.0.0.1:8000",
                       "GATEWAY": {"RATE_LIMIT": {"PER_MINUTE": 60, "BURST": 1}}})
    value = new_csrf_value()
    good = {"csrf_token": sign_csrf(KEY, value)}

    def post(path, form=None, cookies=None, rate_limit=None, **kwargs):
        form = MultiDict(form) if form is not None else None
        return guard.screen(request("POST", path, form=form, cookies=cookies, **kwargs), rate_limit)

    assert post("/requests/new", good, {"csrf": value}) is None
    refused = post("/requests/new", {}, {"csrf": value})
    assert refused.status_code == 403 and "Je formulier is niet verstuurd" in refused.get_data(as_text=True)
    assert post("/requests/new", good, {"csrf": value}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert post("/api/requests", data="{}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert post("/api/requests", data="{}", headers={"Content-Type": "application/json"}) is None
    assert post("/requests/new", good, {"csrf": value}, rate_limit="public") is None
    limited = post("/requests/new", good, {"csrf": value}, rate_limit="public")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert guard.screen(request("GET", "/requests/new"), "public") is None  # reading is never limited
