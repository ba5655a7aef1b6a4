"""The on-call command line, above the services: pipeline status, the dead-letter queue,
reporting's rebuild and prior years, and a person's data.

    python -m ops status                 queues (depth, consumers) and outbox backlog (ops/status.py)
    python -m ops dlq list [--limit N]   dead letters, oldest first, left in place (ops/dlq.py)
    python -m ops dlq show EVENT_ID      one dead letter: headers and body
    python -m ops dlq replay (EVENT_ID... | --all)
                                         back to the queue they failed in, attempts reset
    python -m ops dlq purge (EVENT_ID... | --all) --yes
    python -m ops rebuild-reporting [--into URL] [--apply] ...
                                         reporting's aggregates rebuilt from the producers'
                                         event logs and compared with the live ones
                                         (services/reporting/rebuild.py; exit 1: they differ)
    python -m ops reporting import-prior FILE
                                         prior years' figures (2011-2015 averages, each year
                                         since 2016) from CSV or JSON, kept apart from the live
                                         ones (services/reporting/prior.py; exit 1: refused whole)
    python -m ops reporting export-year YEAR [--output FILE]
                                         a live year's figures as CSV, as import-prior reads them
    python -m ops person export --email ADDRESS [--output FILE]
    python -m ops person erase --email ADDRESS [--yes]
                                         everything held about one person, gathered from every
                                         service / erased there (ops/person.py, docs/PRIVACY.md;
                                         exit 1: nothing held, 2: a service did not answer)

    python -m ops account create --email ADDRESS --name NAME --role ROLE [--password-stdin]
    python -m ops account first-admin    staff accounts, straight on the accounts database
                                         (ops/account.py; `make run` makes the first admin)

Exit codes: 0 done, 1 something failed or is unhealthy, 2 bad usage / nothing matched.
"""
from __future__ import annotations

import argparse
import sys

from kernel.config import load_config
from ops import account, dlq, person
from ops.status import status
from services.reporting import prior, rebuild


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    root.add_argument("--config", help="config file (default: config.yml or $PLATFORM_CONFIG)")
    commands = root.add_subparsers(dest="command", required=True)
    status_cmd = commands.add_parser("status", help="queues and outbox backlog")
    status_cmd.add_argument("--json", action="store_true")
    dead_letters = commands.add_parser("dlq", help="the dead-letter queue").add_subparsers(
        dest="action", required=True)
    listing = dead_letters.add_parser("list", help="show dead letters (they stay in the queue)")
    listing.add_argument("--limit", type=int, default=50)
    dead_letters.add_parser("show", help="one dead letter in full").add_argument("event_id")
    for name, text in (("replay", "send back to the queue they failed in"), ("purge", "delete for good")):
        action = dead_letters.add_parser(name, help=text)
        action.add_argument("event_ids", nargs="*")
        action.add_argument("--all", action="store_true", dest="everything")
        if name == "purge":
            action.add_argument("--yes", action="store_true")
    # the options of reporting's tools and of the person commands live with them
    rebuild.add_arguments(commands.add_parser(
        "rebuild-reporting",
        help="rebuild reporting's aggregates from the producers' event logs and compare"))
    prior.add_arguments(commands.add_parser(
        "reporting", help="reporting's prior years: import, and export a year"))
    person.add_arguments(commands.add_parser(
        "person", help="export or erase everything held about one person"))
    account.add_arguments(commands.add_parser("account", help="staff accounts: create one, the first admin"))
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = load_config(args.config)
    if args.command == "status":
        return status(config, args.json)
    if args.command == "rebuild-reporting":
        return rebuild.run(config, args)
    if args.command == "reporting":
        return prior.run(config, args)
    if args.command == "person":
        return person.run(config, args)
    if args.command == "account":
        return account.run(config, args)
    if args.action in ("replay", "purge") and not (args.event_ids or args.everything):
        print(f"dlq {args.action}: name event ids or use --all", file=sys.stderr)
        return 2
    if args.action == "list":
        return dlq.dlq_list(config, args.limit)
    if args.action == "show":
        return dlq.dlq_show(config, args.event_id)
    if args.action == "replay":
        return dlq.dlq_replay(config, args.event_ids, args.everything)
    return dlq.dlq_purge(config, args.event_ids, args.everything, args.yes)
