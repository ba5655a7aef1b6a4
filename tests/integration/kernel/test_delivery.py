"""The event kernel over a real RabbitMQ: outbox relay, late consumers,
idempotency, retries and the dead-letter queue."""
import json

import eventlet
import pytest
from kombu import Connection, Exchange
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from kernel import topology
from kernel.envelope import new_event
from kernel.topology import DEAD_LETTER_QUEUE, ConsumerSpec
from tests.helpers import drain_queue, queue_depth, wait_for
from tests.integration.kernel.fixture_services import Counter, FailingCounter, Producer, attempts, seen


def seen_rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(seen.c.event_id)).scalars().all()


@pytest.fixture
def platform_with(monkeypatch):
    """Make the consumers of `classes` the platform's, as kernel.contract.CONSUMERS lists the services'."""

    def use(*classes):
        monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(*classes))

    return use


def test_consumer_started_after_events_were_published_still_gets_them_all(
    database_backend, kernel_config, container_factory, counter_db, platform_with
):
    platform_with(Producer, Counter)
    producer = container_factory(Producer, kernel_config)
    producer.start()
    with ServiceRpcProxy("registration", kernel_config) as rpc:
        event_ids = rpc.emit(50)
        wait_for(lambda: rpc.outbox_state()["published"] == 50, message="all 50 events published")

    consumer = container_factory(Counter, kernel_config)
    consumer.start()

    wait_for(lambda: len(seen_rows(counter_db)) >= 50, message="consumer catching up")
    assert sorted(seen_rows(counter_db)) == sorted(event_ids)


def test_redelivered_event_changes_nothing(kernel_config, container_factory, counter_db, platform_with):
    platform_with(Counter)
    consumer = container_factory(Counter, kernel_config)
    consumer.start()
    event = new_event("registration", "activity.completed", {"activity_id": "a1"})
    with Connection(kernel_config["AMQP_URI"]) as connection:
        producer = connection.Producer()
        for _ in range(3):
            producer.publish(
                event, exchange=Exchange("registration.events", type="topic"), routing_key="activity.completed"
            )
    wait_for(lambda: seen_rows(counter_db), message="event handled")
    queue = ConsumerSpec("counter", "count", (("registration", "activity.completed"),)).queue_name
    wait_for(lambda: queue_depth(kernel_config["AMQP_URI"], queue) == 0, message="redeliveries consumed")
    eventlet.sleep(0.2)  # the last one may still be in its handler
    assert seen_rows(counter_db) == [event["event_id"]]


def attempts_by_event(engine) -> dict:
    with engine.connect() as connection:
        rows = connection.execute(
            select(attempts.c.event_id, func.count()).group_by(attempts.c.event_id)
        ).all()
    return dict(rows)


def test_failing_handler_is_retried_then_dead_lettered_never_acked_and_dropped(
    database_backend, kernel_config, container_factory, counter_db, platform_with
):
    platform_with(Producer, FailingCounter)
    container_factory(Producer, kernel_config).start()
    container_factory(FailingCounter, kernel_config).start()
    with ServiceRpcProxy("registration", kernel_config) as rpc:
        [fine] = rpc.emit(1, "fine")
        [flaky] = rpc.emit(1, "flaky")
        [poison] = rpc.emit(1, "poison")

    dead = wait_for(lambda: drain_queue(kernel_config["AMQP_URI"], DEAD_LETTER_QUEUE.name), message="dead letter")
    # retry delays are [50, 100] ms in tests: one try plus two retries
    assert [json.loads(m.body)["event_id"] for m in dead] == [poison]
    headers = dead[0].properties["application_headers"]
    assert headers["x-attempts"] == 3
    assert headers["x-error-type"] == "RuntimeError"
    assert headers["x-error"] == "cannot handle this one"
    assert headers["x-original-queue"] == "evt-registration-activity.completed--counter.count"
    wait_for(lambda: len(seen_rows(counter_db)) == 2, message="fine and flaky handled")
    assert sorted(seen_rows(counter_db)) == sorted([fine, flaky])
    assert attempts_by_event(counter_db) == {fine: 1, flaky: 3, poison: 3}
    assert queue_depth(kernel_config["AMQP_URI"], "evt-registration-activity.completed--counter.count") == 0


def test_invalid_envelope_goes_straight_to_the_dead_letter_queue(
    kernel_config, container_factory, counter_db, platform_with
):
    platform_with(Counter)
    consumer = container_factory(Counter, kernel_config)
    consumer.start()
    bad = {"event_id": "not-a-uuid", "event_type": "activity.completed", "data": {}}
    with Connection(kernel_config["AMQP_URI"]) as connection:
        connection.Producer().publish(
            bad, exchange=Exchange("registration.events", type="topic"), routing_key="activity.completed"
        )
    queue_name = ConsumerSpec("counter", "count", (("registration", "activity.completed"),)).queue_name
    dead = wait_for(lambda: drain_queue(kernel_config["AMQP_URI"], DEAD_LETTER_QUEUE.name), message="dead letter")
    assert len(dead) == 1
    assert dead[0].properties['application_headers']["x-error-type"] == "InvalidEnvelope"
    assert dead[0].properties['application_headers']["x-original-queue"] == queue_name
    assert json.loads(dead[0].body)["event_id"] == "not-a-uuid"
    assert seen_rows(counter_db) == []
    with counter_db.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(attempts)) == 0


def test_a_handler_that_says_do_not_retry_is_dead_lettered_at_once(
    kernel_config, container_factory, counter_db, platform_with
):
    platform_with(Producer, FailingCounter)
    container_factory(Producer, kernel_config).start()
    container_factory(FailingCounter, kernel_config).start()
    with ServiceRpcProxy("registration", kernel_config) as rpc:
        [hopeless] = rpc.emit(1, "hopeless")
    dead = wait_for(lambda: drain_queue(kernel_config["AMQP_URI"], DEAD_LETTER_QUEUE.name), message="dead letter")
    headers = dead[0].properties["application_headers"]
    assert headers["x-error-type"] == "DoNotRetry"
    assert headers["x-attempts"] == 1
    assert attempts_by_event(counter_db) == {hopeless: 1}
