"""A staff session that ended (here: two seconds after signing in) sends the browser to sign in again."""
from __future__ import annotations

import pytest

from tests.helpers import wait_for
from tests.integration.gateway.support import create_account, sign_in

pytestmark = pytest.mark.usefixtures("platform")


@pytest.fixture
def gateway_config(platform_config):
    platform_config["GATEWAY"]["HEALTH_TIMEOUT_SECONDS"] = 1
    # sessions that end two seconds after signing in, however busy
    platform_config["ACCOUNTS"] = {"SESSION_IDLE_MINUTES": 120, "SESSION_ABSOLUTE_HOURS": 2 / 3600}
    return platform_config


def test_an_expired_session_is_sent_to_sign_in_coming_back(gateway_url):
    browser = sign_in(gateway_url, create_account(gateway_url, "ops")["email"])
    assert browser.get(f"{gateway_url}/staff/mail", timeout=10).status_code in (200, 401)
    ended = wait_for(lambda: (r := browser.get(f"{gateway_url}/staff/mail", timeout=10)).status_code == 401 and r.text,
                     timeout=20, message="the session to end")
    assert 'action="/staff/login"' in ended and 'name="next" value="/staff/mail"' in ended
    assert "Je sessie is afgelopen" in ended
