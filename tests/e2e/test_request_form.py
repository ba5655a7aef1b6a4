"""The public request form in headless Chromium: Dutch first, field errors on an empty submit,
the acknowledgement page after a valid one, and the request on the staff desk."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.support import assert_chromium_installed, browser_verdict, start_platform

pytestmark = pytest.mark.e2e



@pytest.fixture
def form_url(runner_factory, platform_config, gateway_url):
    assert_chromium_installed()
    start_platform(runner_factory, platform_config, gateway_url)
    return f"{gateway_url}/requests/new"


def test_ask_for_support_in_the_browser(form_url, gateway_url, staff_headers):
    verdict = browser_verdict("tests.e2e.request_form_browser", form_url)
    desk = requests.get(f"{gateway_url}/api/staff/requests", headers=staff_headers, timeout=10).json()
    assert [(r["request_id"], r["org_type"], r["organisation_name"]) for r in desk] == [
        (verdict["request_id"], "civiel_scw", "Buurtinitiatief De Kaai")]
