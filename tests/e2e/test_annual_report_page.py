"""The printable annual report in headless Chromium, in Dutch and French: the known stream
through the real reporting service and the gateway, the figures of the annual document 1.1
on the page with their labels (values counted by hand from known_stream), a screenshot of each."""
from __future__ import annotations

import json

import pytest

from services.gateway.service import GatewayService
from services.reporting.service import ReportingService
from tests.conftest import STAFF_TOKEN
from tests.e2e.support import assert_chromium_installed, browser_verdict
from tests.integration.reporting import stream
from tests.integration.reporting.test_service import publish_and_wait

pytestmark = pytest.mark.e2e


# 2026 of known_stream, by hand: a2 (goal SD2.OD1, 4 participants, r7 a coordinator) and a4 (no
# goal after its update, 3 participants, r11 a coordinator) completed: 2 coordinators of 7;
# q4 (goal SD2.OD1) delivered; organisations 6 (open offer) + 2 (deliveries) added up.
EXPECTED = {
    "nl": {
        "totals.activities": ["Activiteiten (afgerond)", "3"],
        "totals.organisations_reached_tracks_added": ["Bereikte organisaties, beide werkingen opgeteld", "8"],
        "open_offer.coordinators_pct": ["Aandeel coördinatoren onder de deelnemers", "28,6"],
        "open_offer.by_goal.SD2.OD1.participants": ["Doelstelling SD2.OD1: deelnemers", "4"],
        "open_offer.by_goal.none.dagdelen": ["Doelstelling (geen): dagdelen", "3"],
        "demand_driven.requests_delivered_by_goal.SD2.OD1": ["Uitgevoerde vragen, doelstelling SD2.OD1", "1"],
    },
    "fr": {
        "totals.organisations_reached_tracks_added": ["Organisations atteintes, les deux volets additionnés", "8"],
        "open_offer.coordinators_pct": ["Part des coordinateur·rice·s parmi les participant·es", "28,6"],
        "open_offer.by_goal.SD2.OD1.participants": ["Objectif SD2.OD1 : participant·es", "4"],
        "demand_driven.requests_delivered_by_goal.SD2.OD1": ["Demandes réalisées, objectif SD2.OD1", "1"],
    },
}


@pytest.fixture
def platform(platform_config, container_factory):
    assert_chromium_installed()
    container_factory(ReportingService, platform_config).start()
    container_factory(GatewayService, platform_config).start()
    publish_and_wait(platform_config, stream.known_stream())
    return platform_config


def test_the_report_page_shows_the_breakdowns_in_dutch_and_french(platform, gateway_url, tmp_path):
    browser_verdict("tests.e2e.annual_report_browser", gateway_url, "2026", STAFF_TOKEN, str(tmp_path),
                    json.dumps(EXPECTED), timeout=120)
    for lang in EXPECTED:
        assert (tmp_path / f"report-{lang}.png").stat().st_size > 10_000
