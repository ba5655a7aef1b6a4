"""Small helpers shared by integration tests."""
from __future__ import annotations

import itertools
import os
import socket
import subprocess
import time

import eventlet
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from amqp.exceptions import NotFound
from kombu import Connection
from sqlalchemy import create_engine, inspect

from kernel.contract import DATA_SCHEMAS
from kernel.envelope import validate_received
from kernel.tables import kernel_metadata

ENVELOPE_KEYS = {"event_id", "event_type", "schema_version", "occurred_at", "producer", "data"}


def contract_data(event: dict, producer: str) -> dict:
    """The event's `data`, once the envelope is valid, from `producer`, and `data` has exactly the
    contract's fields."""
    assert set(event) == ENVELOPE_KEYS
    validate_received(event)
    assert event["producer"] == producer and event["schema_version"] == 1
    assert set(event["data"]) == set(DATA_SCHEMAS[event["event_type"]]().fields), event["event_type"]
    return event["data"]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        eventlet.sleep(interval)


def migrated_schema(url: str, metadata) -> tuple[list, str | None, dict[str, set[str]]]:
    """The database at `url` against `metadata` and the kernel's tables: (the differences, its
    alembic revision, {table: its column names})."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, [metadata, kernel_metadata])
            revision = context.get_current_revision()
        inspector = inspect(engine)
        columns = {table: {column["name"] for column in inspector.get_columns(table)}
                   for table in inspector.get_table_names()}
        return differences, revision, columns
    finally:
        engine.dispose()


def drain_queue(amqp_uri: str, queue_name: str) -> list:
    """Take (and ack) every message currently in the existing queue `queue_name`."""
    messages = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        while True:
            message = channel.basic_get(queue_name)
            if message is None:
                break
            channel.basic_ack(message.delivery_tag)
            messages.append(message)
        channel.close()
    return messages


def queue_depth(amqp_uri: str, queue_name: str) -> int:
    """Messages ready in the existing queue `queue_name` (declared passively: arguments untouched)."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        _, depth, _ = channel.queue_declare(queue_name, passive=True)
        channel.close()
    return depth


def consumers_on(amqp_uri: str, queue_name: str) -> int:
    """How many consumers `queue_name` has; 0 while its service has not yet declared it."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        try:
            _, _, count = channel.queue_declare(queue_name, passive=True)
        except NotFound:
            return 0
        channel.close()
    return count


def queue_counts(amqp_uri: str, rabbitmqctl: tuple[str, ...] = ("rabbitmqctl",),
                 env: dict | None = None) -> dict[str, tuple[int, int]]:
    """(ready, unacknowledged) of every queue of the vhost in `amqp_uri`, read from the queues
    themselves by rabbitmqctl: exact now. (The management API's figures are sampled every 5 s:
    a zero there may predate a message just delivered.) `rabbitmqctl` and `env` address another node."""
    vhost = amqp_uri.rsplit("/", 1)[1] or "/"
    listed = subprocess.run([*rabbitmqctl, "list_queues", "-p", vhost, "-q", "--no-table-headers",
                             "name", "messages_ready", "messages_unacknowledged"],
                            capture_output=True, text=True, timeout=60, check=True, env=env)
    counts = {}
    for line in listed.stdout.splitlines():
        name, ready, unacknowledged = line.rsplit("\t", 2)
        counts[name] = (int(ready), int(unacknowledged))
    return counts


def broker_idle(amqp_uri: str, queues, rabbitmqctl: tuple[str, ...] = ("rabbitmqctl",),
                env: dict | None = None) -> bool:
    """Does none of `queues` (all of them declared) hold a message, ready or delivered and not yet
    acknowledged? Then nothing more reaches their consumers until someone publishes."""
    counts = queue_counts(amqp_uri, rabbitmqctl, env)
    return all(counts.get(name) == (0, 0) for name in queues)


class EventSpy:
    """Every event a producer publishes, in publication order: a queue bound to its exchange
    with `#`, declared when the spy is made (so make it before the events are published)."""

    def __init__(self, amqp_uri: str, producer: str):
        from kombu import Exchange, Queue

        self.amqp_uri = amqp_uri
        self.queue = f"test.{producer}.events.spy"
        self.events: list[dict] = []
        with Connection(amqp_uri) as connection:
            channel = connection.channel()
            Queue(
                self.queue,
                exchange=Exchange(f"{producer}.events", type="topic", durable=True, auto_delete=False),
                routing_key="#", durable=True, auto_delete=False,
            ).bind(channel).declare()
            channel.close()

    def poll(self) -> list[dict]:
        import json

        for message in drain_queue(self.amqp_uri, self.queue):
            self.events.append(json.loads(message.body))
        return self.events

    def of_type(self, event_type: str) -> list[dict]:
        return [e for e in self.poll() if e["event_type"] == event_type]

    def wait(self, event_type: str, count: int = 1, timeout: float = 15.0) -> list[dict]:
        wait_for(lambda: len(self.of_type(event_type)) >= count, timeout=timeout,
                 message=f"{count} {event_type} event(s)")
        return self.of_type(event_type)

    def settle(self, quiet: float = 0.5) -> list[dict]:
        """All events, once nothing new arrived for `quiet` seconds."""
        seen = -1
        while seen != len(self.poll()):
            seen = len(self.events)
            eventlet.sleep(quiet)
        return self.events


# Ports for the servers tests start. Taken below the kernel's ephemeral range (32768 and up), so no
# outgoing connection and no bind to port 0 anywhere can take one between a test choosing it and its
# server binding it; and from a block of their own per pytest process, since the SQLite and the
# PostgreSQL passes run side by side. Within a block they are handed out in turn, so a port is used
# again only after every other one of the block.
PORT_BLOCKS = {"sqlite": range(20000, 24000), "postgresql": range(24000, 28000)}
_ports = itertools.cycle(PORT_BLOCKS[os.environ.get("TEST_DATABASE", "sqlite")])


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now, for a server this test is about to start."""
    for port in itertools.islice(_ports, 4000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:  # taken (a server of an earlier test still runs, or the machine's own)
                continue
            return port
    raise RuntimeError("no free port left in this pass's block")
