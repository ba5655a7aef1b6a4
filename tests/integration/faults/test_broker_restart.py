"""RabbitMQ restarted mid-stream, cleanly and by a crash (SIGKILL), on a RabbitMQ node of the
test's own (conftest.RabbitNode; the shared broker is never touched): every event still
arrives exactly once, and the services reconnect by themselves.

Real services as `nameko run` processes: registration (its outbox relay is the producer; the
stream is committed into its outbox, as its domain transactions would, and goes on while the
broker is away), reporting (the batch consumer) and the kernel's counter fixture service
(nameko's own event-handler consumer, one row per handled event and no unique key, so a double
count would show).
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import select

from kernel.topology import delay_queue
from tests.helpers import consumers_on, wait_for
from tests.integration.faults.support import (
    REPORTING_CONSUMER,
    UNTIL,
    Databases,
    activity_ids,
    assert_as_undisturbed,
    fault_config,
    generated_events,
    service_documents,
    wait_until_up,
    years_of,
)
from tests.integration.kernel.fixture_services import counter_database, seen

COUNTER = "tests.integration.kernel.fixture_services:Counter"
COUNTER_QUEUE = "evt-registration-activity.completed--counter.count"
REPORTING_QUEUE = "evt-batch--reporting.on_events"


@pytest.fixture
def broker_config(request, platform_config, rabbit_node, tmp_path):
    """platform_config on the test's own RabbitMQ node, plus a database for the counter service."""
    config = fault_config(platform_config)
    config["AMQP_URI"] = rabbit_node.amqp_uri
    config["DATABASES"]["counter"] = counter_database(request, config, tmp_path)
    return config


def caught_up(dbs: Databases, amqp: str, config: dict, group) -> None:
    """Wait until the relay has published every committed event, both services answer RPC, both
    consumers are subscribed again and have handled every event committed so far."""
    wait_for(lambda: dbs.unpublished("registration") == 0, timeout=120, message="the relay to publish")
    wait_until_up(config, group, "registration", "reporting")
    for queue in (REPORTING_QUEUE, COUNTER_QUEUE):
        wait_for(lambda queue=queue: consumers_on(amqp, queue), timeout=120, message=f"a consumer on {queue}")
    committed = dbs.events("registration")
    wait_for(lambda: dbs.processed("reporting", REPORTING_CONSUMER) >= {e["event_id"] for e in committed},
             timeout=120, message="reporting to catch up")
    completed = sum(e["event_type"] == "activity.completed" for e in committed)
    wait_for(lambda: len(dbs.rows_scalars("counter", select(seen.c.event_id))) >= completed, timeout=120,
             message="the counter to catch up")


def test_broker_restarted_and_crashed_mid_stream_loses_and_double_counts_nothing(
    broker_config, rabbit_node, processes, migrated_templates, tmp_path
):
    config = broker_config
    events = generated_events(activities=44, seed=3, prefix="b", requests_too=False, evaluations=False)
    chunks = [events[i:i + 10] for i in range(0, len(events), 10)]
    group = processes(config)
    group.start("registration", "reporting", COUNTER)
    dbs = Databases(config)
    amqp = config["AMQP_URI"]
    began, timings = time.monotonic(), {}

    def commit(share: float) -> None:
        """Commit the stream's next chunks into registration's outbox, up to `share` of it."""
        while chunks and (len(events) - sum(map(len, chunks))) < share * len(events):
            dbs.add_to_outbox("registration", chunks.pop(0))
            time.sleep(0.05)

    def handled() -> int:
        return len(dbs.processed("reporting", REPORTING_CONSUMER))

    try:
        wait_until_up(config, group, "registration", "reporting")
        wait_for(lambda: consumers_on(amqp, COUNTER_QUEUE), timeout=90, message="the counter to consume")
        timings["up"] = time.monotonic() - began

        commit(0.3)
        wait_for(lambda: handled() > 0, timeout=60, message="reporting under way")
        stopped = time.monotonic()
        rabbit_node.stop_app()  # a clean restart: connections closed, queues written out
        assert not rabbit_node.accepts_connections()
        commit(0.5)  # the producer goes on committing while the broker is away
        rabbit_node.start_app()
        timings["clean restart"] = round(time.monotonic() - stopped, 1)
        commit(0.65)
        # everyone is back by themselves and has caught up: relay, RPC, both consumers
        caught_up(dbs, amqp, config, group)
        timings["back after clean restart"] = round(time.monotonic() - stopped, 1)

        # a crash while the broker holds confirmed, unconsumed messages and the consumers hold
        # unacked deliveries: they are frozen until their queues have a backlog, the node is
        # SIGKILLed, then they are thawed (and find their connection gone under their feet)
        group["reporting"].freeze()
        group["counter"].freeze()
        commit(0.8)
        wait_for(lambda: dbs.unpublished("registration") == 0, timeout=60, message="the relay to publish")
        backlog = len(dbs.events("registration")) - handled()
        counter_backlog = sum(e["event_type"] == "activity.completed" for e in dbs.events("registration")) - len(
            dbs.rows_scalars("counter", select(seen.c.event_id)))
        assert backlog >= 50 and counter_backlog >= 3, "no backlog when the broker crashed; the test proves too little"
        rabbit_node.kill()
        crashed = time.monotonic()
        group["reporting"].thaw()
        group["counter"].thaw()
        commit(0.9)
        rabbit_node.start()
        timings["crash restart"] = round(time.monotonic() - crashed, 1)
        commit(1.0)

        # every service reconnected by itself: the RPC consumers answer, the consumers consume
        caught_up(dbs, amqp, config, group)
        assert handled() == len(events)
        timings["all handled after crash"] = round(time.monotonic() - crashed, 1)
        completed = [e["event_id"] for e in events if e["event_type"] == "activity.completed"]
        counted = lambda: dbs.rows_scalars("counter", select(seen.c.event_id))  # noqa: E731
        # nothing more can arrive once no queue holds a message, ready or delivered and unacknowledged
        consumed_queues = [REPORTING_QUEUE, COUNTER_QUEUE,
                           *(delay_queue(ms).name for ms in config["EVENTS"]["RETRY_DELAYS_MS"])]
        wait_for(lambda: rabbit_node.idle(consumed_queues), timeout=120, interval=0.5,
                 message="the consumers' queues empty and every delivery acknowledged")
        for process in ("registration", "reporting", "counter"):
            assert group[process].running() and group[process].starts == 1  # nothing had to be restarted
        years, activities = years_of(events), activity_ids(events)
        got = service_documents(config, years, activities, UNTIL)
    except BaseException:
        print(group.logs())
        print(rabbit_node.tail())
        raise
    finally:
        group.stop_all()
    print("events:", len(events), "backlog at crash:", backlog, "timings:", timings)

    assert sorted(dbs.events("registration"), key=lambda e: e["event_id"]) == sorted(
        events, key=lambda e: e["event_id"])
    assert dbs.processed("reporting", REPORTING_CONSUMER) == {e["event_id"] for e in events}
    assert Counter(counted()) == Counter(completed)  # each exactly once
    reference_url = migrated_templates.sqlite_copy("reporting", tmp_path / "undisturbed-reporting.db")
    assert_as_undisturbed(got, events, reference_url, config, years, activities, UNTIL)
    dbs.dispose()
