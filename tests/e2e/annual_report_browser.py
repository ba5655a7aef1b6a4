"""The browser half of tests/e2e/test_annual_report_page.py, run in its own process (playwright's
sync API hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.annual_report_browser <gateway url> <year> <staff token> <screenshot dir> <expected json>

Opens the printable annual report in each language of `expected` ({lang: {figure: [label, value
of the year]}}), checks the page's language and those rows, and saves a full-page screenshot
`report-<lang>.png`. Exit status 0 and a JSON line {"ok": true, ...}; else 1 and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.e2e.support import TIMEOUT_MS, browser_main, check, chromium, words


def run(base: str, year: str, token: str, screenshots: str, expected_json: str) -> dict:
    expected = json.loads(expected_json)
    report: dict = {"shots": []}
    with chromium() as browser:
        context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"},
                                      viewport={"width": 1100, "height": 900})
        for lang, rows in expected.items():
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            answer = page.goto(f"{base}/staff/reports/annual/{year}?lang={lang}")
            check(answer.status == 200, f"{lang}: the report answered {answer.status}")
            check(page.evaluate("document.documentElement.lang") == lang, f"{lang}: the page is not in {lang}")
            for figure, (label, value) in rows.items():
                row = page.locator(f'tr[data-figure="{figure}"]')
                check(row.count() == 1, f"{lang}: no row {figure}")
                check(row.locator("th").inner_text().strip() == label,
                      f"{lang}: {figure} labelled {row.locator('th').inner_text()!r}, not {label!r}")
                shown = words(row.locator("td").nth(-2).inner_text())  # the year's column, before the target
                check(shown.startswith(value), f"{lang}: {figure} shows {shown!r}, not {value!r}")
            check(not errors, f"{lang}: page errors {errors}")
            shot = Path(screenshots) / f"report-{lang}.png"
            page.screenshot(path=str(shot), full_page=True)
            report["shots"].append(str(shot))
            page.close()
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
