"""`python -m ops account`: the first admin `make run` makes (once), and an account made by hand."""
from __future__ import annotations

import io

from kernel.db import ServiceDatabase
from ops import account, parser
from services.accounts import domain, repository
from services.accounts.service import AccountsService  # noqa: F401 - the mappers


def accounts_in(config) -> list:
    database = ServiceDatabase(config["DATABASES"]["accounts"], producer="accounts")
    with database.read() as session:
        found = repository.all_accounts(session)
    database.dispose()
    return found


def test_the_first_admin_is_made_once_and_its_password_shown_once(platform_config, capsys):
    assert account.run(platform_config, parser().parse_args(["account", "first-admin"])) == 0
    shown = capsys.readouterr().out
    password = shown.split("password: ")[1].split()[0]
    (admin,) = accounts_in(platform_config)
    assert admin.role == "admin" and admin.email == account.FIRST_ADMIN_EMAIL and admin.email in shown
    assert admin.password_hash.startswith("$argon2id$") and domain.password_matches(admin.password_hash, password)
    assert account.run(platform_config, parser().parse_args(["account", "first-admin"])) == 0
    assert capsys.readouterr().out == "" and len(accounts_in(platform_config)) == 1


def test_an_account_made_by_hand_with_a_password_from_stdin(platform_config, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("een lange zin als wachtwoord\n"))
    args = parser().parse_args(["account", "create", "--email", "Herstel@Steunpunt.example", "--name", "Herstel",
                                "--role", "admin", "--password-stdin"])
    assert account.run(platform_config, args) == 0
    assert "een lange zin" not in capsys.readouterr().out
    (made,) = accounts_in(platform_config)
    assert made.email == "herstel@steunpunt.example" and domain.password_matches(made.password_hash,
                                                                                  "een lange zin als wachtwoord")
    monkeypatch.setattr("sys.stdin", io.StringIO("kort\n"))
    assert account.run(platform_config, args) == 1  # a weak password (and the email is taken besides)
