"""The live dashboard's breakdowns in headless Chromium, on the whole platform: the row of a goal
that holds a dot shows the figures computed independently from the events, and when an activity
with that goal is completed through the gateway the row changes in place (no reload) to what a
fresh render shows."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from kernel.config import CENTRE_TIMEZONE
from kernel.tables import utcnow
from tests.conftest import STAFF_TOKEN
from tests.e2e.support import assert_chromium_installed, browser_verdict, start_platform
from tests.helpers import wait_for
from tests.integration.gateway.support import activity_payload, create_account, iso, registration_payload
from tests.integration.reporting import stream
from tests.integration.reporting.test_service import publish_and_wait

pytestmark = pytest.mark.e2e

GOAL = "SD3.OD7"  # a goal key with a dot: the page must not read it as a path
LIVE_DAGDELEN = 2


def earlier_events(year: int) -> list[dict]:
    """A completed activity of `year` with GOAL, three dagdelen and two participants."""
    s = stream.Stream()
    org = ("e2e-bd-org", "vereniging", True)
    s.org(f"{year}-01-01T09:00:00+00:00", *org)
    s.activity(f"{year}-01-01T09:00:00+00:00", "e2e-bd-earlier", f"{year}-01-01T12:00:00+00:00", dagdelen=3,
               goal=GOAL)
    for n in range(2):
        s.register(f"{year}-01-01T10:00:00+00:00", f"e2e-bd-r{n}", "e2e-bd-earlier", f"e2e-bd-p{n}", org)
        s.attend(f"{year}-01-01T18:00:00+00:00", f"e2e-bd-r{n}", "e2e-bd-earlier", f"e2e-bd-p{n}", org, 1)
    s.emit("activity.completed", f"{year}-01-01T19:00:00+00:00", activity_id="e2e-bd-earlier")
    return s.events


@pytest.fixture
def platform_with_goal(runner_factory, platform_config, gateway_url, staff_headers):
    """(year, the figures of GOAL from the earlier events, a started activity with GOAL and one attendance)."""
    assert_chromium_installed()
    start_platform(runner_factory, platform_config, gateway_url)
    now = utcnow()
    starts, ends = now - timedelta(hours=2), now + timedelta(hours=1)
    year = starts.astimezone(CENTRE_TIMEZONE).year
    events = earlier_events(year)
    publish_and_wait(platform_config, events)
    with ServiceRpcProxy("registration", platform_config, timeout=30) as registration:
        activity = registration.create_activity(activity_payload(
            title="Vorming per doelstelling", goal=GOAL, dagdelen=LIVE_DAGDELEN, starts_at=iso(starts),
            ends_at=iso(ends), registration_opens_at=None, registration_closes_at=iso(ends), capacity=10))
        registered = registration.register(activity["activity_id"], registration_payload())
        registration.record_attendance(registered["registration_id"], 1)

    def counted():
        body = requests.get(f"{gateway_url}/api/kpis/dashboard/{year}", headers=staff_headers, timeout=10).json()
        return body["annual"]["open_offer"]["participants"] == 3

    wait_for(counted, timeout=15, message="reporting to count the attendances")
    return year, stream.expected_annual(events, year)["open_offer"]["by_goal"][GOAL], activity["activity_id"]


def test_a_goal_with_a_dot_shows_and_updates_in_place(platform_with_goal, gateway_url, tmp_path):
    year, earlier, activity_id = platform_with_goal
    assert earlier == {"activities": 1, "dagdelen": 3, "participants": 2}
    before = [str(earlier[m]) for m in ("activities", "dagdelen", "participants")]
    # completing the live activity adds it, its dagdelen and its one participant to the goal
    after = [str(earlier["activities"] + 1), str(earlier["dagdelen"] + LIVE_DAGDELEN), str(earlier["participants"] + 1)]
    browser_verdict("tests.e2e.dashboard_breakdowns_browser", gateway_url, str(year), STAFF_TOKEN, activity_id, GOAL,
                    json.dumps(before), json.dumps(after), str(tmp_path), create_account(gateway_url, "staff")["email"])
    assert (tmp_path / "breakdowns-after.png").stat().st_size > 0
    body = requests.get(f"{gateway_url}/api/kpis/dashboard/{year}",
                        headers={"Authorization": f"Bearer {STAFF_TOKEN}"}, timeout=10).json()
    assert body["annual"]["open_offer"]["by_goal"][GOAL] == {"activities": 2, "dagdelen": 5, "participants": 3}
