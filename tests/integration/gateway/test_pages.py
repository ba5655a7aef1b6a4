"""The public HTML pages against the real platform (no browser: plain form posts)."""
from __future__ import annotations

import re

import pytest
import requests

from tests.integration.gateway.support import CSRF_FIELD, activity_payload, form_post

pytestmark = pytest.mark.usefixtures("platform")


def create_activity(gateway_url, staff_headers, **overrides):
    response = requests.post(
        f"{gateway_url}/api/staff/activities", json=activity_payload(**overrides), headers=staff_headers, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()


def form(**overrides):
    data = {"name": "Ann Peeters", "email": "ann@example.org", "organisation": "individual", "role": "student",
            "language": "nl", "needs": ["childcare"], "needs_dietary": "", "needs_other": "",
            "privacy_consent": "yes"}
    data.update(overrides)
    return data


def test_list_and_detail_pages(gateway_url, staff_headers):
    activity = create_activity(gateway_url, staff_headers, title="Infosessie <nieuw>")
    listing = requests.get(f"{gateway_url}/", timeout=10)
    assert listing.status_code == 200
    assert "Infosessie &lt;nieuw&gt;" in listing.text
    detail = requests.get(f"{gateway_url}/activities/{activity['activity_id']}?lang=fr", timeout=10)
    assert detail.status_code == 200
    assert '<html lang="fr">' in detail.text and "S&#39;inscrire" in detail.text
    assert detail.cookies.get("lang") == "fr"
    assert requests.get(f"{gateway_url}/activities/nope", timeout=10).status_code == 404
    assert requests.get(f"{gateway_url}/no/such/page", timeout=10).status_code == 404


def test_full_activity_page_says_waitlisted_with_position(gateway_url, staff_headers):
    activity = create_activity(gateway_url, staff_headers, capacity=1)
    url = f"{gateway_url}/activities/{activity['activity_id']}"
    first = form_post(url, form(email="one@example.org"))
    assert first.status_code == 201 and "Je bent ingeschreven" in first.text
    second = form_post(url + "?lang=en", form(email="two@example.org"))
    assert second.status_code == 201
    assert "You are on the waiting list" in second.text and "number 1" in second.text
    assert re.search(r"/registrations/[^/\"]+/cancel", second.text)


def test_duplicate_and_closed_are_409_pages(gateway_url, staff_headers):
    activity = create_activity(gateway_url, staff_headers)
    url = f"{gateway_url}/activities/{activity['activity_id']}"
    assert form_post(url, form()).status_code == 201
    duplicate = form_post(url, form())
    assert duplicate.status_code == 409 and "al ingeschreven" in duplicate.text

    browser = requests.Session()
    page = browser.get(url, timeout=10)  # the form as it was before the activity was cancelled
    requests.post(f"{gateway_url}/api/staff/activities/{activity['activity_id']}/cancel",
                  json={"reason": "te weinig deelnemers"}, headers=staff_headers, timeout=10)
    closed = browser.post(url, data={**form(email="late@example.org"), "csrf_token": CSRF_FIELD.search(page.text)[1]},
                          timeout=10)
    assert closed.status_code == 409 and "niet (meer) mogelijk" in closed.text


def test_invalid_form_is_400_with_field_errors_and_nothing_created(gateway_url, staff_headers):
    activity = create_activity(gateway_url, staff_headers)
    url = f"{gateway_url}/activities/{activity['activity_id']}"
    response = form_post(url, form(name="", email="nope", privacy_consent=""))
    assert response.status_code == 400
    for field in ("name", "email", "privacy_consent"):
        assert f'href="#f-{field}"' in response.text
    too_long = form_post(url, form(needs_dietary="x" * 600))  # the service refuses it
    assert too_long.status_code == 400 and 'href="#f-needs_dietary"' in too_long.text
    listed = requests.get(f"{gateway_url}/api/staff/activities/{activity['activity_id']}/registrations",
                          headers=staff_headers, timeout=10)
    assert listed.json() == []


def test_invitation_only_needs_the_code(gateway_url, staff_headers):
    activity = create_activity(gateway_url, staff_headers, invitation_only=True)
    url = f"{gateway_url}/activities/{activity['activity_id']}"
    assert requests.get(url, timeout=10).status_code == 403
    code = activity["invitation_code"]
    page = requests.get(url, params={"code": code}, timeout=10)
    assert page.status_code == 200 and f'name="code" value="{code}"' in page.text
    registered = form_post(url, form(code=code), page_url=f"{url}?code={code}")
    assert registered.status_code == 201, registered.text


def test_cancel_link_get_and_head_do_not_cancel_post_does(gateway_url, staff_headers):
    activity = create_activity(gateway_url, staff_headers)
    page = form_post(f"{gateway_url}/activities/{activity['activity_id']}", form())
    cancel_url = re.search(r'id="cancel-link" href="([^"]+)"', page.text).group(1)
    token = cancel_url.rsplit("/", 2)[-2]

    def status():
        return requests.get(f"{gateway_url}/api/registrations/{token}", timeout=10).json()["status"]

    assert requests.get(cancel_url, timeout=10).status_code == 200
    assert requests.head(cancel_url, timeout=10).status_code == 200
    assert status() == "confirmed"
    browser = requests.Session()
    token_field = {"csrf_token": CSRF_FIELD.search(browser.get(cancel_url, timeout=10).text)[1]}
    done = browser.post(cancel_url, data=token_field, timeout=10)
    assert done.status_code == 200 and "uitgeschreven" in done.text
    assert status() == "cancelled"
    again = browser.post(cancel_url, data=token_field, timeout=10)
    assert again.status_code == 200 and "al geannuleerd" in again.text
