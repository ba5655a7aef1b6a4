"""The browser half of tests/e2e/test_accounts.py, run in its own process (playwright's sync API
hangs next to eventlet; see registration_page_browser.py).

    python -m tests.e2e.accounts_browser <gateway url> <admin email> <password> <screenshot dir>

The admin signs in through the form, makes a staff account on the page for a new account (first
with mistakes: the error summary and the field errors), and signs out; the new staff member signs
in, sees the staff navigation without the admin's pages, and gets 403 on the accounts page.

Exit status 0 and a JSON line {"ok": true, ...} when every step passed; else exit status 1
and {"ok": false, "error": ...}.
"""
from __future__ import annotations

import sys

from tests.e2e.support import browser_main, check, chromium, page_errors, watched_page

NEW_EMAIL = "nina@steunpunt.example"
NEW_PASSWORD = "de zon schijnt op het dak"


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Aanmelden", exact=True).click()


def sign_out(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Afmelden", exact=True).click()


def run(base: str, admin_email: str, password: str, shots: str) -> dict:
    report: dict = {"steps": []}
    step = report["steps"].append
    with chromium() as browser:
        page, errors = watched_page(browser.new_context(viewport={"width": 1100, "height": 900}))

        step("a wrong password: the form again, nothing said about which field")
        sign_in(page, base, admin_email, "niet het wachtwoord")
        check("Het e-mailadres of het wachtwoord klopt niet." in page.content(), "no sign-in error shown")

        step("the admin signs in and opens the accounts")
        sign_in(page, base, admin_email, password)
        page.goto(f"{base}/staff/accounts")
        check(page.get_by_role("link", name="Logboek", exact=True).count() == 1, "the admin sees no audit log link")

        step("a new account with mistakes: the summary and the errors beside the fields")
        page.get_by_role("link", name="Nieuw account").click()
        page.get_by_label("E-mailadres").fill("geen adres")
        page.get_by_label("Wachtwoord").fill("kort")
        with page.expect_navigation():
            page.get_by_role("button", name="Account maken").click()
        check(page.locator(".error-summary li").count() == 3, "not three mistakes in the summary")
        page.screenshot(path=f"{shots}/accounts-new-errors.png", full_page=True)

        step("the account made")
        page.get_by_label("E-mailadres").fill(NEW_EMAIL)
        page.get_by_label("Naam").fill("Nina Nieuw")
        page.get_by_label("Rol").select_option("staff")
        page.get_by_label("Wachtwoord").fill(NEW_PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Account maken").click()
        check(page.locator("h1").inner_text() == "Nina Nieuw", f"not the new account's page: {page.url}")
        sign_out(page)

        step("the new staff member signs in: no admin pages")
        sign_in(page, base, NEW_EMAIL, NEW_PASSWORD)
        check(page.get_by_role("link", name="Accounts", exact=True).count() == 0,
              "a staff member sees the accounts link")
        refused = page.goto(f"{base}/staff/accounts")
        check(refused.status == 403, f"the accounts page answered {refused.status} to a staff member")
        page.screenshot(path=f"{shots}/accounts-refused.png", full_page=True)
        # the 401, 400 and 403 answers are meant; anything else the console says is not
        unexpected = [e for e in page_errors(errors) if "Failed to load resource" not in e]
        check(not unexpected, f"page errors: {unexpected}")
    return report


if __name__ == "__main__":
    sys.exit(browser_main(run, sys.argv))
