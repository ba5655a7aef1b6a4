"""The broker connection is lost while an event handler runs: when the handler returns, its ack
meets a dead socket. The service must live on (the broker redelivers the unacked event, the
idempotent handler counts it once), not die with its container.

Deterministic: the handler itself shuts its consumer's socket down (client side: nothing on the
shared broker changes) just before it returns, so the ack is certainly written to a dead socket
before the consumer thread can notice anything. (nameko forgives only amqp's
ConnectionError on ack; the OSError of a dead socket would kill the container: fixed in
kernel/consumer.py, ReliableEventHandler._settle_on_channel.)
"""
from __future__ import annotations

import socket

from eventlet.event import Event
from kombu import Connection, Exchange
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from kernel import topology
from kernel.consumer import event_handler
from kernel.dependencies import Database
from kernel.envelope import new_event
from kernel.tables import kernel_metadata
from tests.helpers import broker_idle, wait_for

metadata = MetaData()
# one row per counted event and no unique key: a double count would show
counted = Table("counted", metadata, Column("id", Integer, primary_key=True),
                Column("event_id", String(36), nullable=False))
HANDLER_WAITING = Event()
RELEASE_HANDLER = Event()
DELIVERED: list[str] = []  # the activity of every event the handler was given, in order


class HeldCounter:
    """Counts activity.completed events; the first handling of activity "held" waits for the test."""

    name = "heldcounter"
    db = Database()

    @event_handler("registration", "activity.completed")
    def count(self, event):
        DELIVERED.append(event["data"]["activity_id"])
        with self.db.unit_of_work() as uow:
            if uow.claim(event):
                uow.session.execute(insert(counted).values(event_id=event["event_id"]))
        if event["data"]["activity_id"] == "held" and not HANDLER_WAITING.ready():
            HANDLER_WAITING.send(True)
            consumer_socket = RELEASE_HANDLER.wait()
            # the connection dies now, under the running handler: no other green thread runs
            # between this and the ack after the handler returns
            consumer_socket.shutdown(socket.SHUT_RDWR)


def publish(amqp_uri: str, event: dict) -> None:
    with Connection(amqp_uri) as connection:
        connection.Producer(serializer="json").publish(
            event, exchange=Exchange("registration.events", type="topic", durable=True),
            routing_key=event["event_type"], delivery_mode=2)


def test_connection_lost_under_a_running_handler_neither_kills_the_service_nor_double_counts(
    platform_config, container_factory, tmp_path, monkeypatch
):
    monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(HeldCounter))
    url = f"sqlite:///{tmp_path}/heldcounter.db"
    engine = create_engine(url)
    kernel_metadata.create_all(engine)
    metadata.create_all(engine)
    platform_config["DATABASES"]["heldcounter"] = url
    container = container_factory(HeldCounter, platform_config)
    container.start()

    def rows() -> list[str]:
        with engine.connect() as connection:
            return connection.execute(select(counted.c.event_id)).scalars().all()

    held = new_event("registration", "activity.completed", {"activity_id": "held"})
    publish(platform_config["AMQP_URI"], held)
    wait_for(HANDLER_WAITING.ready, timeout=30, message="the handler to run")
    entrypoint = next(e for e in container.entrypoints if e.method_name == "count")
    consumer = entrypoint.queue_consumer._consumers[entrypoint]
    # the handler cuts its consumer's own connection (client side) and returns: the ack meets a dead socket
    RELEASE_HANDLER.send(consumer.channel.connection.transport.sock)
    # the held event was never acked: the broker gives it again, once the service has reconnected by itself
    wait_for(lambda: DELIVERED.count("held") == 2, timeout=60, message="the held event redelivered")
    assert not container._being_killed and not container._died.ready(), "the service dies with its connection"

    after = new_event("registration", "activity.completed", {"activity_id": "after"})
    publish(platform_config["AMQP_URI"], after)  # it consumes again
    wait_for(lambda: "after" in DELIVERED, timeout=60, message="the next event handled")
    # nothing more can arrive once the queue holds no message, ready or delivered and unacknowledged
    wait_for(lambda: broker_idle(platform_config["AMQP_URI"], [entrypoint.queue.name]), timeout=60, interval=0.2,
             message="the queue empty and every delivery acknowledged")
    assert DELIVERED == ["held", "held", "after"]
    assert sorted(rows()) == sorted([held["event_id"], after["event_id"]])  # the held event counted once
    assert not container._being_killed and not container._died.ready()
    engine.dispose()
