"""The request desk in headless Chromium, from intake to closure: the public form, then the staff
pages (colleagues, the new queue, the request's page and its forms); the JSON API shows the outcome.
Screenshots go to $E2E_SHOTS (else the test's temporary folder)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.conftest import STAFF_TOKEN
from tests.e2e.support import assert_chromium_installed, browser_verdict, start_platform

pytestmark = pytest.mark.e2e


@pytest.fixture
def base(runner_factory, platform_config, gateway_url):
    assert_chromium_installed()
    start_platform(runner_factory, platform_config, gateway_url)
    return gateway_url


def test_a_request_from_intake_to_closure_in_the_browser(base, staff_headers, tmp_path):
    shots = Path(os.environ.get("E2E_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    verdict = browser_verdict("tests.e2e.request_desk_browser", base, STAFF_TOKEN, str(shots))
    closed = requests.get(f"{base}/api/staff/requests/{verdict['request_id']}", headers=staff_headers,
                          timeout=10).json()
    assert closed["status"] == "closed"
    assert closed["totals"] == {"deliveries": 1, "dagdelen": 2, "participants": 12, "participations": 24}
    assert [note["text"] for note in closed["notes"]] == ["Gebeld met Lies: vorming voor 12 vrijwilligers."]
    for shot in verdict["shots"]:
        assert Path(shot).stat().st_size > 10_000, shot
