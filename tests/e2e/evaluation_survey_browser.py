"""The browser half of tests/e2e/test_evaluation_survey.py, run in its own process (playwright's
sync API hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.evaluation_survey_browser http://127.0.0.1:8000/evaluations/<token>?lang=nl "<title>"

Exit status 0 and a JSON line {"ok": true, ...} when every step passed; else exit status 1
and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import re
import sys

from tests.e2e.support import browser_main, check, chromium, open_watched, policy_problems

SATISFACTION = re.compile(r"^Hoe tevreden ben je over deze activiteit\?")
RECOMMEND = re.compile(r"^Hoe waarschijnlijk is het dat je deze activiteit aanraadt aan een collega\?")


def run(survey_url: str, title: str) -> dict:
    report: dict = {"steps": []}
    step = report["steps"].append
    with chromium() as browser:
        step("the survey renders in Dutch, without JavaScript, for screen readers")
        phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
        page, console = open_watched(phone, survey_url, "nl")
        check(page.get_by_role("heading", name=f"Wat vond je van {title}?").is_visible(), "no Dutch heading")
        check(page.locator("script").count() == 0, "the page has JavaScript")
        for legend in (SATISFACTION, RECOMMEND):
            group = page.get_by_role("group", name=legend)
            check(group.count() == 1, f"no fieldset/legend group {legend.pattern}")
            check(group.get_by_role("radio").count() == 11, f"{legend.pattern}: not 11 radios")
            for score in ("0", "5", "10"):
                check(group.get_by_role("radio", name=score, exact=True).count() == 1,
                      f"{legend.pattern}: radio {score} has no label")
        for label in ("Wat vond je het nuttigst?", "Wat kan beter?", "Wil je nog iets anders kwijt?"):
            check(page.get_by_label(label, exact=True).is_visible(), f"no labelled text field {label!r}")

        step("fits a phone screen")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        check(overflow <= 0, f"the page scrolls sideways by {overflow}px on a 360px screen")
        box = page.locator(".scale-option").first.bounding_box()
        check(box["width"] >= 40 and box["height"] >= 40, f"score targets too small for a finger: {box}")

        step("submitting without scores shows field errors")
        with page.expect_response(lambda r: r.request.method == "POST") as submitted:
            page.get_by_label("Wat kan beter?", exact=True).fill("Meer pauzes")
            page.get_by_role("button", name="Antwoorden versturen").click()
        check(submitted.value.status == 400, f"empty scores answered {submitted.value.status}, not 400")
        summary = page.locator(".error-summary")
        check(summary.is_visible(), "no error summary")
        for field in ("satisfaction", "recommend"):
            link = summary.locator(f'a[href="#f-{field}"]')
            check(link.count() == 1, f"the summary does not link to {field}")
            check(page.locator(f"#e-{field}").is_visible(), f"no error message for {field}")
            check(page.locator(f"#f-{field}").get_attribute("aria-invalid") == "true", f"{field} not invalid")
        check(page.get_by_label("Wat kan beter?", exact=True).input_value() == "Meer pauzes",
              "what was typed is lost")
        summary.locator('a[href="#f-satisfaction"]').click()
        check(page.evaluate("document.activeElement.id") == "f-satisfaction",
              "the summary link does not bring focus to the question")

        step("a valid answer is thanked for")
        page.get_by_role("group", name=SATISFACTION).get_by_role("radio", name="8", exact=True).check()
        page.get_by_role("group", name=RECOMMEND).get_by_role("radio", name="9", exact=True).check()
        page.get_by_label("Wat vond je het nuttigst?", exact=True).fill("De oefeningen")
        with page.expect_response(lambda r: r.request.method == "POST") as submitted:
            page.get_by_role("button", name="Antwoorden versturen").click()
        check(submitted.value.status == 201, f"valid answer answered {submitted.value.status}, not 201")
        check(page.get_by_role("heading", name="Bedankt voor je antwoorden").is_visible(), "no thank-you page")

        step("the link is single-use")
        again = page.goto(survey_url)
        check(again.status == 409, f"the used link answered {again.status}, not 409")
        check(page.get_by_role("heading", name="Je hebt al geantwoord").is_visible(), "no 'already answered'")

        step("a tampered link gets a clear page, in English on request")
        token = survey_url.split("/evaluations/")[1].split("?")[0]
        tampered = survey_url.split("/evaluations/")[0] + f"/evaluations/{token[:-4]}AAAA?lang=en"
        bad = page.goto(tampered)
        check(bad.status == 404, f"a tampered link answered {bad.status}, not 404")
        check(page.locator("html").get_attribute("lang") == "en", "not lang=en")
        check(page.get_by_role("heading", name="This link does not work").is_visible(), "no clear page")

        step("no policy errors on any page (the survey's own <style> is allowed by its hash)")
        check(not policy_problems(console), f"policy errors in the console: {policy_problems(console)}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
