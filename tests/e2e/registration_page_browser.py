"""The browser half of tests/e2e/test_registration_page.py, run in its own
process: playwright's sync API (greenlets + asyncio) hangs when it shares a
process with eventlet's monkey-patching and a running nameko container, so the
test starts this script with the activity's URL and reads its verdict.

    python -m tests.e2e.registration_page_browser http://127.0.0.1:8000/activities/<id> "<title>"

Exit status 0 and a JSON line {"ok": true, ...} when every step passed; else
exit status 1 and {"ok": false, "step": ..., "error": ...}.
"""
from __future__ import annotations

import json
import re
import sys
import urllib.request

from tests.e2e.support import browser_main, check, chromium, open_watched, policy_problems, submit_empty


def registration_status(base: str, token: str) -> str:
    with urllib.request.urlopen(f"{base}/api/registrations/{token}", timeout=10) as response:
        return json.load(response)["status"]


def run(activity_url: str, title: str) -> dict:
    base = activity_url.split("/activities/")[0]
    report: dict = {"steps": []}
    step = report["steps"].append
    with chromium() as browser:
        step("dutch by default")
        page, console = open_watched(browser.new_context(), activity_url, "nl")
        check(page.get_by_role("heading", name=title).is_visible(), "activity title not shown")
        check(page.get_by_label(re.compile(r"^Naam")).is_visible(), "no Dutch 'Naam' field")
        check(page.get_by_role("button", name="Inschrijven").is_visible(), "no Dutch submit button")
        check(page.locator("script").count() == 0, "the page has JavaScript")
        # the inline <style> is allowed by its hash: the page is styled, and nothing was refused
        border = page.locator("header").evaluate("e => getComputedStyle(e).borderBottomWidth")
        check(border == "4px", f"the page's CSS did not apply under its Content-Security-Policy ({border})")
        check(not policy_problems(console), f"policy errors in the console: {policy_problems(console)}")

        step("switch to English, remembered")
        page.get_by_role("link", name="English").click()
        check(page.locator("html").get_attribute("lang") == "en", "language switch did not give lang=en")
        check(page.get_by_role("button", name="Register").is_visible(), "no English submit button")
        page.goto(activity_url)
        check(page.locator("html").get_attribute("lang") == "en", "English not remembered without ?lang")

        step("empty form shows field errors")
        submit_empty(page, "Register", "Name")
        check(page.locator("#f-email").get_attribute("aria-invalid") == "true", "email not marked invalid")
        check(page.locator("#e-privacy_consent").is_visible(), "no consent error")

        step("valid submission is confirmed, with a cancel link")
        page.get_by_label(re.compile(r"^Name")).fill("Ann Peeters")
        page.get_by_label(re.compile(r"^Email address")).fill("ann@example.org")
        page.get_by_label("Sign-language interpreter").check()
        page.get_by_label(re.compile("^I agree")).check()
        with page.expect_response(lambda r: r.request.method == "POST") as submitted:
            page.get_by_role("button", name="Register").click()
        check(submitted.value.status == 201, f"valid form answered {submitted.value.status}, not 201")
        check(page.get_by_role("heading", name="You are registered").is_visible(), "no confirmation heading")
        (csrf,) = [c for c in page.context.cookies() if c["name"] == "csrf"]
        check(csrf["httpOnly"] and csrf["sameSite"] == "Strict", f"the CSRF cookie is {csrf}")
        cancel_link = page.locator("#cancel-link")
        cancel_url = cancel_link.get_attribute("href")
        check(bool(re.search(r"/registrations/[^/]+/cancel$", cancel_url or "")), f"odd cancel link {cancel_url}")
        token = cancel_url.rsplit("/", 2)[-2]
        report["cancel_url"] = cancel_url

        step("following the cancel link only asks")
        cancel_link.click()
        check(page.get_by_role("heading", name="Cancel registration").is_visible(), "no cancel page")
        status = registration_status(base, token)
        check(status == "confirmed", f"opening the cancel link changed the status to {status}")

        step("confirming cancels")
        page.get_by_role("button", name="Yes, cancel my registration").click()
        check(page.get_by_role("heading", name="Your registration is cancelled").is_visible(), "no cancelled page")
        status = registration_status(base, token)
        check(status == "cancelled", f"status after confirming is {status}")

        step("no policy errors on any page")
        check(not policy_problems(console), f"policy errors in the console: {policy_problems(console)}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
