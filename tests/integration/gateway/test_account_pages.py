"""The admins' account pages and the audit log page, on the real platform, in each role."""
from __future__ import annotations

import re

import pytest
import requests

from services.gateway.core.auth import SESSION_COOKIE
from tests.integration.gateway.support import (
    ACCOUNT_PASSWORD,
    CSRF_FIELD,
    create_account,
    form_post,
    sign_in,
    staff_session,
)

pytestmark = pytest.mark.usefixtures("platform")
TOKEN_SHOWN = re.compile(r"<code>([^<]+)</code>")


@pytest.mark.parametrize("path", ["/staff/accounts", "/staff/accounts/new", "/staff/audit"])
def test_the_account_pages_are_for_admins_only(gateway_url, path):
    assert requests.get(f"{gateway_url}{path}", timeout=10).status_code == 401
    for role in ("staff", "ops"):
        assert staff_session(gateway_url, role).get(f"{gateway_url}{path}", timeout=10).status_code == 403
    admin = sign_in(gateway_url, create_account(gateway_url, "admin", email="beheer@steunpunt.example")["email"])
    assert admin.get(f"{gateway_url}{path}", timeout=10).status_code == 200


def test_an_admin_makes_an_account_with_field_errors_first_and_only_once(gateway_url):
    admin = sign_in(gateway_url, create_account(gateway_url, "admin", name="Bea Beheer")["email"])
    url = f"{gateway_url}/staff/accounts/new"
    bad = form_post(url, {"email": "geen adres", "name": "", "role": "boss", "password": "kort"}, session=admin)
    assert bad.status_code == 400
    for field in ("email", "name", "role", "password"):
        assert f'id="e-{field}"' in bad.text and f'href="#f-{field}"' in bad.text, field
    listing = admin.get(f"{gateway_url}/staff/accounts", timeout=10).text
    assert "geen adres" not in listing
    good = {"email": "Nieuw@Steunpunt.example", "name": "Nina Nieuw", "role": "staff", "password": ACCOUNT_PASSWORD}
    made = form_post(url, good, session=admin, allow_redirects=False)
    assert made.status_code == 303 and made.headers["Location"].startswith("/staff/accounts/")
    again = form_post(url, good, session=admin)
    assert again.status_code == 400 and "Er is al een account met dit e-mailadres." in again.text
    listing = admin.get(f"{gateway_url}/staff/accounts", timeout=10).text
    assert listing.count("nieuw@steunpunt.example") == 1
    sign_in(gateway_url, "nieuw@steunpunt.example")  # the new account signs in


def test_an_admin_changes_a_role_switches_an_account_off_and_signs_it_out_everywhere(gateway_url):
    admin = sign_in(gateway_url, create_account(gateway_url, "admin", name="Bea Beheer")["email"])
    target = create_account(gateway_url, "staff", name="Tom Test")
    page_url = f"{gateway_url}/staff/accounts/{target['account_id']}"
    browser = sign_in(gateway_url, target["email"])
    assert browser.get(f"{gateway_url}/staff/mail", timeout=10).status_code == 403
    changed = form_post(page_url, {"name": "Tom Test", "role": "ops", "active": "yes"}, session=admin)
    assert changed.status_code == 200 and "De wijzigingen zijn opgeslagen." in changed.text
    assert browser.get(f"{gateway_url}/staff/mail", timeout=10).status_code == 200  # the new role at once
    signed_out = form_post(f"{page_url}/sessions/revoke", {}, session=admin, page_url=page_url)
    assert signed_out.status_code == 200 and "Dit account is overal afgemeld." in signed_out.text
    assert browser.get(f"{gateway_url}/staff/mail", timeout=10).status_code == 401
    browser = sign_in(gateway_url, target["email"])
    form_post(page_url, {"name": "Tom Test", "role": "ops"}, session=admin)  # no `active`: switched off
    assert browser.get(f"{gateway_url}/staff/mail", timeout=10).status_code == 401
    refused = form_post(f"{gateway_url}/staff/login", {"email": target["email"], "password": ACCOUNT_PASSWORD})
    assert refused.status_code == 401


def test_a_personal_token_is_shown_once_works_and_stops_when_revoked_and_the_audit_page_shows_who(gateway_url):
    admin = sign_in(gateway_url, create_account(gateway_url, "admin", name="Bea Beheer")["email"])
    target = create_account(gateway_url, "staff", name="Tom Test")
    page_url = f"{gateway_url}/staff/accounts/{target['account_id']}"
    issued = form_post(f"{page_url}/tokens", {"label": "export"}, session=admin, page_url=page_url)
    (token,) = TOKEN_SHOWN.findall(issued.text)
    bearer = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{gateway_url}/api/staff/activities", headers=bearer, timeout=10).status_code == 200
    page = admin.get(page_url, timeout=10).text
    assert token not in page and "export" in page  # shown once
    revoke = re.search(r'action="(/staff/accounts/[^"]+/tokens/[^"]+/revoke)"', page)[1]
    assert form_post(f"{gateway_url}{revoke}", {}, session=admin, page_url=page_url).status_code == 200
    assert requests.get(f"{gateway_url}/api/staff/activities", headers=bearer, timeout=10).status_code == 401

    audit = admin.get(f"{gateway_url}/staff/audit?kind=account&lang=en", timeout=10)
    assert audit.status_code == 200
    rows = re.findall(r"<tr>\s*<td>.*?</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", audit.text, re.S)
    assert ("Bea Beheer", "token revoked") in rows and ("Bea Beheer", "token made") in rows
    assert ("Bea Beheer", "signed in") in rows
    assert ("machine token (administrator)", "account created") in rows
    assert [action for _, action in rows][0] == "token revoked"  # newest first
    assert f'<a href="/staff/accounts/{target["account_id"]}">Tom Test</a>' in audit.text  # what it was done to
    mine = admin.get(f"{gateway_url}/staff/audit", params={"account": target["account_id"], "lang": "en"},
                     timeout=10).text
    assert "token made" not in mine and "0 lines" in mine  # Tom did none of it
    assert admin.get(f"{gateway_url}/staff/audit?kind=NOT+A+KIND", timeout=10).status_code == 400


def test_forms_without_the_csrf_token_change_nothing(gateway_url):
    admin = sign_in(gateway_url, create_account(gateway_url, "admin")["email"])
    target = create_account(gateway_url, "staff")
    answer = admin.post(f"{gateway_url}/staff/accounts/{target['account_id']}/sessions/revoke", timeout=10)
    assert answer.status_code == 403
    assert SESSION_COOKIE in admin.cookies and CSRF_FIELD  # still signed in


def test_the_last_admin_cannot_demote_themselves(gateway_url):
    me = create_account(gateway_url, "admin", name="Enige Beheerder")
    admin = sign_in(gateway_url, me["email"])
    page_url = f"{gateway_url}/staff/accounts/{me['account_id']}"
    refused = form_post(page_url, {"name": "Enige Beheerder", "role": "staff", "active": "yes"}, session=admin)
    assert refused.status_code == 409 and "Dit is de laatste actieve beheerder" in refused.text
    assert 'id="e-role"' in refused.text
    assert admin.get(f"{gateway_url}/staff/accounts", timeout=10).status_code == 200  # still admin


def test_an_admin_sets_a_new_password_which_signs_the_account_out(gateway_url):
    admin = sign_in(gateway_url, create_account(gateway_url, "admin", name="Bea Beheer")["email"])
    target = create_account(gateway_url, "ops", name="Olga Ops")
    page_url = f"{gateway_url}/staff/accounts/{target['account_id']}"
    browser = sign_in(gateway_url, target["email"])
    weak = form_post(f"{page_url}/password", {"password": "kort"}, session=admin, page_url=page_url)
    assert weak.status_code == 400 and 'id="e-password"' in weak.text and 'value="Olga Ops"' in weak.text
    assert browser.get(f"{gateway_url}/staff/mail", timeout=10).status_code == 200  # nothing changed
    done = form_post(f"{page_url}/password", {"password": "een nieuw lang wachtwoord"}, session=admin,
                     page_url=page_url)
    assert done.status_code == 200 and "Het nieuwe wachtwoord is ingesteld" in done.text
    assert browser.get(f"{gateway_url}/staff/mail", timeout=10).status_code == 401
    assert form_post(f"{gateway_url}/staff/login", {"email": target["email"], "password": ACCOUNT_PASSWORD},
                     allow_redirects=False).status_code == 401
    sign_in(gateway_url, target["email"], "een nieuw lang wachtwoord")
    audit = admin.get(f"{gateway_url}/staff/audit?lang=en", timeout=10).text
    assert "new password set" in audit and "een nieuw lang wachtwoord" not in audit
