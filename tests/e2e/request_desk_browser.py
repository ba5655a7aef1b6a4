"""The browser half of tests/e2e/test_request_desk.py, run in its own process (playwright's sync API
hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.request_desk_browser <gateway url> <staff account's email> <screenshot folder>

A requester asks on the public form; a staff member signs in with their account (the tests'
ACCOUNT_PASSWORD) and, their "mine" queue empty until they are a colleague of the desk, adds
themselves as a colleague (the same email), finds the request in the "new" queue, explores it,
accepts it for the suggested colleague (themselves: it is then in "mine"), records a delivery (a
mistake first: the field error beside its field) and closes it; a page of it left open is then
refused. Last, a request taken by phone is recorded.
Saves a full-page screenshot of each staff page as desk-<page>-<lang>.png.

Exit status 0 and a JSON line {"ok": true, "request_id": ...} when every step passed; else exit
status 1 and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

from tests.e2e.support import (
    browser_main,
    check,
    chromium,
    open_watched,
    page_errors,
    policy_problems,
    staff_sign_in,
    watched_page,
    words,
)

COLLEAGUE = "Bram Claes"  # the staff account's name


def run(base: str, email: str, shots: str) -> dict:
    report: dict = {"steps": [], "shots": []}
    step = report["steps"].append

    def shoot(page, name: str, lang: str = "nl") -> None:
        shot = Path(shots) / f"desk-{name}-{lang}.png"
        page.screenshot(path=str(shot), full_page=True)
        report["shots"].append(str(shot))

    def submit(page, button: str, status: int = 200) -> None:
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_load_state()
        check(posted.value.status in (status, 303), f"{button} answered {posted.value.status}")

    with chromium() as browser:
        step("a requester asks on the public form")
        page, console = open_watched(browser.new_context(), f"{base}/requests/new", "nl")
        page.get_by_label(re.compile(r"^Naam(?! van)")).fill("Lies Peeters")
        page.get_by_label(re.compile(r"^E-mailadres")).fill("lies@example.org")
        page.get_by_label("Voor wie stel je de vraag?").select_option("type:civiel_scw")
        page.get_by_label(re.compile(r"^Naam van je organisatie")).fill("Buurtinitiatief De Kaai")
        page.get_by_label(re.compile(r"^Wat is je vraag")).fill("Kunnen jullie onze vrijwilligers vormen?")
        page.get_by_label(re.compile(r"^Thema")).select_option("vrijwilligers")
        page.get_by_label(re.compile("^Ik ga akkoord")).check()
        submit(page, "Vraag versturen", 201)
        request_id = page.locator("#request-reference").inner_text().strip()
        report["request_id"] = request_id

        staff = browser.new_context()
        desk, errors = watched_page(staff)

        step("the staff member signs in; not a colleague of the desk yet, so no requests of theirs")
        staff_sign_in(desk, base, "/staff/requests?queue=mine", email)
        check(desk.url.endswith("/staff/requests?queue=mine"), f"the sign-in led to {desk.url}")
        check(f"geen collega met het e-mailadres {email}" in desk.locator("main").inner_text(),
              "mine does not say the viewer is no colleague")
        shoot(desk, "queue-mine-no-colleague")

        step("they join the desk as a colleague, with their account's email")
        desk.goto(f"{base}/staff/requests/colleagues")
        desk.get_by_label(re.compile("^Naam")).fill(COLLEAGUE)
        desk.get_by_label(re.compile("^E-mailadres")).fill(email)
        desk.get_by_label("Vrijwilligers").check()
        submit(desk, "Bewaren")
        check("De collega is toegevoegd." in desk.content(), "no confirmation of the new colleague")
        shoot(desk, "colleagues")

        step("the request waits in the new queue")
        desk.goto(f"{base}/staff/requests")
        check(desk.get_by_role("link", name="Nieuw").get_attribute("aria-current") == "page", "new is not the tab")
        link = desk.get_by_role("link", name="Kunnen jullie onze vrijwilligers vormen?")
        check(link.count() == 1, "the request is not in the new queue")
        check("lies@example.org" not in desk.content(), "the list shows the requester's address")
        shoot(desk, "queue")
        desk.goto(f"{base}/staff/requests?lang=en")
        shoot(desk, "queue", "en")
        desk.goto(f"{base}/staff/requests?lang=nl")
        desk.get_by_role("link", name="Kunnen jullie onze vrijwilligers vormen?").click()
        desk.wait_for_load_state()
        check(desk.url.endswith(f"/staff/requests/{request_id}"), f"the link led to {desk.url}")
        check("lies@example.org" in desk.content(), "the request's page has no contact details")
        shoot(desk, "request-received")

        step("explore, then accept for the suggested colleague")
        check(desk.get_by_label("Wie verkent?").locator("option:checked").inner_text() == COLLEAGUE,
              "the viewer is not the one exploring by default")
        desk.get_by_label("Notitie").first.fill("Gebeld met Lies: vorming voor 12 vrijwilligers.")
        submit(desk, "Verkenning starten")
        check("De verkenning is gestart." in desk.content(), "no confirmation of exploring")
        check(desk.get_by_label(re.compile("^Collega die de vraag opneemt")).input_value() != "", "no assignee chosen")
        shoot(desk, "request-exploring")
        submit(desk, "Weerhouden")
        check("De vraag is weerhouden." in desk.content(), "no confirmation of accepting")
        request_url = desk.url
        desk.goto(f"{base}/staff/requests")
        desk.get_by_role("link", name="Mijn vragen").click()
        desk.wait_for_load_state()
        check(desk.get_by_role("link", name="Kunnen jullie onze vrijwilligers vormen?").count() == 1,
              "the accepted request is not in mine")
        shoot(desk, "queue-mine")
        desk.goto(request_url)

        step("a delivery: a mistake first, then right")
        desk.get_by_label(re.compile("^Vorm")).select_option("inhouse_training")
        desk.get_by_label(re.compile("^Dagdelen")).fill("2")
        desk.get_by_label(re.compile("^Deelnemers")).fill("12")
        desk.get_by_label(re.compile("^Deelnames")).fill("6")
        submit(desk, "Uitvoering bewaren", 400)
        check(desk.locator("#e-deliver_participations").is_visible(), "no error beside participations")
        check(desk.locator("#f-deliver_participations").get_attribute("aria-invalid") == "true",
              "participations not marked invalid")
        shoot(desk, "request-delivery-error")
        desk.get_by_label(re.compile("^Deelnames")).fill("24")
        check(desk.get_by_label(re.compile("^Datum")).input_value() == date.today().isoformat(), "no date today")
        submit(desk, "Uitvoering bewaren")
        check("De uitvoering is bewaard." in desk.content(), "no confirmation of the delivery")

        step("close; a page left open elsewhere is refused and changes nothing")
        stale = staff.new_page()
        stale.goto(desk.url)
        submit(desk, "Afsluiten")
        check("De vraag is afgesloten." in desk.content(), "no confirmation of closing")
        history = words(desk.locator("ol.history").inner_text())
        for text in ("Ontvangen via het formulier", "Verkenning gestart", f"Weerhouden, voor {COLLEAGUE}",
                     "Uitgevoerd: vorming op maat, 2 dagdelen, 12 deelnemers", "Afgesloten"):
            check(text in history, f"the history lacks {text!r}: {history}")
        check(desk.locator("main form").count() == 0, "a closed request still offers actions")
        shoot(desk, "request-closed")
        stale.get_by_label(re.compile("^Vorm")).select_option("advice_conversation")
        for label, value in (("^Dagdelen", "1"), ("^Deelnemers", "2"), ("^Deelnames", "2")):
            stale.get_by_label(re.compile(label)).fill(value)
        submit(stale, "Uitvoering bewaren", 409)
        check("afgesloten" in stale.locator("#refused").inner_text(), "the refusal does not say why")
        shoot(stale, "request-refused")

        step("a request taken by phone")
        desk.goto(f"{base}/staff/requests")
        desk.get_by_role("link", name="Een vraag noteren (telefoon)").click()
        desk.wait_for_load_state()
        submit(desk, "Vraag bewaren", 400)
        check(desk.locator("#e-name").is_visible() and desk.locator("#e-question").is_visible(), "no field errors")
        shoot(desk, "record-errors")
        desk.get_by_label(re.compile("^Naam van de aanvrager")).fill("Jan Smet")
        desk.get_by_label(re.compile("^Telefoon")).fill("+32 2 123 45 67")
        desk.get_by_label(re.compile("^De vraag")).fill("Advies over ons vrijwilligersbeleid")
        desk.get_by_label(re.compile("^Thema")).select_option("vrijwilligers")
        submit(desk, "Vraag bewaren")
        check("De vraag is genoteerd." in desk.content() and "Ontvangen per telefoon." in desk.content(),
              "the recorded request's page does not confirm it")
        shoot(desk, "request-recorded")
        desk.goto(f"{base}/staff/requests/{request_id}?lang=fr")
        check(desk.get_by_role("heading", name=re.compile("^Demande")).count() == 1, "no French heading")
        shoot(desk, "request-closed", "fr")
        unexpected = [error for error in page_errors(errors) if "status of 400" not in error]  # the mistake's 400
        check(not unexpected, f"errors in the console: {unexpected}")
        check(not policy_problems(console), f"policy errors in the console: {policy_problems(console)}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
