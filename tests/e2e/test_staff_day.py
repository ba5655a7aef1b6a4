"""A staff member's whole day in headless Chromium, on the whole platform: an admin makes the
account; the staff member signs in, creates an activity, visitors register on the public page, the
attendance sheet is filled in (with a walk-in), the activity is completed, the survey mails are
captured and the dashboard counts the participants. Then: each attendee got exactly one survey mail
(the one who did not come none), and the audit log holds every action of the day with the account
that did it. Screenshots go to $SCREENSHOTS_DIR (else the test's temporary folder)."""
from __future__ import annotations

import collections
import os

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.accounts.api import MAX_AUDIT_PAGE
from tests.e2e.staff_day_browser import CAME, STAFF, SURVEY_SUBJECT, VISITORS, WALK_IN
from tests.e2e.support import assert_chromium_installed, browser_verdict, start_platform
from tests.integration.gateway.support import ACCOUNT_PASSWORD, create_account

pytestmark = pytest.mark.e2e

ADMIN_NAME = "Bea Beheer"


@pytest.fixture
def platform(runner_factory, platform_config, gateway_url):
    assert_chromium_installed()
    # surveys go out as soon as a completed activity has ended, and the evaluation service looks every second
    platform_config["EVALUATION"].update(LINK_SECRET="e2e-day-secret", INVITE_DELAY_HOURS=0, DUE_CHECK_SECONDS=1)
    start_platform(runner_factory, platform_config, gateway_url, healthy_within=60)


def test_a_staff_members_day_in_the_browser(platform, platform_config, gateway_url, tmp_path):
    shots = os.environ.get("SCREENSHOTS_DIR") or str(tmp_path)
    admin = create_account(gateway_url, "admin", email="bea@steunpunt.example", name=ADMIN_NAME)
    verdict = browser_verdict("tests.e2e.staff_day_browser", gateway_url, admin["email"], ACCOUNT_PASSWORD, shots,
                              timeout=600)
    activity_id, staff_id = verdict["activity_id"], verdict["staff_account_id"]

    with ServiceRpcProxy("registration", platform_config, timeout=30) as registration, \
            ServiceRpcProxy("notifications", platform_config, timeout=30) as notifications, \
            ServiceRpcProxy("accounts", platform_config, timeout=30) as accounts:
        registrations = {r["name"]: r for r in registration.list_registrations(activity_id)}
        mails = notifications.list_captured_mail(1000)
        audit = accounts.list_audit({"limit": MAX_AUDIT_PAGE})["entries"]

    attended = {name for name, r in registrations.items() if r["days_attended"]}
    assert attended == {*CAME, WALK_IN[0]}
    survey_mails = collections.Counter(m["recipient"] for m in mails if m["subject"] == SURVEY_SUBJECT)
    attendee_emails = {email for name, email in (*VISITORS, WALK_IN) if name in attended}
    assert survey_mails == {email: 1 for email in attendee_emails}, survey_mails

    done = {(e["actor_account_id"], e["actor"], e["action"], e["subject_id"]) for e in audit}
    by_admin, by_staff = (admin["account_id"], ADMIN_NAME), (staff_id, STAFF["name"])
    expected = {
        (*by_admin, "account.signed_in", admin["account_id"]),
        (*by_admin, "account.created", staff_id),
        (*by_staff, "account.signed_in", staff_id),
        (*by_staff, "activity.created", activity_id),
        (*by_staff, "activity.updated", activity_id),
        *((*by_staff, "attendance.recorded", registrations[name]["registration_id"]) for name in CAME),
        (*by_staff, "registration.walk_in", registrations[WALK_IN[0]]["registration_id"]),
        (*by_staff, "activity.completed", activity_id),
    }
    assert expected <= done, sorted(expected - done)
    # only the admin's own account was made with a machine token (by the test, before the day began)
    machine = [(e["action"], e["subject_id"]) for e in audit if e["actor_account_id"] is None]
    assert machine == [("account.created", admin["account_id"])], machine
