"""Staff accounts from the command line, straight on the accounts database (the services need not
run): the first admin that `make run` makes, and an account made by hand for recovery.

    python -m ops account create --email ADDRESS --name NAME --role admin [--password-stdin]
    python -m ops account first-admin [--email ADDRESS]
                                 an admin account when there is no account at all; its password
                                 is printed once (nothing happens when any account exists)
"""
from __future__ import annotations

import getpass
import secrets
import sys

from kernel.config import database_url
from kernel.db import ServiceDatabase
from kernel.errors import DomainError
from kernel.tables import utcnow
from services.accounts import domain, repository
from services.accounts.service import account_view, create

ACTOR = {"account_id": None, "name": f"ops:{getpass.getuser()}"}  # who ran the command, as the audit page words it
FIRST_ADMIN_EMAIL = "admin@steunpunt.invalid"


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    made = actions.add_parser("create", help="a new account (its password asked on stdin, or made and shown once)")
    made.add_argument("--email", required=True)
    made.add_argument("--name", required=True)
    made.add_argument("--role", required=True, choices=domain.ROLES)
    made.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    first = actions.add_parser("first-admin", help="an admin account when there is none at all")
    first.add_argument("--email", default=FIRST_ADMIN_EMAIL)


def new_password() -> str:
    return secrets.token_urlsafe(15)


def run(config: dict, args) -> int:
    database = ServiceDatabase(database_url(config, "accounts"), producer="accounts")
    try:
        with database.unit_of_work() as uow:
            if args.action == "first-admin" and repository.count_accounts(uow.session) > 0:
                return 0
            role = "admin" if args.action == "first-admin" else args.role
            name = "Beheerder" if args.action == "first-admin" else args.name
            password = sys.stdin.readline().rstrip("\n") if getattr(args, "password_stdin", False) else new_password()
            data = {"email": args.email, "name": name, "role": role, "password": password}
            account = account_view(create(uow.session, data, ACTOR, utcnow()))
    except DomainError as exc:
        print(f"account not made: {exc.message} {exc.details}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    shown = "" if getattr(args, "password_stdin", False) else f"\n     password: {password}   (shown only this once)"
    print(f"{account['role']} account made:\n     email:    {account['email']}{shown}")
    return 0
