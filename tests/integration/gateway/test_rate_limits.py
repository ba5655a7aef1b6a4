"""Rate limits of public writes against the real platform: a token bucket per client IP, in the
gateway's memory. Over the limit: 429 with Retry-After, a page or a JSON error, nothing stored;
reading is never limited; the sign-in form has its own, stricter bucket."""
from __future__ import annotations

import pytest
import requests

from tests.integration.gateway.support import CSRF_FIELD, activity_payload, registration_payload

pytestmark = pytest.mark.usefixtures("platform")


@pytest.fixture
def gateway_config(platform_config):
    platform_config["GATEWAY"]["HEALTH_TIMEOUT_SECONDS"] = 1
    # 3 at once, then one every 10 seconds: the test never waits that long
    platform_config["GATEWAY"]["RATE_LIMIT"] = {"PER_MINUTE": 6, "BURST": 3, "LOGIN_PER_MINUTE": 2,
                                                "LOGIN_BURST": 2, "TRUSTED_PROXIES": 0}
    return platform_config


def test_public_writes_over_the_limit_get_429_and_store_nothing(gateway_url, staff_headers):
    activity = requests.post(f"{gateway_url}/api/staff/activities", json=activity_payload(capacity=20),
                             headers=staff_headers, timeout=10).json()
    api = f"{gateway_url}/api/activities/{activity['activity_id']}/registrations"
    page_url = f"{gateway_url}/activities/{activity['activity_id']}?lang=en"
    browser = requests.Session()
    token = CSRF_FIELD.search(browser.get(page_url, timeout=10).text)[1]  # GET is never limited

    answers = [requests.post(api, json=registration_payload(email=f"p{i}@example.org"), timeout=10,
                             headers={"X-Forwarded-For": f"10.0.0.{i}"})  # not trusted: no way around
               for i in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    over = requests.post(api, json=registration_payload(email="p3@example.org"), timeout=10)
    assert over.status_code == 429 and over.json()["error"] == "rate_limited"
    assert 1 <= int(over.headers["Retry-After"]) <= 10

    # the same bucket for the form (same address): a clear page in the visitor's language
    form = {"name": "Ann", "email": "form@example.org", "organisation": "individual", "privacy_consent": "yes",
            "csrf_token": token}
    page = browser.post(page_url, data=form, timeout=10)
    assert page.status_code == 429 and page.headers["Content-Type"].startswith("text/html")
    assert "Please wait a moment" in page.text and "Nothing was saved" in page.text
    assert 1 <= int(page.headers["Retry-After"]) <= 10
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")

    listed = requests.get(f"{gateway_url}/api/staff/activities/{activity['activity_id']}/registrations",
                          headers=staff_headers, timeout=10).json()
    assert sorted(r["email"] for r in listed) == ["p0@example.org", "p1@example.org", "p2@example.org"]
    # reading and staff work go on
    assert browser.get(page_url, timeout=10).status_code == 200
    assert requests.get(f"{gateway_url}/api/activities", timeout=10).status_code == 200
    assert requests.post(f"{gateway_url}/api/staff/activities", json=activity_payload(), headers=staff_headers,
                         timeout=10).status_code == 201


def test_sign_in_attempts_have_their_own_stricter_bucket(gateway_url):
    browser = requests.Session()
    token = CSRF_FIELD.search(browser.get(f"{gateway_url}/staff/login", timeout=10).text)[1]

    def attempt():
        return browser.post(f"{gateway_url}/staff/login", allow_redirects=False, timeout=10,
                            data={"email": "guess@steunpunt.example", "password": "a guessed password",
                                  "csrf_token": token})

    assert [attempt().status_code for _ in range(2)] == [401, 401]
    refused = attempt()
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    # public writes are counted apart
    assert requests.post(f"{gateway_url}/api/requests", json={}, timeout=10).status_code == 400
