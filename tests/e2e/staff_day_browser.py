"""The browser half of tests/e2e/test_staff_day.py, run in its own process (playwright's sync API
hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.staff_day_browser <gateway url> <admin email> <password> <screenshot dir>

A staff member's day, each person in their own browser context (own cookies): the admin signs in
and makes the staff member's account; the staff member signs in and creates a one-day activity for
tomorrow; three visitors register on the public page; the activity is moved to this morning (it was
held), the attendance sheet is filled in (two came, one did not), someone who came without
registering is added on it, and the activity is completed; the admin sees the survey mails among
the captured mail; the staff member's dashboard counts the three participants; the admin reads the
audit log. A screenshot of each step: day-<page>-nl.png.

Exit status 0 and a JSON line {"ok": true, "activity_id": ..., "staff_account_id": ...}; else exit
status 1 and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kernel.i18n import local
from tests.e2e.support import (
    browser_main,
    check,
    chromium,
    open_watched,
    page_errors,
    policy_problems,
    watched_page,
    words,
)

STAFF = {"email": "nina@steunpunt.example", "name": "Nina Nieuw", "password": "de zon schijnt op het dak"}
TITLE = "Workshop: vrijwilligers onthalen"
VISITORS = (("Ann Peeters", "ann@example.org"), ("Bert Claes", "bert@example.org"),
            ("Carla Janssens", "carla@example.org"))
CAME = ("Ann Peeters", "Bert Claes")  # Carla registered and did not come
WALK_IN = ("Dirk Willems", "dirk@example.org")
SURVEY_SUBJECT = f"Wat vond je van {TITLE}?"
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
# how long a figure or a mail may take to travel through the platform's events on a loaded machine
ARRIVAL_S = 60.0
POLL_S = 0.25


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Aanmelden", exact=True).click()
    check("/staff/login" not in page.url, f"{email} is not signed in: {page.url}")


def posted(page, button: str, status: int = 303) -> None:
    """Click the form's button and check what the POST answered (303: saved and sent on)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    check(answer.value.status == status, f"{button!r} answered {answer.value.status}, not {status}")


def reloaded_until(page, url: str, found, what: str) -> None:
    """Open `url` again until `found(page)` holds, at most ARRIVAL_S: what the platform does after an
    event shows up on a page only after the event went through."""
    deadline = time.monotonic() + ARRIVAL_S
    while True:
        page.goto(url)
        if found(page):
            return
        check(time.monotonic() < deadline, f"{what} did not show within {ARRIVAL_S} s")
        page.wait_for_timeout(POLL_S * 1000)


def run(base: str, admin_email: str, admin_password: str, shots: str) -> dict:
    report: dict = {"steps": []}
    step = report["steps"].append

    def shot(page, name: str) -> None:
        page.screenshot(path=str(Path(shots) / f"day-{name}-nl.png"), full_page=True)

    with chromium() as browser:
        def context():
            return browser.new_context(viewport={"width": 1200, "height": 900}, locale="nl-BE")

        step("the admin signs in and makes the staff member's account")
        admin, admin_errors = watched_page(context())
        sign_in(admin, base, admin_email, admin_password)
        admin.goto(f"{base}/staff/accounts")
        admin.get_by_role("link", name="Nieuw account").click()
        admin.get_by_label("E-mailadres").fill(STAFF["email"])
        admin.get_by_label("Naam").fill(STAFF["name"])
        admin.get_by_label("Rol").select_option("staff")
        admin.get_by_label("Wachtwoord").fill(STAFF["password"])
        posted(admin, "Account maken")
        check(admin.locator("h1").inner_text() == STAFF["name"], f"not the new account's page: {admin.url}")
        report["staff_account_id"] = admin.url.split("?")[0].rsplit("/", 1)[1]
        shot(admin, "account-made")

        step("the staff member signs in and creates tomorrow's activity")
        staff, staff_errors = watched_page(context())
        staff_console: list[str] = []
        staff.on("console", lambda message: staff_console.append(f"{message.type}: {message.text}"))
        sign_in(staff, base, STAFF["email"], STAFF["password"])
        staff.goto(f"{base}/staff/activities")
        check(STAFF["name"] in staff.locator("header").inner_text(), "the frame does not name who is signed in")
        staff.get_by_role("link", name="Nieuwe activiteit").click()
        tomorrow = local(datetime.now(UTC) + timedelta(days=1)).replace(hour=10, minute=0)
        staff.get_by_label("Titel").fill(TITLE)
        staff.get_by_label("Soort").select_option("workshop")
        staff.get_by_label("Thema").fill("vrijwilligers")
        staff.get_by_label("Doelstelling").fill("SD1.OD4")
        staff.get_by_label("Begint op").fill(tomorrow.strftime(LOCAL_INPUT))
        staff.get_by_label("Eindigt op").fill(tomorrow.replace(hour=16).strftime(LOCAL_INPUT))
        staff.get_by_label("Aantal dagen").fill("1")
        staff.get_by_label("Aantal dagdelen").fill("2")
        staff.get_by_label("Maximum aantal deelnemers").fill("12")
        staff.get_by_label("Plaats", exact=True).fill("Brussel")
        shot(staff, "activity-new")
        posted(staff, "Opslaan")
        check(re.search(r"/staff/activities/[^/?]+$", staff.url) is not None, f"not the activity's page: {staff.url}")
        activity_id = staff.url.rsplit("/", 1)[1]
        report["activity_id"] = activity_id
        check(staff.get_by_role("heading", name=TITLE).is_visible(), "no activity heading")

        step("three visitors register on the public page")
        for number, (name, email) in enumerate(VISITORS):
            visitor, console = open_watched(context(), f"{base}/activities/{activity_id}", "nl")
            check(visitor.get_by_role("heading", name=TITLE).is_visible(), "the public page lacks the title")
            visitor.get_by_label(re.compile(r"^Naam")).fill(name)
            visitor.get_by_label(re.compile(r"^E-mailadres")).fill(email)
            visitor.get_by_label(re.compile("^Ik ga akkoord")).check()
            posted(visitor, "Inschrijven", 201)
            check(visitor.get_by_role("heading", name="Je bent ingeschreven").is_visible(), f"{name} not confirmed")
            check(not policy_problems(console), f"policy problems: {policy_problems(console)}")
            if number == 0:
                shot(visitor, "public-registered")
            visitor.context.close()

        step("it was held this morning: the staff member moves it there")
        staff.reload()
        for name, _ in VISITORS:
            check(staff.locator("main").get_by_text(name).count() >= 1, f"{name} not listed on the activity's page")
        staff.get_by_role("link", name="Wijzigen").click()
        now = datetime.now(UTC)
        staff.get_by_label("Begint op").fill(local(now - timedelta(hours=3)).strftime(LOCAL_INPUT))
        staff.get_by_label("Eindigt op").fill(local(now - timedelta(minutes=30)).strftime(LOCAL_INPUT))
        posted(staff, "Opslaan")
        check(staff.url.endswith(f"/staff/activities/{activity_id}"), f"not back on the page: {staff.url}")

        step("the attendance sheet: two came, one did not; a walk-in is added")
        staff.goto(f"{base}/staff/activities/{activity_id}/attendance")
        for name in CAME:
            staff.get_by_label(name, exact=True).check()
        posted(staff, "Aanwezigheden bewaren")
        check(staff.get_by_text("De aanwezigheden zijn bewaard.").is_visible(), "no saved notice")
        walk_in = staff.locator('form[action$="/attendance/walk-in"]')
        walk_in.locator("#f-name").fill(WALK_IN[0])
        walk_in.locator("#f-email").fill(WALK_IN[1])
        posted(staff, "Toevoegen als aanwezig")
        for name in (*CAME, WALK_IN[0]):
            check(staff.get_by_label(name, exact=True).is_checked(), f"{name} not ticked as present")
        check(not staff.get_by_label(VISITORS[2][0], exact=True).is_checked(), "the one who did not come is ticked")
        shot(staff, "attendance")

        step("the activity is completed")
        staff.get_by_role("link", name=f"Terug naar {TITLE}").click()
        staff.wait_for_load_state()
        posted(staff, "Afronden")
        check(staff.locator("h1 .badge").inner_text().strip() == "Afgerond", "not shown as completed")
        shot(staff, "activity-completed")

        step("the survey mails are captured: the admin sees them")
        survey_rows = admin.locator("tbody tr").filter(has_text=SURVEY_SUBJECT)
        attendees = 1 + len(CAME)
        reloaded_until(admin, f"{base}/staff/mail", lambda page: survey_rows.count() >= attendees,
                       f"{attendees} survey mails")
        shot(admin, "mail")

        step("the dashboard counts the participants")
        staff.goto(f"{base}/staff/dashboard")
        figure = staff.locator('[data-k="annual.open_offer.participants"]')
        # the page updates itself; polled from here (the page's CSP forbids wait_for_function's eval)
        deadline = time.monotonic() + ARRIVAL_S
        while words(figure.inner_text()) != str(attendees):
            check(time.monotonic() < deadline, f"the dashboard shows {figure.inner_text()!r} participants, "
                                               f"not {attendees}, after {ARRIVAL_S} s")
            staff.wait_for_timeout(POLL_S * 1000)
        shot(staff, "dashboard")

        step("the admin reads the audit log")
        admin.goto(f"{base}/staff/audit?account={report['staff_account_id']}")
        log = words(admin.locator("main").inner_text())
        check(STAFF["name"] in log, "the audit log does not name the staff member")
        for action in ("aangemeld", "activiteit gemaakt", "activiteit gewijzigd", "aanwezigheid bewaard",
                       "toegevoegd op de aanwezigheidslijst", "activiteit afgerond"):
            check(action in log, f"the audit log does not say {action!r}: {log}")
        check(activity_id not in log, "the audit log shows the activity's id to people")
        check(admin.locator(f'main a[href="/staff/activities/{activity_id}"]').count() == 6,
              "the audit log's lines about the activity do not all lead to it")
        shot(admin, "audit")

        check(not page_errors(staff_errors), f"page errors: {staff_errors}")
        check(not policy_problems(staff_console), f"policy problems: {policy_problems(staff_console)}")
        check(not page_errors(admin_errors), f"the admin's page errors: {admin_errors}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
