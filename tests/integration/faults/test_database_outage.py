"""A service's PostgreSQL database refuses connections for a while (ALTER DATABASE ...
ALLOW_CONNECTIONS false, its sessions terminated), then comes back.

Consumer (reporting): while its database is away its handler fails; an outage shorter than the
retry back-off is absorbed by the retries, a longer one dead-letters what exhausted its
attempts, and `python -m ops dlq replay --all` brings those back. In the end every
event is counted once and the figures are complete.

Producer (registration, called through the gateway): a request while its database is away is
refused with a 5xx and leaves nothing behind: no row, no event; the others go through whole.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import eventlet
import pytest
import requests
import yaml
from kombu import Connection
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, select, text

from kernel.config import ROOT
from kernel.topology import DEAD_LETTER_QUEUE, delay_queue
from services.gateway.service import GatewayService
from services.registration.models import persons, registrations
from services.registration.service import RegistrationService
from services.reporting.service import ReportingService
from tests.conftest import POSTGRES_ADMIN_URL
from tests.helpers import EventSpy, wait_for
from tests.integration.faults.support import (
    REPORTING_CONSUMER,
    UNTIL,
    Databases,
    activity_ids,
    assert_as_undisturbed,
    consumed,
    fault_config,
    generated_events,
    publish,
    queue_depths,
    scrape,
    service_documents,
    years_of,
)
from tests.integration.gateway.support import activity_payload

# 15.5 s from an event's first attempt to its last: far longer than the short outage lasts after
# the handler's first failure, on any machine (how short it is: benchmarks/responsiveness_bench.py)
RETRY_DELAYS_MS = (500, 1000, 2000, 4000, 8000)


class DatabaseSwitch:
    """Makes a PostgreSQL database refuse connections and lets it back; always lets it back."""

    def __init__(self):
        self.admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.away: set[str] = set()

    def refuse(self, url: str) -> None:
        """From now on no session on the database: new ones are refused, the open ones terminated
        (returns once they are gone: pg_terminate_backend only signals them)."""
        name = url.rsplit("/", 1)[-1]
        self.away.add(name)
        with self.admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ), {"name": name})
            wait_for(lambda: not connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :name"), {"name": name}).scalar(),
                timeout=30, message=f"the sessions on {name} to end")

    def allow(self, url: str) -> None:
        name = url.rsplit("/", 1)[-1]
        with self.admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        self.away.discard(name)

    def close(self) -> None:
        with self.admin.connect() as connection:
            for name in self.away:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        self.admin.dispose()


@pytest.fixture
def database_switch(platform_config):  # after platform_config: let the databases back before they are dropped
    switch = DatabaseSwitch()
    yield switch
    switch.close()


def publish_steadily(amqp_uri: str, events: list[dict], per_tick: int = 10, tick: float = 0.05) -> None:
    for start in range(0, len(events), per_tick):
        publish(amqp_uri, events[start:start + per_tick])
        eventlet.sleep(tick)


def alive(container) -> bool:
    """Not killed: nameko kills a whole service when one of its threads (say the outbox relay) dies."""
    return not container._being_killed and not container._died.ready()


def distinct(events: list[dict]) -> list[dict]:
    """One envelope per event_id; a republished event must be the very same envelope."""
    by_id: dict[str, dict] = {}
    for event in events:
        assert by_id.setdefault(event["event_id"], event) == event, "two different events with one event_id"
    return list(by_id.values())


def dead_letters(amqp_uri: str) -> list[tuple[dict, dict]]:
    """(payload, headers) of every dead letter, left in the queue."""
    found = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        while (message := channel.basic_get(DEAD_LETTER_QUEUE.name)) is not None:
            found.append((json.loads(message.body), dict(message.properties.get("application_headers") or {})))
        channel.close()  # unacked: they all return to the queue
    return found


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_consumer_database_away_is_retried_or_dead_lettered_and_replayed_nothing_lost(
    database_backend, platform_config, container_factory, database_switch, free_port, migrated_templates, tmp_path
):
    config = fault_config(platform_config, retry_delays_ms=RETRY_DELAYS_MS)
    config["METRICS"]["PORTS"] = {"reporting": free_port}
    amqp, reporting_url = config["AMQP_URI"], config["DATABASES"]["reporting"]
    reporting = container_factory(ReportingService, config)
    reporting.start()
    events = generated_events(activities=30, seed=5, prefix="d")
    first, second, third = events[:200], events[200:350], events[350:]
    dbs = Databases(config)
    processed = lambda: dbs.processed("reporting", REPORTING_CONSUMER)  # noqa: E731
    retry_queues = [delay_queue(ms).name for ms in RETRY_DELAYS_MS]
    before = scrape(free_port)

    # 1. away for a little while events flow (some of them published while it is away, and until
    #    the handler has failed on one): the retries outlast it
    retried_before = consumed(before, REPORTING_CONSUMER, "retried")
    publisher = eventlet.spawn(publish_steadily, amqp, first[:150])
    eventlet.sleep(0.3)
    database_switch.refuse(reporting_url)
    try:
        publisher.wait()
        publish_steadily(amqp, first[150:])
        wait_for(lambda: consumed(scrape(free_port), REPORTING_CONSUMER, "retried") > retried_before, timeout=60,
                 interval=0.1, message="the handler to fail while its database is away")
    finally:
        database_switch.allow(reporting_url)
    wait_for(lambda: processed() >= {e["event_id"] for e in first}, timeout=60, message="the first part handled")
    wait_for(lambda: not any(queue_depths(amqp, retry_queues).values()), timeout=30, message="no retry pending")
    after_short = scrape(free_port)
    assert dead_letters(amqp) == []  # every failed event made it on a retry
    assert alive(reporting)

    # 2. away for longer than the retries: the events that arrive meanwhile fail on every attempt
    #    and are dead-lettered; only then does the database come back. (A failed attempt costs
    #    the consumer ~0.2 s here, so a handful of events is what exhausts 15.5 s of retries soon
    #    after; a flood would keep it busy until the database was back.)
    doomed, rest = second[:6], second[6:]
    doomed_ids = {e["event_id"] for e in doomed}
    database_switch.refuse(reporting_url)
    try:
        publish_steadily(amqp, doomed, per_tick=1, tick=0.2)
        wait_for(lambda: {payload["event_id"] for payload, _ in dead_letters(amqp)} >= doomed_ids, timeout=90,
                 interval=0.5, message="the retries of the events to run out")
    finally:
        database_switch.allow(reporting_url)
    dead = dead_letters(amqp)
    assert {payload["event_id"] for payload, _ in dead} == doomed_ids
    for _, headers in dead:
        assert headers["x-attempts"] == len(RETRY_DELAYS_MS) + 1
        assert headers["x-original-queue"] == "evt-batch--reporting.on_events"
    after_long = scrape(free_port)
    assert consumed(after_long, REPORTING_CONSUMER, "dead_lettered") - consumed(
        after_short, REPORTING_CONSUMER, "dead_lettered") == len(doomed)
    publish_steadily(amqp, rest)  # the database is back: the stream goes on
    wait_for(lambda: processed() >= {e["event_id"] for e in first + rest}, timeout=60, message="the rest handled")
    assert not processed() & doomed_ids

    # 3. on-call replays the dead letters once the database is back; the stream goes on meanwhile
    config_path = tmp_path / "ops-config.yml"
    config_path.write_text(yaml.safe_dump(config))
    publisher = eventlet.spawn(publish_steadily, amqp, third)  # while the stream goes on
    replay = subprocess.run([sys.executable, "-m", "ops", "--config", str(config_path), "dlq", "replay", "--all"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert f"replayed {len(dead)} of {len(dead)}" in replay.stdout
    publisher.wait()
    wait_for(lambda: processed() == {e["event_id"] for e in events}, timeout=60, message="every event handled")
    assert dead_letters(amqp) == []
    assert alive(reporting)

    years, activities = years_of(events), activity_ids(events)
    got = service_documents(config, years, activities, UNTIL)
    reference_url = migrated_templates.sqlite_copy("reporting", tmp_path / "undisturbed-reporting.db")
    assert_as_undisturbed(got, events, reference_url, config, years, activities, UNTIL)
    dbs.dispose()


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_producer_database_away_refuses_with_5xx_and_leaves_nothing_half_written(
    database_backend, platform_config, container_factory, database_switch, gateway_url
):
    config = fault_config(platform_config)
    registration_url = config["DATABASES"]["registration"]
    spy = EventSpy(config["AMQP_URI"], "registration")
    registration = container_factory(RegistrationService, config)
    registration.start()
    container_factory(GatewayService, config).start()
    with ServiceRpcProxy("registration", config, timeout=30) as rpc:
        activity_id = rpc.create_activity(activity_payload(
            title="Vorming", theme="vrijwilligers", capacity=50, location="Gent"))["activity_id"]

    def register(number: int):
        """The gateway's answer (within the client's 60 s: an answer, not a hang) and when it came."""
        answer = requests.post(f"{gateway_url}/api/activities/{activity_id}/registrations", json={
            "name": f"Deelnemer {number}", "email": f"p{number}@example.org", "privacy_consent": True,
        }, timeout=60)
        return answer, time.monotonic()

    accepted = {}  # person number -> registration id
    for number in range(3):
        answer, _ = register(number)
        assert answer.status_code == 201, answer.text
        accepted[number] = answer.json()["registration_id"]

    # 1. the database is away (its sessions gone): every request is refused at once, nothing is written
    database_switch.refuse(registration_url)
    try:
        for number in range(3, 6):
            answer, _ = register(number)
            assert answer.status_code >= 500, (answer.status_code, answer.text)
            assert answer.json()["error"]
    finally:
        database_switch.allow(registration_url)
    assert alive(registration), "the registration service died with its database connection"
    for number in range(6, 8):
        answer, _ = register(number)
        assert answer.status_code == 201, answer.text
        accepted[number] = answer.json()["registration_id"]
    dbs = Databases(config)
    # every committed event published, with confirms: each is in the spy's queue before it is marked so
    wait_for(lambda: dbs.unpublished("registration") == 0, timeout=60, message="the relay to publish")
    # (an event may go out twice: published, then the database went away before it was marked
    # so; the consumers are idempotent on event_id. Never two events for one registration.)
    assert {e["data"]["registration_id"] for e in distinct(spy.of_type("registration.created"))} == set(
        accepted.values())
    assert len(distinct(spy.of_type("registration.created"))) == len(accepted)

    # 2. the database goes away while requests are in flight (three times, at different moments):
    #    each is accepted (201) or refused (5xx) in time; a refused one may still have committed
    #    (the answer to its COMMIT was lost), but then whole: the registration with its event.
    #    Asking again is safe: 201, or 409 duplicate. The service itself lives on (its relay too).
    #    One more request is sent while the database is away, so each round certainly has a
    #    request that the outage refused or held up until the database was back.
    in_flight_people = []
    for round_, delay in enumerate((0.05, 0.2, 0.4)):
        pool = eventlet.GreenPool(13)
        in_flight = {number: pool.spawn(register, number) for number in range(10 + 20 * round_, 22 + 20 * round_)}
        eventlet.sleep(delay)
        database_switch.refuse(registration_url)
        in_flight[22 + 20 * round_] = pool.spawn(register, 22 + 20 * round_)
        in_flight_people += list(in_flight)
        eventlet.sleep(0.5)
        allowed_at = time.monotonic()
        database_switch.allow(registration_url)
        refused, held_up = [], []
        for number, thread in in_flight.items():
            answer, answered_at = thread.wait()
            assert answer.status_code == 201 or answer.status_code >= 500, (answer.status_code, answer.text)
            if answered_at > allowed_at:
                held_up.append(number)
            if answer.status_code == 201:
                accepted[number] = answer.json()["registration_id"]
            else:
                refused.append(number)
        assert refused or held_up, f"round {round_}: no request was refused or held up by the outage"
        assert alive(registration), "the registration service died with its database connection"
        for number in refused:  # the participant tries again
            answer, _ = register(number)
            assert answer.status_code in (201, 409), (answer.status_code, answer.text)
            if answer.status_code == 201:
                accepted[number] = answer.json()["registration_id"]

    try:
        wait_for(lambda: dbs.unpublished("registration") == 0, timeout=60, message="the relay to publish")
        rows = dbs.rows("registration", select(registrations.c.registration_id, persons.c.email).join(
            persons, persons.c.person_id == registrations.c.person_id))
        by_email = {email: registration_id for registration_id, email in rows}
        people = [0, 1, 2, 6, 7, *in_flight_people]
        assert len(rows) == len(by_email) == len(people)  # one registration per person, nobody twice
        assert sorted(by_email) == sorted(f"p{n}@example.org" for n in people)  # and none of the refused 3-5
        assert all(by_email[f"p{n}@example.org"] == registration_id for n, registration_id in accepted.items())
        events = [e for e in dbs.events("registration") if e["event_type"] == "registration.created"]
        assert sorted(e["data"]["registration_id"] for e in events) == sorted(by_email.values())  # 1:1
        # every committed event is in the spy's queue (published with confirms before marked so)
        assert sorted(e["event_id"] for e in distinct(spy.of_type("registration.created"))) == sorted(
            e["event_id"] for e in events)
    finally:
        dbs.dispose()
