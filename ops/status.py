"""`status`: the depth and consumers of every queue of the platform, and each service's outbox backlog."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from kombu import Connection, Queue
from sqlalchemy import func, select

from kernel.config import SERVICES, database_url
from kernel.db import make_engine
from kernel.tables import outbox
from kernel.topology import DEAD_LETTER_QUEUE, entities


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
        print(f"\n{dead} message(s) in the dead-letter queue: `python -m ops dlq list`")
    return 1 if unhealthy else 0
