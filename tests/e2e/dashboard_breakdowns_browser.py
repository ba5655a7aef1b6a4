"""The browser half of tests/e2e/test_dashboard_breakdowns.py, run in its own process (playwright's
sync API hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.dashboard_breakdowns_browser <gateway url> <year> <staff token> <activity id> <goal> \
        <cells before, JSON> <cells after, JSON> <screenshot folder>

Signs in, finds the row of `goal` in the table "Open offer by goal" with the cells expected
before, completes `activity id` through the gateway (a real event through the platform) and waits
for the row to show the cells expected after, without a reload and as a fresh render shows them.

Exit status 0 and a JSON line {"ok": true, ...} when every step passed; else exit status 1
and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

from tests.e2e.support import browser_main, check, chromium, fresh_render, page_errors, staff_sign_in, watched_page

WAIT_S = 60  # how long to wait for the row to change at most: a bound for a hung platform, not a speed target


def complete_activity(base: str, token: str, activity_id: str) -> None:
    request = urllib.request.Request(
        f"{base}/api/staff/activities/{activity_id}/complete", method="POST", data=b"{}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        check(response.status == 200, f"completing the activity answered {response.status}")


def goal_cells(page, goal: str) -> list[str] | None:
    """The cells of the goal's row in "Open offer by goal", None while there is no such row."""
    return page.evaluate(
        """goal => {
            const row = [...document.querySelectorAll('#bd-oo-goal tbody tr')]
              .find(tr => tr.querySelector('th') && tr.querySelector('th').textContent === goal);
            return row ? [...row.querySelectorAll('td')].map(td => td.textContent) : null;
        }""", goal)


def breakdown_texts(page) -> list[str]:
    return [" ".join(text.split()) for text in page.locator("table.breakdown").all_inner_texts()]


def run(base: str, year: str, token: str, activity_id: str, goal: str, before: str, after: str,
        shots: str, email: str) -> dict:
    report: dict = {"steps": []}
    step = report["steps"].append
    dashboard_url = f"{base}/staff/dashboard/{year}?lang=en"
    expected_before, expected_after = json.loads(before), json.loads(after)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page, errors = watched_page(context)

        step("sign in and open the dashboard")
        staff_sign_in(page, base, f"/staff/dashboard/{year}?lang=en", email)
        check(page.url == dashboard_url, f"signing in led to {page.url}, not the dashboard")

        step("the breakdowns are tables of words and numbers")
        for caption in ("Open offer by goal", "Open offer by theme", "Open offer by kind of activity",
                        "Open offer by organisation type", "Open offer by target group",
                        "Demand-driven work by target group", "Demand-driven work by organisation type",
                        "Requests delivered by goal"):
            check(page.get_by_role("table", name=caption).count() == 1, f"no table {caption!r}")
        check(goal_cells(page, goal) == expected_before,
              f"goal {goal} shows {goal_cells(page, goal)}, not {expected_before}")
        text = page.locator("main").inner_text()
        check("{" not in text and '":' not in text, "JSON shows on the page")
        page.locator("#h-breakdowns").scroll_into_view_if_needed()
        page.screenshot(path=str(Path(shots) / "breakdowns-before.png"), full_page=True)

        step("completing the activity updates the goal's row in place")
        page.evaluate("window.__dashboardMarker = 'same page'")
        complete_activity(base, token, activity_id)
        # polled from here: wait_for_function evaluates strings, which the page's CSP forbids
        deadline = time.monotonic() + WAIT_S
        while goal_cells(page, goal) != expected_after and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        check(goal_cells(page, goal) == expected_after,
              f"goal {goal} shows {goal_cells(page, goal)}, not {expected_after}")
        check(page.evaluate("window.__dashboardMarker") == "same page", "the page was reloaded")
        check(page.evaluate("performance.getEntriesByType('navigation').length") == 1, "a second navigation")
        page.screenshot(path=str(Path(shots) / "breakdowns-after.png"), full_page=True)

        step("the breakdowns updated in place are what the server renders")
        rendered = fresh_render(context, dashboard_url, breakdown_texts)
        check(breakdown_texts(page) == rendered, f"differs from a fresh render:\n{breakdown_texts(page)}\n{rendered}")

        step("no errors in the browser console")
        check(not page_errors(errors), f"console errors: {page_errors(errors)}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
