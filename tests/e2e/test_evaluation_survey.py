"""The survey page in headless Chromium, on the whole platform: a completed activity's attendee
opens their personal link (Dutch, no JavaScript, fieldsets and legends for the 0-10 scales, a
phone-sized screen), gets field errors linked from the summary, answers, is thanked, and the link
is then used up; a tampered link gets a clear 404 page. The answer arrives as evaluation.submitted."""
from __future__ import annotations

from datetime import timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import get_container

from kernel.tables import utcnow
from services.evaluation.service import EvaluationService
from tests.e2e.support import assert_chromium_installed, browser_verdict, wait_until_healthy
from tests.helpers import EventSpy, wait_for
from tests.integration.evaluation.support import MovableClock, with_clock
from tests.integration.gateway.support import activity_payload, all_services, iso, registration_payload

pytestmark = pytest.mark.e2e

TITLE = "Workshop vrijwilligers onthalen"


@pytest.fixture
def survey(runner_factory, platform_config, gateway_url):
    """(the survey URL of an attendee of a completed activity, the spy on evaluation events)."""
    assert_chromium_installed()
    platform_config["EVALUATION"].update(LINK_SECRET="e2e-secret", DUE_CHECK_SECONDS=3600, INVITE_DELAY_HOURS=2)
    events = EventSpy(platform_config["AMQP_URI"], "evaluation")
    clock = MovableClock()
    runner = runner_factory(platform_config, *all_services())
    with_clock(get_container(runner, EvaluationService), clock)
    runner.start()
    wait_until_healthy(gateway_url)
    now = utcnow()
    ends = now + timedelta(hours=1)
    with ServiceRpcProxy("registration", platform_config, timeout=30) as registration, \
            ServiceRpcProxy("evaluation", platform_config, timeout=30) as evaluation:
        activity = registration.create_activity(activity_payload(
            title=TITLE, kind="workshop", starts_at=iso(now - timedelta(hours=2)), ends_at=iso(ends),
            registration_opens_at=None, registration_closes_at=iso(ends)))
        registered = registration.register(activity["activity_id"], registration_payload())
        registration.record_attendance(registered["registration_id"], 1)
        registration.complete_activity(activity["activity_id"])
        clock.set(ends + timedelta(hours=3))
        wait_for(lambda: evaluation.run_due()["invited"] == 1, timeout=15, message="the survey to be sent")
        (requested,) = events.wait("evaluation.requested")
        url = evaluation.invitation_for(requested["data"]["evaluation_id"])["survey_url"]
    return f"{url}?lang=nl", events


def test_answer_the_survey_in_the_browser(survey):
    url, events = survey
    browser_verdict("tests.e2e.evaluation_survey_browser", url, TITLE)
    (submitted,) = events.wait("evaluation.submitted")
    assert (submitted["data"]["satisfaction"], submitted["data"]["recommend"], submitted["data"]["has_comment"]) == (
        8, 9, True)
