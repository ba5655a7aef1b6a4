"""The staff side of notifications through the gateway, with the whole platform running on its
embedded defaults (mail captured, not sent): the message log as JSON (staff), and the captured
mail in a browser after signing in with an ops account (a staff account may not read it)."""
from __future__ import annotations

import requests

from services.gateway.core.auth import SESSION_COOKIE
from tests.conftest import OPS_TOKEN, STAFF_TOKEN
from tests.helpers import wait_for
from tests.integration.gateway.conftest import api, gateway_config, platform  # noqa: F401 - fixtures
from tests.integration.gateway.support import (
    ACCOUNT_PASSWORD,
    CSRF_FIELD,
    activity_payload,
    create_account,
    registration_payload,
)


def test_message_log_and_captured_mail_for_staff(platform, api, gateway_url):  # noqa: F811
    public, staff = api
    activity = staff.post("/api/staff/activities", json=activity_payload(title="Trefdag")).json()
    registered = public.post(f"/api/activities/{activity['activity_id']}/registrations",
                             json=registration_payload(language="en"))
    assert registered.status_code == 201

    log = wait_for(lambda: [r for r in staff.get("/api/staff/notifications").json() if r["status"] == "sent"],
                   timeout=15, message="the confirmation in the log")
    (entry,) = log
    assert entry["template"] == "registration_confirmed" and entry["language"] == "en"
    assert entry["channel"] == "email" and entry["recipient"].startswith("person:")
    assert "email" not in entry and "ann@example.org" not in str(entry)
    assert public.get("/api/staff/notifications").status_code == 401

    staff_account = create_account(gateway_url, "staff")
    ops_account = create_account(gateway_url, "ops")
    browser = requests.Session()
    first = browser.get(f"{gateway_url}/staff/mail", allow_redirects=False)  # the sign-in form, coming back here
    assert first.status_code == 401 and 'name="email"' in first.text and 'value="/staff/mail"' in first.text
    form = browser.get(f"{gateway_url}/staff/login")
    assert form.status_code == 200 and 'name="password"' in form.text
    csrf = CSRF_FIELD.search(form.text)[1]
    wrong = browser.post(f"{gateway_url}/staff/login", allow_redirects=False,
                         data={"email": ops_account["email"], "password": "not the password", "csrf_token": csrf})
    assert wrong.status_code == 401 and SESSION_COOKIE not in browser.cookies
    no_csrf = browser.post(f"{gateway_url}/staff/login", allow_redirects=False,
                           data={"email": ops_account["email"], "password": ACCOUNT_PASSWORD, "next": "/staff/mail"})
    assert no_csrf.status_code == 403 and SESSION_COOKIE not in browser.cookies
    staff_signed_in = browser.post(f"{gateway_url}/staff/login", allow_redirects=False, data={
        "email": staff_account["email"], "password": ACCOUNT_PASSWORD, "next": "/staff/mail", "csrf_token": csrf})
    assert staff_signed_in.status_code == 303 and browser.cookies.get(SESSION_COOKIE)
    assert browser.get(f"{gateway_url}/staff/mail").status_code == 403  # participants' links: not for staff
    signed_in = browser.post(f"{gateway_url}/staff/login", allow_redirects=False, data={
        "email": ops_account["email"], "password": ACCOUNT_PASSWORD, "next": "/staff/mail", "csrf_token": csrf})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/staff/mail"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # http here
    listing = browser.get(f"{gateway_url}/staff/mail?lang=en")
    assert listing.status_code == 200 and "You are registered: Trefdag" in listing.text
    assert "ann@example.org" in listing.text
    mail_id = listing.text.split('href="/staff/mail/')[1].split('"')[0]
    one = browser.get(f"{gateway_url}/staff/mail/{mail_id}")
    assert one.status_code == 200 and "activity.ics" in one.text and "Hello Ann Peeters" in one.text
    assert "/registrations/" in one.text and registered.json()["cancel_token"] in one.text
    bearer = requests.get(f"{gateway_url}/staff/mail", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
    assert bearer.status_code == 200
    assert requests.get(f"{gateway_url}/staff/mail",
                        headers={"Authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 403
    assert browser.post(f"{gateway_url}/staff/logout").status_code == 403  # no CSRF token: still signed in
    assert browser.get(f"{gateway_url}/staff/mail").status_code == 200
    signed_out = browser.post(f"{gateway_url}/staff/logout", data={"csrf_token": CSRF_FIELD.search(listing.text)[1]},
                              allow_redirects=False)
    assert signed_out.status_code == 303 and SESSION_COOKIE not in browser.cookies
    assert browser.get(f"{gateway_url}/staff/mail", allow_redirects=False).status_code == 401
