"""The browser half of tests/e2e/test_staff_activities.py, run in its own process (playwright's
sync API hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.staff_activities_browser <gateway url> <staff token> <screenshot dir>

A staff member (bearer token) creates an activity through the form (an empty submit first: the
error summary), two people register on the public JSON API and a third through the staff form,
the activity is moved to today through the edit form, the attendance sheet is filled in and saved,
and the activity is completed. A
screenshot of every page: activities-<page>-<lang>.png. Exit status 0 and a JSON line
{"ok": true, "activity_id": ...}; else 1 and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from kernel.i18n import local
from tests.e2e.support import TIMEOUT_MS, browser_main, check, chromium, page_errors, policy_problems
from tests.integration.gateway.support import registration_payload

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def run(base: str, token: str, screenshots: str) -> dict:
    report: dict = {"steps": []}
    step = report["steps"].append

    def shot(page, name: str) -> None:
        page.screenshot(path=str(Path(screenshots) / f"activities-{name}.png"), full_page=True)

    with chromium() as browser:
        context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"},
                                      viewport={"width": 1200, "height": 900}, locale="nl-BE")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))

        step("the list leads to the form; an empty form gets the error summary")
        page.goto(f"{base}/staff/activities")
        page.get_by_role("link", name="Nieuwe activiteit").click()
        check(page.get_by_role("heading", name="Nieuwe activiteit").is_visible(), "no form heading")
        with page.expect_response(lambda r: r.request.method == "POST") as submitted:
            page.get_by_role("button", name="Opslaan").click()
        check(submitted.value.status == 400, f"the empty form answered {submitted.value.status}, not 400")
        title_link = page.locator(".error-summary").get_by_role("link", name=re.compile("^Titel"))
        check(title_link.get_attribute("href") == "#f-title", "the summary does not link to the title")
        check(page.locator("#e-title").is_visible() and page.locator("#e-kind").is_visible(), "no field errors")
        shot(page, "new-errors-nl")

        step("a valid form creates the activity")
        starts = datetime.now(UTC) + timedelta(days=7)
        page.get_by_label("Titel").fill("Vorming: samen besturen")
        page.get_by_label("Soort").select_option("vorming")
        page.get_by_label("Thema").fill("bestuur")
        page.get_by_label("Doelstelling").fill("SD1.OD4")
        page.get_by_label("Begint op").fill(local(starts).strftime(LOCAL_INPUT))
        page.get_by_label("Eindigt op").fill(local(starts + timedelta(days=1, hours=7)).strftime(LOCAL_INPUT))
        page.get_by_label("Aantal dagen").fill("2")
        page.get_by_label("Aantal dagdelen").fill("4")
        page.get_by_label("Maximum aantal deelnemers").fill("15")
        page.get_by_label("Plaats", exact=True).fill("Brussel")
        with page.expect_navigation():
            page.get_by_role("button", name="Opslaan").click()
        check("/staff/activities/" in page.url and page.url.count("/") == 5, f"not on the activity's page: {page.url}")
        activity_id = page.url.rsplit("/", 1)[1]
        report["activity_id"] = activity_id
        check(page.get_by_role("heading", name="Vorming: samen besturen").is_visible(), "no activity heading")

        step("two people register")
        for name, needs in (("Ann Peeters", {"sign_language_interpreter": True}),
                            ("Bert Claes", {"childcare": True, "dietary": "vegetarisch"})):
            email = name.split()[0].lower() + "@example.org"
            registered = requests.post(f"{base}/api/activities/{activity_id}/registrations", timeout=10,
                                       json=registration_payload(name=name, email=email, needs=needs))
            check(registered.status_code == 201, f"registration answered {registered.status_code}")

        step("a staff member registers someone on their behalf")
        page.goto(f"{base}/staff/activities/{activity_id}")
        page.get_by_role("link", name="Iemand inschrijven").click()
        page.get_by_label(re.compile("^Naam")).fill("Carla Janssens")
        page.get_by_label(re.compile("^E-mailadres")).fill("carla@example.org")
        page.get_by_label(re.compile("^De deelnemer gaat akkoord")).check()
        shot(page, "register-nl")
        with page.expect_navigation():
            page.get_by_role("button", name="Inschrijven", exact=True).click()
        check(page.url.endswith(f"/staff/activities/{activity_id}"), f"not back on the page: {page.url}")
        check(page.locator("text=Carla Janssens").first.is_visible(), "Carla not listed")

        step("the edit form moves it to today")
        page.get_by_role("link", name="Wijzigen").click()
        now = datetime.now(UTC)
        page.get_by_label("Begint op").fill(local(now - timedelta(hours=2)).strftime(LOCAL_INPUT))
        page.get_by_label("Eindigt op").fill(local(now + timedelta(days=1)).strftime(LOCAL_INPUT))
        shot(page, "edit-nl")
        with page.expect_navigation():
            page.get_by_role("button", name="Opslaan").click()
        check(page.url.endswith(f"/staff/activities/{activity_id}"), f"not back on the page: {page.url}")
        check(page.locator("text=Ann Peeters").first.is_visible(), "Ann not listed")
        shot(page, "activity-nl")
        page.goto(f"{base}/staff/activities/{activity_id}?lang=en")
        shot(page, "activity-en")

        step("the attendance sheet is filled in and saved at once")
        page.goto(f"{base}/staff/activities/{activity_id}/attendance?lang=nl")
        page.get_by_label("Ann Peeters").fill("2")
        page.get_by_label("Bert Claes").fill("1")
        with page.expect_navigation():
            page.get_by_role("button", name="Aanwezigheden bewaren").click()
        check(page.get_by_text("De aanwezigheden zijn bewaard.").is_visible(), "no saved notice")
        check(page.get_by_label("Ann Peeters").input_value() == "2", "Ann's days not kept")
        shot(page, "attendance-nl")

        step("the sign-in sheet prints without the navigation")
        page.goto(f"{base}/staff/activities/{activity_id}/sign-in-sheet")
        page.emulate_media(media="print")
        check(not page.locator("header.staff").is_visible(), "the navigation is printed")
        check(page.locator("table.sheet tbody tr").count() == 3 + 5, "not three participants and five blank lines")
        shot(page, "sign-in-sheet-print-nl")
        page.emulate_media(media="screen")

        step("the activity is completed")
        page.goto(f"{base}/staff/activities/{activity_id}/attendance")
        page.get_by_role("link", name="Terug naar Vorming: samen besturen").click()
        with page.expect_navigation():
            page.get_by_role("button", name="Afronden").click()
        check(page.locator("h1 .badge").inner_text().strip() == "Afgerond", "not shown as completed")
        page.goto(f"{base}/staff/activities")
        shot(page, "list-nl")
        page.goto(f"{base}/staff/activities/new?from={activity_id}&lang=fr")
        check(page.get_by_label("Titre").input_value() == "Vorming: samen besturen", "the repeat is not prefilled")
        shot(page, "repeat-fr")
        check(not page_errors(errors), f"page errors: {errors}")
        check(not policy_problems(console), f"policy problems: {policy_problems(console)}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
