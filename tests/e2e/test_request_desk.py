"""The request desk in headless Chromium, from intake to closure: the public form, then the staff
pages (colleagues, the queues, the request's page and its forms) worked by a staff member signed in
with their own account; the JSON API shows the outcome, and the audit log holds each of their desk
actions, once, with their name. Screenshots go to $E2E_SHOTS (else the test's temporary folder)."""
from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from services.accounts.api import MAX_AUDIT_PAGE
from tests.e2e.request_desk_browser import COLLEAGUE
from tests.e2e.support import assert_chromium_installed, browser_verdict, start_platform
from tests.integration.gateway.support import create_account

pytestmark = pytest.mark.e2e


@pytest.fixture
def base(runner_factory, platform_config, gateway_url):
    assert_chromium_installed()
    start_platform(runner_factory, platform_config, gateway_url)
    return gateway_url


def test_a_request_from_intake_to_closure_in_the_browser(base, platform_config, staff_headers, tmp_path):
    shots = Path(os.environ.get("E2E_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    account = create_account(base, "staff", email="bram@steunpunt.example", name=COLLEAGUE)
    verdict = browser_verdict("tests.e2e.request_desk_browser", base, account["email"], str(shots))
    request_id = verdict["request_id"]
    closed = requests.get(f"{base}/api/staff/requests/{request_id}", headers=staff_headers, timeout=10).json()
    assert closed["status"] == "closed"
    assert closed["totals"] == {"deliveries": 1, "dagdelen": 2, "participants": 12, "participations": 24}
    assert [note["text"] for note in closed["notes"]] == ["Gebeld met Lies: vorming voor 12 vrijwilligers."]
    for shot in verdict["shots"]:
        assert Path(shot).stat().st_size > 10_000, shot

    with ServiceRpcProxy("accounts", platform_config, timeout=30) as accounts:
        audit = accounts.list_audit({"limit": MAX_AUDIT_PAGE})["entries"]
    by_account = [e for e in audit if e["actor_account_id"] == account["account_id"]]
    assert {e["actor"] for e in by_account} == {COLLEAGUE}
    on_request = collections.Counter(e["action"] for e in by_account if e["subject_id"] == request_id)
    # each action once: the refused delivery (400) and the one from the stale page (409) wrote nothing
    assert on_request == {"request.explored": 1, "request.accepted": 1, "request.delivery_recorded": 1,
                          "request.closed": 1}, on_request
    elsewhere = collections.Counter(e["action"] for e in by_account if e["subject_id"] != request_id)
    assert elsewhere == {"account.signed_in": 1, "request_staff.created": 1, "request.recorded": 1}, elsewhere
    # nothing of the run was done in a machine token's name but the account the test made
    machine = [(e["action"], e["subject_id"]) for e in audit if e["actor_account_id"] is None]
    assert machine == [("account.created", account["account_id"])], machine
