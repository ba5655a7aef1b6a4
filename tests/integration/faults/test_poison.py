"""A poison event in a steady stream: reporting cannot handle it however often it tries (a
valid envelope whose `days_attended` no database integer holds), so it is retried, then
dead-lettered with its error, and the dead-letter metric moves by one; every other event of the
stream, before and after it and in the same batches, is counted, once."""
from __future__ import annotations

import json

import eventlet
from kombu import Connection

from kernel.topology import DEAD_LETTER_QUEUE, delay_queue
from services.reporting.service import ReportingService
from tests.helpers import broker_idle, queue_depth, wait_for
from tests.integration.faults.support import (
    REPORTING_CONSUMER,
    REPORTING_TYPES,
    UNTIL,
    Databases,
    activity_ids,
    assert_as_undisturbed,
    generated_events,
    publish,
    sample,
    scrape,
    service_documents,
    years_of,
)
from tests.integration.reporting import stream


def poison_in(events: list[dict]) -> dict:
    """An attendance of a real activity of the stream that no integer column can hold."""
    activity = next(e for e in events if e["event_type"] == "activity.scheduled")["data"]["activity_id"]
    s = stream.Stream()
    s.attend("2026-03-01T09:00:00+00:00", "poisoned-registration", activity, "poisoned-person",
             (None, "individu", False), 10 ** 20)
    return s.events[0]


def test_a_poison_event_is_dead_lettered_and_the_stream_goes_on(platform_config, container_factory, free_port,
                                                               migrated_templates, tmp_path):
    config = platform_config  # retries after 50 and 100 ms
    config["METRICS"]["PORTS"] = {"reporting": free_port}
    amqp = config["AMQP_URI"]
    container_factory(ReportingService, config).start()
    events = generated_events(activities=20, seed=11, prefix="x")
    poison = poison_in(events)
    before = scrape(free_port)  # one registry per process: compare differences

    middle = len(events) // 2
    for start in range(0, middle, 20):  # the stream, the poison amid a chunk, the rest of the stream
        publish(amqp, events[start:min(start + 20, middle)])
        eventlet.sleep(0.02)
    publish(amqp, events[middle:middle + 10] + [poison] + events[middle + 10:middle + 20])
    for start in range(middle + 20, len(events), 20):
        publish(amqp, events[start:start + 20])
        eventlet.sleep(0.02)

    dbs = Databases(config)
    wanted = {e["event_id"] for e in events}
    wait_for(lambda: dbs.processed("reporting", REPORTING_CONSUMER) >= wanted, timeout=60,
             message="every other event handled")
    wait_for(lambda: queue_depth(amqp, DEAD_LETTER_QUEUE.name) == 1, timeout=30, message="the poison dead-lettered")

    def moved(outcome, event_type=None) -> float:
        """How far platform_events_consumed_total of reporting moved since the start (every event type)."""
        after = scrape(free_port)
        return sum(sample(after, "platform_events_consumed_total", **labels) - sample(
            before, "platform_events_consumed_total", **labels)
            for labels in (dict(consumer=REPORTING_CONSUMER, event_type=kind, outcome=outcome)
                           for kind in ([event_type] if event_type else REPORTING_TYPES)))

    # every delivery settled: as many handled as were published, the poison's last attempt counted,
    # and the queue and its retries hold nothing more, ready or unacknowledged
    queues = ["evt-batch--reporting.on_events", *(delay_queue(ms).name for ms in config["EVENTS"]["RETRY_DELAYS_MS"])]
    wait_for(lambda: moved("handled") >= len(events) and moved("dead_lettered") >= 1 and broker_idle(amqp, queues),
             timeout=30, interval=0.2, message="every delivery counted and acknowledged")
    assert dbs.processed("reporting", REPORTING_CONSUMER) == wanted  # each other event once, never the poison

    with Connection(amqp) as connection:
        channel = connection.channel()
        letter = channel.basic_get(DEAD_LETTER_QUEUE.name)
        assert channel.basic_get(DEAD_LETTER_QUEUE.name) is None
        channel.close()  # unacked: it stays, for on-call to see
    assert json.loads(letter.body) == poison
    headers = letter.properties["application_headers"]
    assert headers["x-original-queue"] == "evt-batch--reporting.on_events"
    assert headers["x-attempts"] == len(config["EVENTS"]["RETRY_DELAYS_MS"]) + 1
    assert headers["x-error-type"] in ("OverflowError", "DataError", "ProgrammingError", "DatabaseError")

    assert moved("dead_lettered") == moved("dead_lettered", "attendance.recorded") == 1
    assert moved("retried") == moved("retried", "attendance.recorded") == len(config["EVENTS"]["RETRY_DELAYS_MS"])
    assert moved("handled") == len(events)  # each published once, each handled once

    years, activities = years_of(events), activity_ids(events)
    got = service_documents(config, years, activities, UNTIL)
    reference_url = migrated_templates.sqlite_copy("reporting", tmp_path / "undisturbed-reporting.db")
    assert_as_undisturbed(got, events, reference_url, config, years, activities, UNTIL)
    dbs.dispose()
