"""The public registration page in headless Chromium: Dutch first, English on
request, field errors on an empty form, a confirmation with a cancel link, and
cancelling through that link (a confirm button: GET never cancels)."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.support import assert_chromium_installed, browser_verdict, start_platform
from tests.integration.gateway.support import activity_payload

pytestmark = pytest.mark.e2e

TITLE = "Studiedag toegankelijkheid"


@pytest.fixture
def activity_url(runner_factory, platform_config, gateway_url, staff_headers):
    assert_chromium_installed()
    start_platform(runner_factory, platform_config, gateway_url)
    response = requests.post(
        f"{gateway_url}/api/staff/activities", json=activity_payload(title=TITLE),
        headers=staff_headers, timeout=10,
    )
    assert response.status_code == 201, response.text
    return f"{gateway_url}/activities/{response.json()['activity_id']}"


def test_register_and_cancel_in_the_browser(activity_url):
    """Dutch page, switch to English, empty form -> field errors (400), valid form -> confirmation with
    a cancel link, the link only asks, confirming cancels. The browser runs in a subprocess (see
    registration_page_browser.py): playwright's sync API hangs next to eventlet in this process."""
    verdict = browser_verdict("tests.e2e.registration_page_browser", activity_url, TITLE)
    assert verdict["cancel_url"].startswith(activity_url.split("/activities/")[0] + "/registrations/")
