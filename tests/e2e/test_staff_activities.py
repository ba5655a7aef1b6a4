"""The activities back office in headless Chromium: a staff member creates an activity through the
form, fills in the attendance sheet and completes it; the JSON API then shows what the pages did.
Screenshots go to $SCREENSHOTS_DIR (else the test's temporary folder)."""
from __future__ import annotations

import os

import pytest
import requests

from tests.conftest import STAFF_TOKEN
from tests.e2e.support import assert_chromium_installed, browser_verdict, start_platform

pytestmark = pytest.mark.e2e


@pytest.fixture
def platform(runner_factory, platform_config, gateway_url):
    assert_chromium_installed()
    start_platform(runner_factory, platform_config, gateway_url)


def test_create_an_activity_and_fill_in_its_attendance_sheet(platform, gateway_url, staff_headers, tmp_path):
    shots = os.environ.get("SCREENSHOTS_DIR") or str(tmp_path)
    verdict = browser_verdict("tests.e2e.staff_activities_browser", gateway_url, STAFF_TOKEN, shots)
    activity_id = verdict["activity_id"]
    activity = requests.get(f"{gateway_url}/api/staff/activities/{activity_id}", headers=staff_headers,
                            timeout=10).json()
    assert (activity["title"], activity["status"], activity["days"]) == ("Vorming: samen besturen", "completed", 2)
    registrations = requests.get(f"{gateway_url}/api/staff/activities/{activity_id}/registrations",
                                 headers=staff_headers, timeout=10).json()
    assert sorted((r["name"], r["days_attended"]) for r in registrations) == [
        ("Ann Peeters", 2), ("Bert Claes", 1), ("Carla Janssens", None)]
