"""The public request form in headless Chromium: Dutch first, field errors on an empty submit,
the acknowledgement page after a valid one, and the request on the staff desk."""
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
from tests.integration.gateway.support import all_services

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def form_url(runner_factory, platform_config, gateway_url):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is not installed (make test's bootstrap installs it)")
    runner = runner_factory(platform_config, *all_services())
    runner.start()
    wait_for(lambda: requests.get(f"{gateway_url}/health", timeout=5).status_code == 200, timeout=15,
             message="the platform to be healthy")
    return f"{gateway_url}/requests/new"


def test_ask_for_support_in_the_browser(form_url, gateway_url, staff_headers):
    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.request_form_browser", form_url],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no verdict from the browser script: {result.stdout}\n{result.stderr}"
    verdict = json.loads(lines[-1])
    assert verdict["ok"], f"{verdict.get('error')}\n{result.stderr[-2000:]}"
    assert result.returncode == 0
    desk = requests.get(f"{gateway_url}/api/staff/requests", headers=staff_headers, timeout=10).json()
    assert [(r["request_id"], r["org_type"], r["organisation_name"]) for r in desk] == [
        (verdict["request_id"], "civiel_scw", "Buurtinitiatief De Kaai")]
