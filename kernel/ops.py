"""The on-call command line: pipeline status and the dead-letter queue.

    python -m kernel.ops status                 queues (depth, consumers) and outbox backlog
    python -m kernel.ops dlq list [--limit N]   dead letters, oldest first, left in place
    python -m kernel.ops dlq show EVENT_ID      one dead letter: headers and body
    python -m kernel.ops dlq replay (EVENT_ID... | --all)
                                                back to the queue they failed in, attempts reset
    python -m kernel.ops dlq purge (EVENT_ID... | --all) --yes
    python -m kernel.ops rebuild-reporting [--into URL] [--apply] ...
                                                reporting's aggregates rebuilt from the producers'
                                                event logs and compared with the live ones
                                                (services/reporting/rebuild.py; exit 1: they differ)
    python -m kernel.ops reporting import-prior FILE
                                                prior years' figures (2011-2015 averages, each year
                                                since 2016) from CSV or JSON, kept apart from the live
                                                ones (services/reporting/prior.py; exit 1: refused whole)
    python -m kernel.ops reporting export-year YEAR [--output FILE]
                                                a live year's figures as CSV, as import-prior reads them
    python -m kernel.ops person export --email ADDRESS [--output FILE]
    python -m kernel.ops person erase --email ADDRESS [--yes]
                                                everything held about one person, gathered from every
                                                service / erased there (kernel/privacy.py, docs/PRIVACY.md;
                                                exit 1: nothing held, 2: a service did not answer)

Exit codes: 0 done, 1 something failed or is unhealthy, 2 bad usage / nothing matched.
Replaying publishes each message with publisher confirms before removing it from the
dead-letter queue, so a crash halfway leaves a duplicate at worst (consumers are idempotent),
never a loss.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

from kombu import Connection, Queue
from nameko.amqp.publish import Publisher
from sqlalchemy import func, select

from kernel.config import SERVICES, database_url, load_config
from kernel.consumer import ATTEMPT_HEADER
from kernel.db import make_engine
from kernel.tables import outbox
from kernel.topology import DEAD_LETTER_QUEUE, RETRY_EXCHANGE, entities

# headers the dead-lettering added; a replayed message starts afresh without them
DEAD_LETTER_HEADERS = (
    "x-original-queue", "x-original-exchange", "x-original-routing-key", "x-error-type", "x-error",
    "x-attempts", "x-dead-lettered-at", ATTEMPT_HEADER,
)


@dataclass
class DeadLetter:
    delivery_tag: int
    body: bytes
    headers: dict

    @property
    def payload(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def event_id(self) -> str:
        payload = self.payload
        return str(payload.get("event_id")) if isinstance(payload, dict) else "?"

    def summary(self) -> str:
        payload = self.payload if isinstance(self.payload, dict) else {}
        h = self.headers
        return (
            f"{self.event_id}  {payload.get('event_type', '?'):<24} {h.get('x-original-queue', '?')}\n"
            f"    {h.get('x-error-type', '?')}: {str(h.get('x-error', ''))[:160]}"
            f"  (attempts {h.get('x-attempts', '?')}, dead-lettered {h.get('x-dead-lettered-at', '?')})"
        )


class DeadLetterQueue:
    """Reads the dead-letter queue on one channel; whatever is not acked returns to it on close."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri

    def __enter__(self):
        self.connection = Connection(self.amqp_uri)
        self.channel = self.connection.channel()
        return self

    def __exit__(self, *exc):
        self.connection.close()  # unacked messages go back, in order

    def take(self, limit: int | None = None) -> list[DeadLetter]:
        letters = []
        while limit is None or len(letters) < limit:
            message = self.channel.basic_get(DEAD_LETTER_QUEUE.name, no_ack=False)
            if message is None:
                break
            letters.append(
                DeadLetter(message.delivery_tag, message.body, dict(message.properties.get("application_headers") or {}))
            )
        return letters

    def remove(self, letter: DeadLetter) -> None:
        self.channel.basic_ack(letter.delivery_tag)


def _select(letters: list[DeadLetter], event_ids: list[str], everything: bool) -> list[DeadLetter]:
    if everything:
        return letters
    wanted = set(event_ids)
    return [letter for letter in letters if letter.event_id in wanted]


def _progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done == total else ""
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
    sys.stderr.flush()


def dlq_list(config, limit: int) -> int:
    with DeadLetterQueue(config["AMQP_URI"]) as dlq:
        letters = dlq.take(limit)
    if not letters:
        print("the dead-letter queue is empty")
        return 0
    for letter in letters:
        print(letter.summary())
    print(f"{len(letters)} dead letter(s) shown")
    return 0


def dlq_show(config, event_id: str) -> int:
    with DeadLetterQueue(config["AMQP_URI"]) as dlq:
        matches = _select(dlq.take(), [event_id], False)
    if not matches:
        print(f"no dead letter with event_id {event_id}", file=sys.stderr)
        return 2
    letter = matches[0]
    print(json.dumps({"headers": letter.headers, "body": letter.payload or letter.body.decode("utf-8", "replace")},
                     indent=2, default=str))
    return 0


def dlq_replay(config, event_ids: list[str], everything: bool) -> int:
    publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)
    failures = 0
    with DeadLetterQueue(config["AMQP_URI"]) as dlq:
        chosen = _select(dlq.take(), event_ids, everything)
        if not chosen:
            print("nothing to replay", file=sys.stderr)
            return 2
        for done, letter in enumerate(chosen, 1):
            queue = letter.headers.get("x-original-queue")
            if not queue or letter.payload is None:
                print(f"\n{letter.event_id}: cannot replay (no original queue or not JSON); left in place",
                      file=sys.stderr)
                failures += 1
                continue
            headers = {k: v for k, v in letter.headers.items() if k not in DEAD_LETTER_HEADERS}
            headers["x-replayed-at"] = datetime.now(timezone.utc).isoformat()
            try:
                publisher.publish(letter.payload, exchange=RETRY_EXCHANGE, routing_key=queue, headers=headers)
            except Exception as exc:  # keep it in the dead-letter queue
                print(f"\n{letter.event_id}: replay failed ({exc}); left in place", file=sys.stderr)
                failures += 1
                continue
            dlq.remove(letter)
            _progress(done, len(chosen), "replaying")
    print(f"replayed {len(chosen) - failures} of {len(chosen)}")
    return 1 if failures else 0


def dlq_purge(config, event_ids: list[str], everything: bool, confirmed: bool) -> int:
    if not confirmed:
        print("purging deletes messages for good: add --yes", file=sys.stderr)
        return 2
    with DeadLetterQueue(config["AMQP_URI"]) as dlq:
        chosen = _select(dlq.take(), event_ids, everything)
        for letter in chosen:
            dlq.remove(letter)
    print(f"purged {len(chosen)}")
    return 0 if chosen else 2


def outbox_backlog(url: str) -> dict:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            pending, retrying, oldest = connection.execute(
                select(
                    func.count(),
                    func.count().filter(outbox.c.attempts > 0),
                    func.min(outbox.c.created_at),
                ).where(outbox.c.published_at.is_(None))
            ).one()
    finally:
        engine.dispose()
    age = None
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
        age = (datetime.now(timezone.utc) - oldest).total_seconds()
    return {"pending": pending, "unroutable": retrying, "oldest_age_seconds": age}


def queue_status(config) -> list[dict]:
    rows = []
    with Connection(config["AMQP_URI"]) as connection:
        for entity in entities(config):
            if not isinstance(entity, Queue):
                continue
            channel = connection.channel()
            try:
                _, depth, consumers = channel.queue_declare(entity.name, passive=True)
                rows.append({"queue": entity.name, "messages": depth, "consumers": consumers})
            except Exception:  # declared by a service that never started here
                rows.append({"queue": entity.name, "messages": None, "consumers": None})
            finally:
                try:
                    channel.close()
                except Exception:  # a failed passive declare closed it already
                    pass
    return rows


def status(config, as_json: bool) -> int:
    queues = queue_status(config)
    outboxes = {}
    for service in SERVICES:
        try:
            outboxes[service] = outbox_backlog(database_url(config, service))
        except Exception as exc:
            outboxes[service] = {"error": str(exc).splitlines()[0][:200]}
    dead = next((q["messages"] for q in queues if q["queue"] == DEAD_LETTER_QUEUE.name), None)
    unhealthy = bool(dead) or any("error" in o for o in outboxes.values())
    if as_json:
        print(json.dumps({"queues": queues, "outboxes": outboxes, "healthy": not unhealthy}, indent=2))
        return 1 if unhealthy else 0
    print(f"{'queue':<70} {'messages':>8} {'consumers':>9}")
    for row in queues:
        messages = "-" if row["messages"] is None else row["messages"]
        consumers = "-" if row["consumers"] is None else row["consumers"]
        print(f"{row['queue']:<70} {messages:>8} {consumers:>9}")
    print()
    print(f"{'outbox':<20} {'pending':>8} {'unroutable':>10} {'oldest (s)':>11}")
    for service, backlog in outboxes.items():
        if "error" in backlog:
            print(f"{service:<20} unreadable: {backlog['error']}")
            continue
        age = backlog["oldest_age_seconds"]
        print(
            f"{service:<20} {backlog['pending']:>8} {backlog['unroutable']:>10} "
            f"{'-' if age is None else f'{age:.1f}':>11}"
        )
    if dead:
        print(f"\n{dead} message(s) in the dead-letter queue: `python -m kernel.ops dlq list`")
    return 1 if unhealthy else 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m kernel.ops", description=__doc__.split("\n\n")[0])
    root.add_argument("--config", help="config file (default: config.yml or $PLATFORM_CONFIG)")
    commands = root.add_subparsers(dest="command", required=True)
    status_cmd = commands.add_parser("status", help="queues and outbox backlog")
    status_cmd.add_argument("--json", action="store_true")
    dlq = commands.add_parser("dlq", help="the dead-letter queue").add_subparsers(dest="action", required=True)
    listing = dlq.add_parser("list", help="show dead letters (they stay in the queue)")
    listing.add_argument("--limit", type=int, default=50)
    dlq.add_parser("show", help="one dead letter in full").add_argument("event_id")
    for name, text in (("replay", "send back to the queue they failed in"), ("purge", "delete for good")):
        action = dlq.add_parser(name, help=text)
        action.add_argument("event_ids", nargs="*")
        action.add_argument("--all", action="store_true", dest="everything")
        if name == "purge":
            action.add_argument("--yes", action="store_true")
    from services.reporting import rebuild  # its options live with it

    rebuild.add_arguments(commands.add_parser(
        "rebuild-reporting", help="rebuild reporting's aggregates from the producers' event logs and compare"))
    from services.reporting import prior  # prior years in and a year out; its options live with it

    prior.add_arguments(commands.add_parser("reporting", help="reporting's prior years: import, and export a year"))
    from kernel import privacy  # person export / erase (GDPR); its options live with it

    privacy.add_arguments(commands.add_parser("person", help="export or erase everything held about one person"))
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = load_config(args.config)
    if args.command == "status":
        return status(config, args.json)
    if args.command == "rebuild-reporting":
        from services.reporting import rebuild

        return rebuild.run(config, args)
    if args.command == "reporting":
        from services.reporting import prior

        return prior.run(config, args)
    if args.command == "person":
        from kernel import privacy

        return privacy.run(config, args)
    if args.action in ("replay", "purge") and not (args.event_ids or args.everything):
        print(f"dlq {args.action}: name event ids or use --all", file=sys.stderr)
        return 2
    if args.action == "list":
        return dlq_list(config, args.limit)
    if args.action == "show":
        return dlq_show(config, args.event_id)
    if args.action == "replay":
        return dlq_replay(config, args.event_ids, args.everything)
    return dlq_purge(config, args.event_ids, args.everything, args.yes)


if __name__ == "__main__":
    sys.exit(main())
