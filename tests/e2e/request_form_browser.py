"""The browser half of tests/e2e/test_request_form.py, run in its own process (playwright's
sync API hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.request_form_browser http://127.0.0.1:8000/requests/new

Exit status 0 and a JSON line {"ok": true, ...} when every step passed; else exit status 1
and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import re
import sys

from tests.e2e.support import browser_main, check, chromium, open_watched, policy_problems, submit_empty


def run(form_url: str) -> dict:
    report: dict = {"steps": []}
    step = report["steps"].append
    with chromium() as browser:
        step("dutch by default, no JavaScript")
        page, console = open_watched(browser.new_context(), form_url, "nl")
        check(page.get_by_role("heading", name="Vraag ondersteuning op maat").is_visible(), "no Dutch heading")
        check(page.get_by_label(re.compile(r"^Naam(?! van)")).is_visible(), "no labelled Dutch 'Naam' field")
        check(page.get_by_label(re.compile(r"^Wat is je vraag")).is_visible(), "no labelled question field")
        check(page.get_by_role("button", name="Vraag versturen").is_visible(), "no Dutch submit button")
        check(page.locator("script").count() == 0, "the page has JavaScript")
        check(page.locator("input[type=file]").count() == 0, "the form asks for a file (an ID document?)")

        step("empty submit shows field errors")
        submit_empty(page, "Vraag versturen", "Naam")
        for field in ("name", "email", "question", "theme"):
            check(page.locator(f"#f-{field}").get_attribute("aria-invalid") == "true", f"{field} not invalid")
            check(page.locator(f"#e-{field}").is_visible(), f"no error message for {field}")
        check(page.locator("#e-privacy_consent").is_visible(), "no consent error")

        step("a valid submit shows the acknowledgement")
        page.get_by_label(re.compile(r"^Naam(?! van)")).fill("An Peeters")
        page.get_by_label(re.compile(r"^E-mailadres")).fill("an@example.org")
        page.get_by_label("Voor wie stel je de vraag?").select_option("type:civiel_scw")
        page.get_by_label(re.compile(r"^Naam van je organisatie")).fill("Buurtinitiatief De Kaai")
        page.get_by_label(re.compile(r"^Wat is je vraag")).fill("Kunnen jullie onze vrijwilligers vormen?")
        page.get_by_label(re.compile(r"^Thema")).select_option("vrijwilligers")
        page.get_by_label(re.compile("^Ik ga akkoord")).check()
        with page.expect_response(lambda r: r.request.method == "POST") as submitted:
            page.get_by_role("button", name="Vraag versturen").click()
        check(submitted.value.status == 201, f"valid form answered {submitted.value.status}, not 201")
        check(page.get_by_role("heading", name="We hebben je vraag ontvangen").is_visible(),
              "no acknowledgement heading")
        report["request_id"] = page.locator("#request-reference").inner_text().strip()
        check(not policy_problems(console), f"policy errors in the console: {policy_problems(console)}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
