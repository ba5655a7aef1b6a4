"""The public registration page in headless Chromium: Dutch first, English on
request, field errors on an empty form, a confirmation with a cancel link, and
cancelling through that link (a confirm button: GET never cancels)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.registration_page_browser import CHROMIUM
from tests.helpers import wait_for
from tests.integration.gateway.support import activity_payload, all_services

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Studiedag toegankelijkheid"


@pytest.fixture
def activity_url(runner_factory, platform_config, gateway_url, staff_headers):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is not installed (make test's bootstrap installs it)")
    runner = runner_factory(platform_config, *all_services())
    runner.start()
    wait_for(lambda: requests.get(f"{gateway_url}/health", timeout=5).status_code == 200, timeout=15,
             message="the platform to be healthy")
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
    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.registration_page_browser", activity_url, TITLE],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no verdict from the browser script: {result.stdout}\n{result.stderr}"
    verdict = json.loads(lines[-1])
    assert verdict["ok"], f"{verdict.get('error')}\n{result.stderr[-2000:]}"
    assert result.returncode == 0
    assert verdict["cancel_url"].startswith(activity_url.split("/activities/")[0] + "/registrations/")
