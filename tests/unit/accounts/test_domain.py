"""The accounts domain without a broker or database: argon2id hashes, the password rules, the
lockout after repeated failures, and session expiry (idle and absolute)."""
from datetime import UTC, datetime, timedelta

import pytest

from kernel.rules import InvalidInput
from services.accounts import domain
from services.accounts.domain import Account, ApiToken, Session

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
PASSWORD = "lange zin als wachtwoord"


def account(**overrides) -> Account:
    return Account.new(overrides.pop("email", "An@Steunpunt.example"), "An Peeters", overrides.pop("role", "staff"),
                       PASSWORD, NOW)


def test_a_password_is_hashed_with_argon2id_and_only_the_right_one_matches():
    made = account()
    assert made.password_hash.startswith("$argon2id$")
    assert PASSWORD not in made.password_hash
    assert domain.password_matches(made.password_hash, PASSWORD)
    assert not domain.password_matches(made.password_hash, PASSWORD + "!")
    assert not domain.password_matches(None, PASSWORD)


def test_emails_are_kept_in_lower_case():
    assert account().email == "an@steunpunt.example"


@pytest.mark.parametrize("password, problem", [
    ("kort", "At least 12 characters."),
    ("aaaaaaaaaaaaaaaa", "Too simple: use more different characters."),
    ("an@steunpunt.example", "Not the email address."),
    ("x" * 300 + "abcd", "At most 256 characters."),
])
def test_weak_passwords_are_refused_with_the_reason(password, problem):
    assert problem in domain.password_problems(password, "an@steunpunt.example")
    with pytest.raises(InvalidInput) as refused:
        Account.new("an@steunpunt.example", "An", "staff", password, NOW)
    assert problem in refused.value.details["password"]


def test_an_unknown_role_is_refused():
    with pytest.raises(InvalidInput) as refused:
        account(role="boss")
    assert "role" in refused.value.details


def test_five_failures_lock_the_account_for_fifteen_minutes_even_for_the_right_password():
    made = account()
    outcomes = [made.sign_in("wrong password!", NOW + timedelta(seconds=i)) for i in range(5)]
    assert outcomes == ["failed"] * 4 + ["locked"]
    assert made.sign_in(PASSWORD, NOW + timedelta(minutes=1)) == "locked"
    assert made.sign_in(PASSWORD, NOW + timedelta(minutes=14, seconds=59)) == "locked"
    assert made.sign_in(PASSWORD, NOW + timedelta(minutes=15, seconds=5)) == "succeeded"


def test_a_success_starts_the_count_again():
    made = account()
    for _ in range(4):
        made.sign_in("wrong password!", NOW)
    assert made.sign_in(PASSWORD, NOW) == "succeeded"
    assert [made.sign_in("wrong password!", NOW) for _ in range(4)] == ["failed"] * 4


def test_an_inactive_account_cannot_sign_in():
    made = account()
    made.change(NOW, active=False)
    assert made.sign_in(PASSWORD, NOW) == "failed"


def test_a_session_keeps_only_the_digest_of_its_token_and_expires_when_idle_or_at_its_end():
    session, token = Session.start("a1", NOW, absolute=timedelta(hours=12))
    assert session.token_sha256 == domain.token_digest(token) and token not in session.token_sha256
    idle = timedelta(hours=2)
    assert session.valid(NOW + timedelta(hours=1, minutes=59), idle)
    assert not session.valid(NOW + timedelta(hours=2), idle)
    session.last_seen_at = NOW + timedelta(hours=11)
    assert session.valid(NOW + timedelta(hours=11, minutes=59), idle)
    assert not session.valid(NOW + timedelta(hours=12), idle)  # however busy, it ends


def test_a_revoked_session_is_not_valid():
    session, _ = Session.start("a1", NOW, absolute=timedelta(hours=12))
    session.revoked_at = NOW
    assert not session.valid(NOW, timedelta(hours=2))


def test_an_api_token_keeps_only_its_digest():
    api_token, token = ApiToken.issue("a1", " script ", NOW)
    assert api_token.token_sha256 == domain.token_digest(token) and api_token.label == "script"


def test_a_change_reports_only_what_changed():
    made = account()
    assert made.change(NOW, name="An Peeters", role="admin", active=True) == {"role": "admin"}
    with pytest.raises(InvalidInput):
        made.change(NOW, role="boss")


def test_the_last_active_admin_cannot_be_demoted_or_switched_off():
    admin = account(role="admin")
    assert domain.leaves_no_admin(admin, 1, role="staff", active=None)
    assert domain.leaves_no_admin(admin, 1, role=None, active=False)
    assert not domain.leaves_no_admin(admin, 1, role="admin", active=True)  # no real change
    assert not domain.leaves_no_admin(admin, 2, role="staff", active=False)  # another admin remains
    assert not domain.leaves_no_admin(account(role="staff"), 1, role="ops", active=False)


def test_a_new_password_replaces_the_old_and_lifts_the_lockout():
    made = account()
    for _ in range(5):
        made.sign_in("wrong password!", NOW)
    made.set_password("een heel ander wachtwoord", NOW)
    assert made.sign_in(PASSWORD, NOW) == "failed"
    assert made.sign_in("een heel ander wachtwoord", NOW) == "succeeded"
    with pytest.raises(InvalidInput):
        made.set_password("kort", NOW)
