"""Kernel throughput: the outbox relay publishing, and a batch consumer draining a backlog."""
from __future__ import annotations

import time

from kombu import Connection, Exchange, Queue
from nameko.containers import ServiceContainer
from sqlalchemy import func, select

from benchmarks.harness import wait_until
from kernel import topology
from kernel.consumer import batch_event_handler
from kernel.db import ServiceDatabase
from kernel.dependencies import Database
from kernel.envelope import new_event
from kernel.outbox import OutboxRelay, event_exchange
from kernel.publisher import ConfirmingPublisher
from kernel.tables import processed_events


def relay_throughput(config, events: int = 20000) -> dict:
    """Events/s the relay publishes (with confirms) from a full outbox."""
    with Connection(config["AMQP_URI"]) as connection:
        Queue("bench-sink", Exchange("registration.events", type="topic"), routing_key="#",
              durable=False, auto_delete=False).bind(connection.channel()).declare()
    database = ServiceDatabase(config["DATABASES"]["registration"], producer="registration")
    for start in range(0, events, 1000):
        with database.unit_of_work() as uow:
            for i in range(start, min(events, start + 1000)):
                uow.emit("activity.completed", {"activity_id": f"a{i}"})
    relay = OutboxRelay(database, config["AMQP_URI"], batch_size=500)
    began = time.perf_counter()
    while relay.publish_pending():
        pass
    seconds = time.perf_counter() - began
    relay.stop()
    database.dispose()
    return {"events": events, "seconds": seconds, "per_second": events / seconds}


class NoopIngest:
    """A batch consumer that only records what it processed (claim_many): the kernel's own cost."""

    name = "reporting"
    db = Database()

    @batch_event_handler([("registration", "activity.completed")], max_batch=500, max_wait_ms=50)
    def ingest(self, events):
        with self.db.unit_of_work() as uow:
            uow.claim_many(events)


def batch_drain(config, events: int = 50000) -> dict:
    """Events/s a batch consumer drains from a backlog, each recorded idempotently."""
    topology.declare(config, [NoopIngest])
    publisher = ConfirmingPublisher(config["AMQP_URI"], event_exchange("registration"))
    for start in range(0, events, 1000):
        batch = [new_event("registration", "activity.completed", {"activity_id": f"a{i}"})
                 for i in range(start, min(events, start + 1000))]
        publisher.publish([(e["event_id"], e["event_type"], e) for e in batch])
    publisher.close()
    database = ServiceDatabase(config["DATABASES"]["reporting"], producer="reporting")

    def processed():
        with database.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(processed_events))

    container = ServiceContainer(NoopIngest, config)
    began = time.perf_counter()
    container.start()
    wait_until(lambda: processed() >= events, timeout=600, interval=0.05)
    seconds = time.perf_counter() - began
    container.stop()
    database.dispose()
    return {"events": events, "seconds": seconds, "per_second": events / seconds}
