"""Personal staff accounts through the gateway, on the real platform: signing in with email and
password (a server-side session in an HttpOnly cookie), lockout, expiry, signing out, personal
API tokens, POST /api/admin/accounts, and the audit lines of it all with the right actor."""
from __future__ import annotations

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from services.gateway.core.auth import SESSION_COOKIE
from tests.integration.gateway.support import (
    ACCOUNT_PASSWORD,
    CSRF_FIELD,
    activity_payload,
    create_account,
    form_post,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("platform")


@pytest.fixture
def accounts_rpc(platform_config):
    with ServiceRpcProxy("accounts", platform_config, timeout=30) as proxy:
        yield proxy


def attempt(gateway_url, email, password, session=None, **extra):
    return form_post(f"{gateway_url}/staff/login", {"email": email, "password": password, **extra},
                     session=session if session is not None else requests.Session(), allow_redirects=False)


def test_signing_in_sets_an_httponly_strict_session_and_opens_the_staff_pages(gateway_url):
    account = create_account(gateway_url, "ops", name="Olga Ops")
    browser = requests.Session()
    answer = attempt(gateway_url, account["email"].upper(), ACCOUNT_PASSWORD, browser, next="/staff/mail")
    assert answer.status_code == 303 and answer.headers["Location"] == "/staff/mail"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert ACCOUNT_PASSWORD not in cookie
    page = browser.get(f"{gateway_url}/staff/mail", timeout=10)
    assert page.status_code == 200 and "Olga Ops" in page.text  # the frame names who is signed in
    assert browser.get(f"{gateway_url}/staff/reports/annual/2026", timeout=10).status_code == 403  # not for ops
    staff = create_account(gateway_url, "staff")
    landing = attempt(gateway_url, staff["email"], ACCOUNT_PASSWORD)
    assert landing.headers["Location"].startswith("/staff/reports/annual/")  # no `next`


def test_a_wrong_password_and_an_unknown_email_get_the_same_form_and_no_session(gateway_url):
    account = create_account(gateway_url, "staff")
    wrong = attempt(gateway_url, account["email"], "not the password at all")
    unknown = attempt(gateway_url, "nobody@steunpunt.example", ACCOUNT_PASSWORD)
    for answer in (wrong, unknown):
        assert answer.status_code == 401 and SESSION_COOKIE not in answer.cookies
        assert 'name="email"' in answer.text and 'name="password"' in answer.text
        assert "Het e-mailadres of het wachtwoord klopt niet." in answer.text
    assert wrong.text.replace(account["email"], "nobody@steunpunt.example") == \
        unknown.text.replace(*CSRF_FIELD.findall(unknown.text), *CSRF_FIELD.findall(wrong.text))


def test_the_sixth_attempt_after_five_wrong_passwords_is_locked_out(gateway_url, accounts_rpc):
    account = create_account(gateway_url, "staff")
    assert [attempt(gateway_url, account["email"], f"wrong password {i}").status_code for i in range(5)] == [401] * 5
    locked = attempt(gateway_url, account["email"], ACCOUNT_PASSWORD)
    assert locked.status_code == 401 and SESSION_COOKIE not in locked.cookies
    assert "Het e-mailadres of het wachtwoord klopt niet." in locked.text  # no other hint
    log = accounts_rpc.list_audit({"action_kind": "account"})["entries"]
    assert [e["action"] for e in log if e["subject_id"] == account["account_id"]][:2] == [
        "account.locked", "account.locked"]


def test_signing_out_revokes_the_session_and_the_old_cookie_no_longer_works(gateway_url):
    browser = sign_in(gateway_url, create_account(gateway_url, "ops")["email"])
    old = browser.cookies[SESSION_COOKIE]
    page = browser.get(f"{gateway_url}/staff/mail", timeout=10)
    assert page.status_code == 200
    out = browser.post(f"{gateway_url}/staff/logout", data={"csrf_token": CSRF_FIELD.search(page.text)[1]},
                       allow_redirects=False, timeout=10)
    assert out.status_code == 303 and SESSION_COOKIE not in browser.cookies
    replay = requests.get(f"{gateway_url}/staff/mail", cookies={SESSION_COOKIE: old}, timeout=10)
    assert replay.status_code == 401 and 'action="/staff/login"' in replay.text


def test_revoking_every_session_of_an_account_signs_it_out_everywhere(gateway_url, accounts_rpc):
    account = create_account(gateway_url, "ops")
    browsers = [sign_in(gateway_url, account["email"]) for _ in range(2)]
    assert accounts_rpc.revoke_sessions(account["account_id"], {"account_id": None, "name": "test"}) == 2
    assert [b.get(f"{gateway_url}/staff/mail", timeout=10).status_code for b in browsers] == [401, 401]


@pytest.mark.parametrize("change, field", [
    ({"email": "geen adres"}, "email"), ({"email": None}, "email"), ({"name": ""}, "name"),
    ({"role": "boss"}, "role"), ({"password": "te kort"}, "password"), ({"password": 12345678901234}, "password"),
    ({"is_admin": True}, "is_admin"),
])
def test_creating_an_account_refuses_bad_input_field_by_field(gateway_url, admin_headers, change, field):
    payload = {"email": "nieuw@steunpunt.example", "name": "Nieuw", "role": "staff", "password": ACCOUNT_PASSWORD,
               **change}
    answer = requests.post(f"{gateway_url}/api/admin/accounts", json=payload, headers=admin_headers, timeout=10)
    assert answer.status_code == 400 and field in answer.json()["details"], answer.text
    missing = {k: v for k, v in payload.items() if k != field}
    if field != "is_admin":
        answer = requests.post(f"{gateway_url}/api/admin/accounts", json=missing, headers=admin_headers, timeout=10)
        assert answer.status_code == 400 and field in answer.json()["details"]
    assert attempt(gateway_url, "nieuw@steunpunt.example", ACCOUNT_PASSWORD).status_code == 401  # nothing made


def test_only_admins_create_accounts_and_an_email_is_taken_once(gateway_url, admin_headers, staff_headers,
                                                                 ops_headers):
    payload = {"email": "Bea@Steunpunt.example", "name": "Bea", "role": "admin", "password": ACCOUNT_PASSWORD}
    url = f"{gateway_url}/api/admin/accounts"
    assert requests.post(url, json=payload, timeout=10).status_code == 401
    assert requests.post(url, json=payload, headers=staff_headers, timeout=10).status_code == 403
    assert requests.post(url, json=payload, headers=ops_headers, timeout=10).status_code == 403
    made = requests.post(url, json=payload, headers=admin_headers, timeout=10)
    assert made.status_code == 201 and made.json()["email"] == "bea@steunpunt.example"
    assert set(made.json()) == {"account_id", "email", "name", "role", "active", "created_at", "updated_at"}
    again = requests.post(url, json={**payload, "email": "BEA@steunpunt.example"}, headers=admin_headers, timeout=10)
    assert again.status_code == 409 and "email" in again.json()["details"]
    # a staff account signed in may not create one either (and the cookie alone never writes the JSON API)
    staff = sign_in(gateway_url, create_account(gateway_url, "staff")["email"])
    assert staff.post(url, json={**payload, "email": "x@steunpunt.example"}, timeout=10).status_code == 401


def test_a_personal_token_works_as_bearer_until_it_is_revoked_and_the_audit_names_its_account(
        gateway_url, accounts_rpc):
    admin = create_account(gateway_url, "admin", name="Bea Beheer")
    issued = accounts_rpc.issue_token(admin["account_id"], {"label": "script"}, {"account_id": None, "name": "t"})
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    made = requests.post(f"{gateway_url}/api/admin/accounts", headers=bearer, timeout=10, json={
        "email": "door-script@steunpunt.example", "name": "Door Script", "role": "staff", "password": ACCOUNT_PASSWORD})
    assert made.status_code == 201
    (line,) = [e for e in accounts_rpc.list_audit({"account_id": admin["account_id"]})["entries"]
               if e["action"] == "account.created"]
    assert (line["actor"], line["subject_id"]) == ("Bea Beheer", made.json()["account_id"])
    (by_machine,) = [e for e in accounts_rpc.list_audit()["entries"]
                     if e["action"] == "account.created" and e["subject_id"] == admin["account_id"]]
    assert by_machine["actor"] == "machine:admin" and by_machine["actor_account_id"] is None
    accounts_rpc.revoke_token(issued["token_id"], {"account_id": None, "name": "t"})
    assert requests.get(f"{gateway_url}/api/staff/activities", headers=bearer, timeout=10).status_code == 401


def test_changes_through_the_json_api_and_exports_are_in_the_audit_log_with_who_made_them(
        gateway_url, accounts_rpc, staff_headers, admin_headers):
    staff = create_account(gateway_url, "staff", name="Sam Staf")
    issued = accounts_rpc.issue_token(staff["account_id"], {"label": "script"}, {"account_id": None, "name": "t"})
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    made = requests.post(f"{gateway_url}/api/staff/activities", json=activity_payload(), headers=bearer, timeout=10)
    assert made.status_code == 201, made.text
    activity_id = made.json()["activity_id"]
    refused = requests.patch(f"{gateway_url}/api/staff/activities/{activity_id}", json={"capacity": -1},
                             headers=bearer, timeout=10)
    assert refused.status_code == 400
    changed = requests.patch(f"{gateway_url}/api/staff/activities/{activity_id}", json={"capacity": 40},
                             headers=staff_headers, timeout=10)
    assert changed.status_code == 200
    exported = requests.get(f"{gateway_url}/api/staff/requests/export.csv", headers=admin_headers, timeout=10)
    assert exported.status_code == 200

    lines = [(e["action"], e["actor"], e["actor_account_id"], e["subject_type"], e["subject_id"])
             for e in reversed(accounts_rpc.list_audit()["entries"])
             if e["action"] in ("activity.created", "activity.updated", "requests.exported")]
    assert lines == [  # oldest first; the refused change is not there
        ("activity.created", "Sam Staf", staff["account_id"], "activity", activity_id),
        ("activity.updated", "machine:staff", None, "activity", activity_id),
        ("requests.exported", "machine:admin", None, "request", None),
    ]
