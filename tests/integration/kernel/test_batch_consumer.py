"""The batching consumer: many events per transaction, still exactly once, poison isolated."""
import json
from collections import Counter

import eventlet
from kombu import Connection, Exchange
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, insert, select

from kernel import topology
from kernel.consumer import batch_event_handler
from kernel.dependencies import Database
from kernel.envelope import new_event
from kernel.rpc import RpcProxy
from kernel.topology import DEAD_LETTER_QUEUE
from tests.helpers import drain_queue, queue_depth, wait_for
from tests.integration.kernel.fixture_services import BatchCounter, Producer, batches, seen


def test_batches_count_every_event_once_and_dead_letter_only_the_poison(
    kernel_config, container_factory, counter_db, monkeypatch
):
    monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(Producer, BatchCounter))
    container_factory(Producer, kernel_config).start()
    with ServiceRpcProxy("registration", kernel_config) as rpc:
        event_ids = rpc.emit(1000)  # published before the consumer ever ran
        [poison] = rpc.emit(1, "poison")
    cancelled = new_event("registration", "activity.cancelled", {"activity_id": "c1", "reason": "trainer ill"})
    with Connection(kernel_config["AMQP_URI"]) as connection:
        for _ in range(3):  # the same event three times
            connection.Producer().publish(
                cancelled, exchange=Exchange("registration.events", type="topic"), routing_key="activity.cancelled"
            )

    container_factory(BatchCounter, kernel_config).start()

    def seen_ids():
        with counter_db.connect() as connection:
            return connection.execute(select(seen.c.event_id)).scalars().all()

    wait_for(lambda: len(seen_ids()) >= 1001, timeout=30, message="all events counted")
    dead = wait_for(lambda: drain_queue(kernel_config["AMQP_URI"], DEAD_LETTER_QUEUE.name),
                    message="poison dead-lettered")
    assert [json.loads(m.body)["event_id"] for m in dead] == [poison]
    assert dead[0].properties["application_headers"]["x-attempts"] == 3
    ids = seen_ids()
    assert len(ids) == 1001
    assert sorted(ids) == sorted(event_ids + [cancelled["event_id"]])
    with counter_db.connect() as connection:
        handled_in_batches = connection.scalar(select(func.count()).select_from(batches))
    assert handled_in_batches < 100, "events were not batched"


def test_a_body_that_is_not_json_or_not_an_event_is_dead_lettered_and_the_rest_counted(
    kernel_config, container_factory, counter_db, monkeypatch
):
    monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(BatchCounter))
    good = new_event("registration", "activity.completed", {"activity_id": "a1"})
    exchange = Exchange("registration.events", type="topic")
    topology.declare(kernel_config, [BatchCounter])  # the queue exists before anything is published
    with Connection(kernel_config["AMQP_URI"]) as connection:
        producer = connection.Producer()
        producer.publish(b"{not json", exchange=exchange, routing_key="activity.completed",
                         content_type="application/json", content_encoding="binary")
        producer.publish({"event_id": "not-a-uuid"}, exchange=exchange, routing_key="activity.completed")
        producer.publish(good, exchange=exchange, routing_key="activity.completed")
    container_factory(BatchCounter, kernel_config).start()

    dead = wait_for(lambda: drain_queue(kernel_config["AMQP_URI"], DEAD_LETTER_QUEUE.name), message="dead letters")
    wait_for(lambda: len(dead) == 2 or dead.extend(drain_queue(kernel_config["AMQP_URI"], DEAD_LETTER_QUEUE.name)),
             message="both dead letters")
    headers = [m.properties["application_headers"] for m in dead]
    assert [h["x-error-type"] for h in headers] == ["InvalidEnvelope", "InvalidEnvelope"]
    assert "not JSON" in headers[0]["x-error"] and json.loads(dead[0].body) == "{not json"
    assert json.loads(dead[1].body) == {"event_id": "not-a-uuid"}
    with counter_db.connect() as connection:
        wait_for(lambda: connection.execute(select(seen.c.event_id)).scalars().all() == [good["event_id"]],
                 message="the good event counted")


class SlowWhoCounts:
    """A batch consumer that takes its time and records which worker (config WORKER) counted
    each event, in `seen.activity_id`."""

    name = "counter"
    db = Database()
    config = Config()

    @batch_event_handler([("registration", "activity.completed")], max_batch=50, max_wait_ms=20)
    def ingest(self, events):
        eventlet.sleep(0.1)
        with self.db.unit_of_work() as uow:
            fresh = uow.claim_many(events)
            if fresh:
                uow.session.execute(insert(seen), [{"event_id": e["event_id"], "activity_id": self.config["WORKER"]}
                                                   for e in fresh])


def test_a_lower_priority_worker_gets_events_only_while_the_first_has_its_hands_full(
    kernel_config, container_factory, counter_db, monkeypatch
):
    monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(Producer, SlowWhoCounts))
    container_factory(Producer, kernel_config).start()
    for worker, priority in (("first", 0), ("second", -1)):
        events = dict(kernel_config["EVENTS"], BATCH_CONSUMER_PRIORITY=priority)
        config = dict(kernel_config, WORKER=worker, EVENTS=events)
        container_factory(SlowWhoCounts, config).start()

    def counted_by() -> dict[str, str]:
        with counter_db.connect() as connection:
            return dict(connection.execute(select(seen.c.event_id, seen.c.activity_id)).all())

    with ServiceRpcProxy("registration", kernel_config) as rpc:
        trickle = []
        for _ in range(15):  # a steady trickle: the first worker keeps up
            trickle += rpc.emit(1)
            eventlet.sleep(0.05)
        wait_for(lambda: set(trickle) <= set(counted_by()), timeout=30, message="the trickle counted")
        assert {counted_by()[event_id] for event_id in trickle} == {"first"}

        backlog = rpc.emit(1500)  # more than the first holds unacked (2 x 50): both share it
    wait_for(lambda: len(counted_by()) >= len(trickle) + len(backlog), timeout=60, message="the backlog counted")
    by = counted_by()
    assert set(by) == set(trickle + backlog)
    with counter_db.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(seen)) == len(trickle) + len(backlog)  # each once
    shares = Counter(by[event_id] for event_id in backlog)
    assert shares["second"] > 0 and shares["first"] > 0, shares


class Attempt(DependencyProvider):
    """The attempt at its event a worker is told of (its x-attempt header; 0 for the first)."""

    def get_dependency(self, worker_ctx):
        return int(worker_ctx.data.get("x-attempt", 0) or 0)


class NeverHandles:
    """A batch consumer that records each call (its events and the attempt it was told of) and fails."""

    name = "counter"
    db = Database()
    attempt = Attempt()

    @batch_event_handler([("registration", "activity.completed")], max_batch=50, max_wait_ms=20)
    def ingest(self, events):
        with self.db.unit_of_work() as uow:
            uow.session.execute(insert(seen), [{"event_id": e["event_id"], "activity_id": str(self.attempt)}
                                               for e in events])
        raise RuntimeError("cannot handle this one")


def test_a_lone_event_is_handled_once_per_delivery_and_knows_its_attempt(
    kernel_config, container_factory, counter_db, monkeypatch
):
    """A handler that gives up on an event (and records that it did) must be told of the attempt, and
    not be called with the same delivery again: it would find nothing left to fail on, and the event
    would be acked instead of retried or dead-lettered."""
    monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(Producer, NeverHandles))
    container_factory(Producer, kernel_config).start()
    container_factory(NeverHandles, kernel_config).start()
    with ServiceRpcProxy("registration", kernel_config) as rpc:
        [lone] = rpc.emit(1)

    dead = wait_for(lambda: drain_queue(kernel_config["AMQP_URI"], DEAD_LETTER_QUEUE.name), message="dead-lettered")
    assert [json.loads(m.body)["event_id"] for m in dead] == [lone]
    with counter_db.connect() as connection:
        calls = connection.execute(select(seen.c.event_id, seen.c.activity_id).order_by(seen.c.id)).all()
    assert calls == [(lone, "0"), (lone, "1"), (lone, "2")]  # RETRY_DELAYS_MS: two retries


class AsksWhileCounting:
    """A batch consumer that asks the producer something (RPC) before it counts each batch."""

    name = "counter"
    db = Database()
    registration = RpcProxy("registration")

    @batch_event_handler([("registration", "activity.completed")], max_batch=100, max_wait_ms=20)
    def ingest(self, events):
        self.registration.outbox_state()
        with self.db.unit_of_work() as uow:
            fresh = uow.claim_many(events)
            uow.session.execute(insert(batches).values(size=len(events)))
            if fresh:
                uow.session.execute(insert(seen), [{"event_id": e["event_id"], "activity_id": "asked"}
                                                   for e in fresh])


def test_a_backlog_waits_until_the_container_gets_its_rpc_replies(
    kernel_config, container_factory, counter_db, monkeypatch
):
    """On a busy machine the container's own consumer (of RPC replies, among others) may start
    consuming well after the batch consumer has read a backlog. The first batch's RPC still gets its
    answer: nothing waits for the RPC timeout (here longer than the test waits)."""
    monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(Producer, AsksWhileCounting))
    container_factory(Producer, kernel_config).start()
    with ServiceRpcProxy("registration", kernel_config) as rpc:
        event_ids = rpc.emit(20)  # published before the consumer ever ran
    queue = topology.ConsumerSpec("counter", "ingest", (("registration", "activity.completed"),)).queue_name
    wait_for(lambda: queue_depth(kernel_config["AMQP_URI"], queue) == 20, message="the backlog queued")
    get_consumers = QueueConsumer.get_consumers

    def starts_late(self, consumer_cls, channel):  # a busy machine
        eventlet.sleep(1.0)
        return get_consumers(self, consumer_cls, channel)

    monkeypatch.setattr(QueueConsumer, "get_consumers", starts_late)
    container_factory(AsksWhileCounting, dict(kernel_config, RPC_TIMEOUT_SECONDS=60)).start()

    def counted():
        with counter_db.connect() as connection:
            return connection.execute(select(seen.c.event_id)).scalars().all()

    wait_for(lambda: len(counted()) >= 20, timeout=30, message="the backlog counted")
    assert sorted(counted()) == sorted(event_ids)
