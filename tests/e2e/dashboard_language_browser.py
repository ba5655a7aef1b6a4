"""The browser half of tests/e2e/test_dashboard.py's French run, in its own process (see dashboard_browser.py).

    python -m tests.e2e.dashboard_language_browser <gateway url> <year> <staff token> <registration id> \
        <email of a staff account>

Opens the live dashboard in French, records an attendance and waits for the page to update itself:
its live status, numbers and alerts then read as a fresh French render does (the script's words
and separators come from the page)."""
from __future__ import annotations

import sys
import time

from tests.e2e.dashboard_browser import LIVE_WAIT_S, PARTICIPANTS, record_attendance, snapshot
from tests.e2e.support import browser_main, check, chromium, fresh_render, page_errors, staff_sign_in, watched_page


def run(base: str, year: str, token: str, registration_id: str, email: str) -> dict:
    report: dict = {"steps": []}
    step = report["steps"].append
    dashboard_url = f"{base}/staff/dashboard/{year}?lang=fr"
    with chromium() as browser:
        context = browser.new_context()
        page, errors = watched_page(context)
        step("the dashboard in French")
        staff_sign_in(page, base, f"/staff/dashboard/{year}?lang=fr", email)
        check(page.get_by_role("heading", name=f"Tableau de bord en direct {year}", level=1).is_visible(),
              "no French heading")
        check("activité en alerte" in page.locator("#alert-count").inner_text(), "the alert summary is not French")

        step("updated in place, in French")
        started = time.monotonic()
        record_attendance(base, token, registration_id)
        while page.locator(PARTICIPANTS).inner_text() != "2" and time.monotonic() - started < LIVE_WAIT_S:
            page.wait_for_timeout(25)
        check(page.locator(PARTICIPANTS).inner_text() == "2", f"the new figure did not show in {LIVE_WAIT_S} s")
        status = page.locator("#live-status").inner_text()
        check(status.startswith("Chiffres actualisés à "), f"the live status is not French: {status!r}")
        after = snapshot(page)
        rendered = fresh_render(context, dashboard_url, snapshot)
        for key in rendered:
            check(after[key] == rendered[key], f"{key} differs from a fresh render:\n{after[key]}\n{rendered[key]}")
        check(not page_errors(errors), f"console errors: {page_errors(errors)}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
