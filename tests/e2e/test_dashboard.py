"""The live dashboard in headless Chromium, on the whole platform: sign in through the staff
sign-in form, see the year to date, the targets, the charts and an activity in alert, then
record an attendance through the gateway and see the new figure without a reload, the same as a
fresh render, with no error in the browser console. (How soon: benchmarks/responsiveness_bench.py.)"""
from __future__ import annotations

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

TITLE = "Vorming dashboard live"
ALERT_ID = "e2e-dashboard-alert"


def alert_events(year: int) -> list[dict]:
    """An activity of `year` with five poor answers: in alert."""
    s = stream.Stream()
    starts = f"{year}-01-15T09:00:00+00:00"
    s.activity(f"{year}-01-02T09:00:00+00:00", ALERT_ID, starts, kind="workshop")
    for n in range(5):
        s.evaluate(f"{year}-01-16T09:00:00+00:00", f"e2e-e{n}", f"e2e-r{n}", ALERT_ID, 4, 3)
    return s.events


@pytest.fixture
def dashboard(runner_factory, platform_config, gateway_url, staff_headers):
    """(year, the registration whose attendance the browser records) on a running platform where
    one attendance of TITLE is counted and an activity is in alert."""
    assert_chromium_installed()
    start_platform(runner_factory, platform_config, gateway_url, healthy_within=60)
    now = utcnow()
    starts, ends = now - timedelta(hours=2), now + timedelta(hours=1)
    year = starts.astimezone(CENTRE_TIMEZONE).year
    with ServiceRpcProxy("registration", platform_config, timeout=30) as registration:
        activity = registration.create_activity(activity_payload(
            title=TITLE, starts_at=iso(starts), ends_at=iso(ends), registration_opens_at=None,
            registration_closes_at=iso(ends), capacity=10))
        first = registration.register(activity["activity_id"], registration_payload())
        second = registration.register(activity["activity_id"], registration_payload(
            name="Jan Janssens", email="jan@example.org"))
        registration.record_attendance(first["registration_id"], 1)
    publish_and_wait(platform_config, alert_events(year))

    def counted():
        body = requests.get(f"{gateway_url}/api/kpis/dashboard/{year}", headers=staff_headers, timeout=10).json()
        return body["annual"]["open_offer"]["participants"] == 1 and any(row["alert"] for row in body["activities"])

    wait_for(counted, timeout=60, message="reporting to count the first attendance")
    return year, second["registration_id"]


def test_the_live_dashboard_updates_in_place(dashboard, gateway_url):
    year, registration_id = dashboard
    browser_verdict("tests.e2e.dashboard_browser", gateway_url, str(year), STAFF_TOKEN, registration_id, TITLE,
                    ALERT_ID, create_account(gateway_url, "staff")["email"], timeout=120)
    body = requests.get(f"{gateway_url}/api/kpis/dashboard/{year}",
                        headers={"Authorization": f"Bearer {STAFF_TOKEN}"}, timeout=10).json()
    assert body["annual"]["open_offer"]["participants"] == 2


def test_the_live_dashboard_updates_in_place_in_french(dashboard, gateway_url):
    year, registration_id = dashboard
    browser_verdict("tests.e2e.dashboard_language_browser", gateway_url, str(year), STAFF_TOKEN, registration_id,
                    create_account(gateway_url, "staff")["email"], timeout=120)
