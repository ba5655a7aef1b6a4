"""The browser half of tests/e2e/test_dashboard.py, run in its own process (playwright's sync API
hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.dashboard_browser <gateway url> <year> <staff token> <registration id> "<title>" <alert id>
        <email of a staff account>

Signs in through the staff sign-in form, opens the live dashboard, checks what it shows, then
records the attendance of `registration id` through the gateway (a real event through the
platform) and waits for the page to show one more participant, without a reload. (How soon:
benchmarks/responsiveness_bench.py; here the page has a generous LIVE_WAIT_S.)

Exit status 0 and a JSON line {"ok": true, ...} when every step passed; else exit status 1
and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import json
import re
import sys
import time
import urllib.request

from tests.e2e.support import (
    browser_main,
    check,
    chromium,
    fresh_render,
    page_errors,
    staff_sign_in,
    watched_page,
    words,
)

PARTICIPANTS = '[data-k="annual.open_offer.participants"]'
# the page asks once a second; far beyond that on the busiest machine, it does not update itself
LIVE_WAIT_S = 30.0


def record_attendance(base: str, token: str, registration_id: str) -> None:
    request = urllib.request.Request(
        f"{base}/api/staff/registrations/{registration_id}/attendance", method="PUT",
        data=json.dumps({"days_attended": 1}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        check(response.status == 200, f"recording attendance answered {response.status}")


def snapshot(page) -> dict:
    """The texts a person reads: targets, year-to-date figures, alerts, month table, activity rows, chart labels."""
    return {
        "targets": words(page.locator("ul.targets").inner_text()),
        "figures": words(page.locator("dl.figures").inner_text()),
        "alerts": words(page.locator("#alert-count").inner_text() + " " + page.locator("#alert-list").inner_text()),
        "months": words(page.locator("table.months").inner_text()),
        "activities": words(page.locator("#activity-rows").inner_text()),
        "charts": page.eval_on_selector_all("svg[data-chart] text.value", "nodes => nodes.map(n => n.textContent)"),
        "bars": page.eval_on_selector_all("svg[data-chart] rect",
                                          "nodes => nodes.map(n => Number(n.getAttribute('height')))"),
    }


def run(base: str, year: str, token: str, registration_id: str, title: str, alert_id: str, email: str) -> dict:
    report: dict = {"steps": []}
    step = report["steps"].append
    dashboard_url = f"{base}/staff/dashboard/{year}?lang=en"
    with chromium() as browser:
        context = browser.new_context()
        step("without signing in, no figures")
        probe = context.new_page()
        refused = probe.goto(dashboard_url)
        check(refused.status in (401, 403) or "/staff/login" in probe.url,
              f"the dashboard answered {refused.status} at {probe.url} without a token")
        check(probe.locator(PARTICIPANTS).count() == 0, "figures shown without signing in")
        probe.close()

        page, errors = watched_page(context)

        step("sign in through the staff sign-in form")
        staff_sign_in(page, base, f"/staff/dashboard/{year}?lang=en", email)
        check(page.url == dashboard_url, f"signing in led to {page.url}, not the dashboard")

        step("the dashboard shows the year to date, targets, charts, tables and alerts")
        check(page.get_by_role("heading", name=f"Live dashboard {year}", level=1).is_visible(), "no heading")
        participants = page.locator(PARTICIPANTS).inner_text()
        check(participants == "1", f"participants {participants!r}")
        targets = page.locator("ul.targets > li")
        check(targets.count() == 3, f"{targets.count()} targets, not 3")
        for name in ("Satisfaction (open offer)", "Net Promoter Score (open offer)",
                     "Recognised organisations reached (both tracks)"):
            check(page.get_by_role("heading", name=name).is_visible(), f"no target {name!r}")
        check(re.search(r"(✓ met|✗ missed|– not measured)", targets.first.inner_text()) is not None,
              "a target's status is not in words")
        for chart in ("Participants per month", "Activities held per month", "Dagdelen per month",
                      "Satisfaction per month"):
            check(page.get_by_role("img", name=re.compile(f"^{chart}, {year}")).count() == 1, f"no chart {chart!r}")
        check(page.get_by_role("table", name=f"Per month, {year}").is_visible(), "no month table")
        row = page.locator("#activity-rows tr", has_text=title)
        check(row.count() == 1, f"no row for {title!r}")
        alert_row = page.locator(f'tr[id="act-{alert_id}"]')
        check(alert_row.get_attribute("class") == "alert", "the activity in alert is not highlighted")
        check("Alert" in alert_row.inner_text() and "satisfaction below 60" in alert_row.inner_text(),
              "the alert is not said in words")
        check("No activity in alert" not in page.locator("#alert-count").inner_text(), "alert summary empty")
        check(page.locator("noscript").count() == 1, "no <noscript> note")
        check(page.get_by_role("link", name="Refresh the figures").count() == 1, "no refresh link")
        check(page.evaluate("document.querySelectorAll('[style]').length") == 0, "style attributes on the page")
        check(page.evaluate("document.querySelectorAll('script:not([src]), style').length") == 0,
              "inline script or style on the page")
        before = snapshot(page)

        step("a new event shows, without a reload")
        page.evaluate("window.__dashboardMarker = 'same page'")
        started = time.monotonic()
        record_attendance(base, token, registration_id)
        # polled from here: wait_for_function evaluates strings, which the page's CSP forbids
        while page.locator(PARTICIPANTS).inner_text() != "2" and time.monotonic() - started < LIVE_WAIT_S:
            page.wait_for_timeout(25)
        report["seconds"] = round(time.monotonic() - started, 3)
        check(page.locator(PARTICIPANTS).inner_text() == "2", f"the new figure did not show in {LIVE_WAIT_S} s")
        check(page.evaluate("window.__dashboardMarker") == "same page", "the page was reloaded")
        check(page.evaluate("performance.getEntriesByType('navigation').length") == 1, "a second navigation")
        check(page.url == dashboard_url, f"the page moved to {page.url}")
        check(re.search(r"updated at", page.locator("#live-status").inner_text()) is not None,
              "the live status does not say the figures were updated")
        check(row.locator("td").nth(5).inner_text() == "2", "the activity row does not show 2 participants")
        after = snapshot(page)
        check(after["charts"] != before["charts"], "the charts' labels did not change")

        step("what the page shows after updating itself is what the server renders")
        rendered = fresh_render(context, dashboard_url, snapshot)
        for key in rendered:
            check(after[key] == rendered[key], f"{key} differs from a fresh render:\n{after[key]}\n{rendered[key]}")

        step("no errors in the browser console")
        check(not page_errors(errors), f"console errors: {page_errors(errors)}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
