"""Pipeline metrics move with traffic and name no person."""
import re

import requests
from nameko.standalone.rpc import ServiceRpcProxy
from prometheus_client.parser import text_string_to_metric_families

from kernel import topology
from kernel.topology import DEAD_LETTER_QUEUE
from tests.helpers import queue_depth, wait_for
from tests.integration.kernel.fixture_services import FailingCounter, Producer


def scrape(port) -> dict:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, text


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_published_consumed_retried_dead_lettered_and_entrypoints_are_counted(
    kernel_config, container_factory, free_port, monkeypatch
):
    monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(Producer, FailingCounter))
    kernel_config["METRICS"]["PORTS"] = {"registration": free_port}
    container_factory(Producer, kernel_config).start()
    container_factory(FailingCounter, kernel_config).start()
    before, _ = scrape(free_port)  # one registry per process: compare differences

    with ServiceRpcProxy("registration", kernel_config) as rpc:
        rpc.emit(2, "fine")
        rpc.emit(1, "poison")
    wait_for(lambda: queue_depth(kernel_config["AMQP_URI"], DEAD_LETTER_QUEUE.name) == 1, message="dead letter")
    wait_for(
        lambda: value(scrape(free_port)[0], "platform_outbox_pending", producer="registration") == 0,
        message="outbox gauge back to zero",
    )

    after, text = scrape(free_port)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("platform_events_published_total", producer="registration", event_type="activity.completed") == 3
    consumed = dict(consumer="counter.count", event_type="activity.completed")
    assert moved("platform_events_consumed_total", outcome="handled", **consumed) == 2
    assert moved("platform_events_consumed_total", outcome="retried", **consumed) == 2
    assert moved("platform_events_consumed_total", outcome="dead_lettered", **consumed) == 1
    assert moved("platform_entrypoint_duration_seconds_count", service="registration", entrypoint="emit",
                 kind="rpc") == 2
    assert moved("platform_entrypoint_errors_total", service="counter", entrypoint="count", kind="event",
                 error="RuntimeError") == 3
    assert "@" not in text
    assert not re.search(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-', text), "an id in a label"
