"""What the end-to-end tests share: starting the platform, running a browser script in its own
process and reading its verdict, and the script's side of that (headless Chromium, checks, a JSON
line and exit status 0 or 1; a watched page, the console's policy problems, the staff sign-in)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kernel.config import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 15_000


def browser_verdict(module: str, *args: str, timeout: int = 180) -> dict:
    """Runs `python -m module args...` (playwright's sync API hangs next to eventlet) and returns its verdict,
    failing the test with the script's error when a step failed."""
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no verdict from the browser script: {result.stdout}\n{result.stderr}"
    verdict = json.loads(lines[-1])
    assert verdict["ok"], f"{verdict.get('error')}\n{result.stderr[-2000:]}"
    assert result.returncode == 0
    return verdict


def browser_main(run: Callable[..., dict], argv: list[str]) -> int:
    """A browser script's entry point: the verdict of `run(*argv[1:])` as one JSON line, its report
    with "ok" true when every step passed."""
    try:
        report = run(*argv[1:])
    except Exception as exc:  # noqa: BLE001 - the verdict goes to the test
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps({**report, "ok": True}))
    return 0


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium for a browser script, closed whatever its steps do."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check(condition, message: str):
    if not condition:
        raise AssertionError(message)


def submit_empty(page, button: str, name_label: str) -> None:
    """Sends the form empty: refused (400) with an error summary that links to the name field
    (labelled `name_label` in the page's language)."""
    with page.expect_response(lambda r: r.request.method == "POST") as submitted:
        page.get_by_role("button", name=button).click()
    check(submitted.value.status == 400, f"empty form answered {submitted.value.status}, not 400")
    summary = page.locator(".error-summary")
    check(summary.is_visible(), "no error summary")
    name_link = summary.get_by_role("link", name=re.compile(f"^{name_label}"))
    check(name_link.get_attribute("href") == "#f-name", "summary does not link to the name field")


def fresh_render(context, url: str, read: Callable):
    """What `read` finds on `url` opened afresh in a new page of `context`."""
    fresh = context.new_page()
    fresh.goto(url)
    found = read(fresh)
    fresh.close()
    return found


def words(text: str) -> str:
    """The text as a person reads it: white space folded."""
    return " ".join(text.split())


def watched_page(context) -> tuple:
    """(a new page, the list its console errors and uncaught exceptions are collected in)."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def open_watched(context, url: str, lang: str) -> tuple:
    """(a new page on `url`, answered 200 and in `lang`; the list of every error and warning its
    console shows from before it opened: CSP violations among them)."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    seen: list[str] = []
    page.on("console", lambda message: seen.append(f"{message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: seen.append(f"pageerror: {error}"))
    response = page.goto(url)
    check(response.status == 200, f"GET {url} answered {response.status}")
    check(page.locator("html").get_attribute("lang") == lang, f"page is not lang={lang}")
    return page, seen


def policy_problems(seen: list[str]) -> list[str]:
    """The console lines about the Content-Security-Policy (or another policy header) being violated
    or malformed; a 400 page's "Failed to load resource" is no such problem."""
    signs = ("content security policy", "content-security-policy", "permissions-policy", "refused to")
    return [line for line in seen if any(sign in line.lower() for sign in signs)]


def page_errors(errors: list[str]) -> list[str]:
    """The errors that are the page's: Chromium's own probe for /favicon.ico (the gateway has no icon) is not."""
    return [error for error in errors if not error.endswith("/favicon.ico)")]


def staff_sign_in(page, base: str, next_path: str, email: str) -> None:
    """Signs in through the staff sign-in form with the account of `email` (its password the tests'
    ACCOUNT_PASSWORD), which leads on to `next_path`."""
    from tests.integration.gateway.support import ACCOUNT_PASSWORD

    page.goto(f"{base}/staff/login?next={next_path}")
    page.locator('input[name="email"]').fill(email)
    page.locator('input[name="password"]').fill(ACCOUNT_PASSWORD)
    with page.expect_navigation():
        page.locator('form[action="/staff/login"] button[type="submit"]').click()


def assert_chromium_installed() -> None:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (make test's bootstrap installs it)"


def start_platform(runner_factory, platform_config, gateway_url: str, healthy_within: float = 15) -> None:
    """Every service of the platform running, the gateway answering."""
    from tests.integration.gateway.support import all_services

    runner_factory(platform_config, *all_services()).start()
    wait_until_healthy(gateway_url, healthy_within)


def wait_until_healthy(gateway_url: str, timeout: float = 15) -> None:
    import requests

    from tests.helpers import wait_for

    wait_for(lambda: requests.get(f"{gateway_url}/health", timeout=5).status_code == 200, timeout=timeout,
             message="the platform to be healthy")
