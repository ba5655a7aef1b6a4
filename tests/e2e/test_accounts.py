"""Accounts in headless Chromium: an admin signs in, makes a staff account through the form (its
mistakes shown first), the staff member signs in and is refused the admin's pages."""
from __future__ import annotations

import pytest

from tests.e2e.support import assert_chromium_installed, browser_verdict, start_platform
from tests.integration.gateway.support import ACCOUNT_PASSWORD, create_account

pytestmark = pytest.mark.e2e


def test_an_admin_makes_an_account_and_its_owner_signs_in(runner_factory, platform_config, gateway_url, tmp_path):
    assert_chromium_installed()
    start_platform(runner_factory, platform_config, gateway_url)
    admin = create_account(gateway_url, "admin", name="Bea Beheer")
    browser_verdict("tests.e2e.accounts_browser", gateway_url, admin["email"], ACCOUNT_PASSWORD, str(tmp_path))
    assert (tmp_path / "accounts-new-errors.png").stat().st_size > 0
    assert (tmp_path / "accounts-refused.png").stat().st_size > 0
