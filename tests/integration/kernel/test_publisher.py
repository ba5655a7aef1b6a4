"""Batch publishing with confirms against the real broker."""
from kombu import Connection, Exchange, Queue

from kernel.publisher import ConfirmingPublisher
from tests.helpers import drain_queue


def test_batch_is_confirmed_and_unroutable_events_are_told_apart(rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    exchange = Exchange("registration.events", type="topic", durable=True)
    with Connection(uri) as connection:
        Queue("sink", exchange, routing_key="activity.*").bind(connection.channel()).declare()

    publisher = ConfirmingPublisher(uri, exchange)
    messages = [(f"id-{i}", "activity.completed", {"n": i}) for i in range(300)]
    messages.insert(150, ("id-lost", "organisation.updated", {"n": -1}))  # nothing bound
    result = publisher.publish(messages)
    second = publisher.publish([("id-again", "activity.updated", {"n": 300})])  # channel reused
    publisher.close()

    assert result.unroutable == ["id-lost"]
    assert result.failed == []
    assert result.confirmed == [f"id-{i}" for i in range(300)]
    assert second.confirmed == ["id-again"]
    received = drain_queue(uri, "sink")
    assert [m.properties["message_id"] for m in received] == [f"id-{i}" for i in range(300)] + ["id-again"]
    assert received[0].properties["content_type"] == "application/json"
    assert received[0].properties["delivery_mode"] == 2
