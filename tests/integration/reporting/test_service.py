"""The reporting service over the real RabbitMQ: events published onto the producers'
exchanges, figures read over RPC and through the gateway, compared field by field with
the figures computed independently from the same stream."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import requests
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, func, select

from kernel.envelope import new_event
from kernel.tables import processed_events
from services.accounts.service import AccountsService
from services.gateway.service import GatewayService
from services.reporting import store
from services.reporting.service import ReportingService
from tests.helpers import consumers_on, drain_queue, wait_for
from tests.integration.reporting import stream

UNTIL = date(2026, 5, 10)
ACTIVITIES = ("a1", "a2", "a3", "a4", "a5")
SPY_QUEUE = "test.reporting.kpi.spy"


def publish(amqp_uri: str, events: list[dict]) -> None:
    with Connection(amqp_uri) as connection:
        producer = connection.Producer(serializer="json")
        for event in events:
            producer.publish(event, exchange=Exchange(f"{event['producer']}.events", type="topic", durable=True),
                             routing_key=event["event_type"])


def processed(config, event_ids: set[str]) -> bool:
    """Has reporting's consumer claimed every one of `event_ids`?"""
    engine = create_engine(config["DATABASES"]["reporting"])
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(processed_events).where(
                processed_events.c.consumer == "reporting.on_events",
                processed_events.c.event_id.in_(sorted(event_ids)))) == len(event_ids)
    finally:
        engine.dispose()


def publish_and_wait(config, events, timeout=30):
    publish(config["AMQP_URI"], events)
    ids = {event["event_id"] for event in events}
    wait_for(lambda: processed(config, ids), timeout=timeout, message="reporting to take every event")


def documents(config) -> dict:
    with ServiceRpcProxy("reporting", config, timeout=30) as rpc:
        return {
            "annual": {year: rpc.annual_kpis(year) for year in (2024, 2025, 2026)},
            "rolling": {days: rpc.rolling_kpis(days, UNTIL.isoformat()) for days in (7, 30, 365)},
            "activities": {a: rpc.activity_kpis(a) for a in ACTIVITIES},
        }


def expected_documents(events) -> dict:
    return {
        "annual": {year: stream.expected_annual(events, year) for year in (2024, 2025, 2026)},
        "rolling": {days: stream.expected_rolling(events, days, UNTIL) for days in (7, 30, 365)},
        "activities": {a: stream.expected_activity(events, a) for a in ACTIVITIES},
    }


def assert_same(got, expected):
    for kind in expected:
        for key in expected[kind]:
            assert got[kind][key] == expected[kind][key], (kind, key)


@pytest.fixture
def reporting(platform_config, container_factory):
    container = container_factory(ReportingService, platform_config)
    container.start()  # declares the platform's queues, reporting's batch queue among them
    return container


@pytest.mark.usefixtures("reporting")
def test_known_stream_gives_the_documents_computed_from_the_raw_events(database_backend, platform_config):
    events = stream.known_stream()
    publish_and_wait(platform_config, events)
    assert_same(documents(platform_config), expected_documents(events))


@pytest.mark.usefixtures("reporting")
def test_shuffled_duplicated_stream_and_an_erasure_give_identical_documents(database_backend, platform_config):
    events = stream.known_stream()
    incoming = stream.shuffled_with_duplicates(events, seed=11)
    publish_and_wait(platform_config, incoming[: len(incoming) // 2])
    publish_and_wait(platform_config, incoming[len(incoming) // 2 :] + events[::4])  # redelivered ones too
    before = documents(platform_config)
    assert_same(before, expected_documents(events))
    publish_and_wait(platform_config, [stream.erasure()])
    assert documents(platform_config) == before


def test_kpis_through_the_gateway_need_the_staff_token(platform_config, container_factory, staff_headers,
                                                       gateway_url):
    container_factory(ReportingService, platform_config).start()
    container_factory(GatewayService, platform_config).start()
    container_factory(AccountsService, platform_config).start()  # who a token that is no machine token is
    events = stream.known_stream()
    publish_and_wait(platform_config, events)
    expected = expected_documents(events)
    get = lambda path, **kw: requests.get(f"{gateway_url}{path}", timeout=10, **kw)  # noqa: E731
    assert get("/api/kpis/annual/2026").status_code == 401
    assert get("/api/kpis/annual/2026", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert get("/api/kpis/annual/2026", headers=staff_headers).json() == expected["annual"][2026]
    answer = get(f"/api/kpis/rolling/30?until={UNTIL.isoformat()}", headers=staff_headers)
    assert answer.status_code == 200 and answer.json() == expected["rolling"][30]
    assert get("/api/kpis/activities/a1", headers=staff_headers).json() == expected["activities"]["a1"]
    assert get("/api/kpis/activities/nope", headers=staff_headers).status_code == 404
    bad = get("/api/kpis/annual/lastyear", headers=staff_headers)
    assert bad.status_code == 400 and bad.json()["error"] == "validation_failed"
    assert get("/api/kpis/rolling/0", headers=staff_headers).status_code == 400
    today = get("/api/kpis/rolling/7", headers=staff_headers).json()
    assert today["days"] == 7 and today["to"] >= UNTIL.isoformat()


def _evaluations(activity_id, start, scores):
    at = datetime.fromisoformat("2026-04-02T09:00:00+00:00")
    out = []
    for number, (satisfaction, recommend) in enumerate(scores, start):
        data = {"evaluation_id": f"ev{number}", "registration_id": f"reg{number}", "activity_id": activity_id}
        out.append(new_event("evaluation", "evaluation.submitted",
                             {**data, "satisfaction": satisfaction, "recommend": recommend, "has_comment": False},
                             occurred_at=at + timedelta(minutes=number)))
    return out


def test_a_threshold_crossing_emits_one_event_each_way(platform_config, container_factory):
    # only the per-activity satisfaction alert can cross in this test
    platform_config["REPORTING"] = {
        "SATISFACTION_TARGET_PCT": 0, "NPS_TARGET": -101, "RECOGNISED_REACH_TARGET_PCT": 0,
        "ACTIVITY_SATISFACTION_ALERT_PCT": 60, "ACTIVITY_NPS_ALERT": -101, "ACTIVITY_ALERT_MIN_RESPONDENTS": 5,
    }
    with Connection(platform_config["AMQP_URI"]) as connection:
        channel = connection.channel()
        Queue(SPY_QUEUE, exchange=Exchange("reporting.events", type="topic", durable=True), routing_key="kpi.#",
              durable=True, auto_delete=False).bind(channel).declare()
        channel.close()
    container_factory(ReportingService, platform_config).start()
    s = stream.Stream()
    s.activity("2026-03-01T09:00:00+00:00", "t1", "2026-04-01T07:00:00+00:00")
    s.emit("activity.completed", "2026-04-01T17:00:00+00:00", activity_id="t1")
    bad = _evaluations("t1", 1, [(3, 5)] * 4)
    fifth_bad = _evaluations("t1", 5, [(4, 5)])
    good = _evaluations("t1", 6, [(10, 10)] * 10)
    spied: list[dict] = []

    def spy():
        spied.extend(json.loads(m.body) for m in drain_queue(platform_config["AMQP_URI"], SPY_QUEUE))
        return spied

    publish_and_wait(platform_config, s.events + bad)  # 4 respondents: not measured yet
    publish_and_wait(platform_config, fifth_bad)  # 5: 30.8 % < 60 %
    wait_for(lambda: spy(), message="the breach")
    publish_and_wait(platform_config, _evaluations("t1", 20, [(2, 2)]) + bad)  # still breached; repeats
    for event in good:  # one by one: a batch each, the crossing in the middle
        publish_and_wait(platform_config, [event])
    wait_for(lambda: len(spy()) >= 2, message="the recovery")
    with ServiceRpcProxy("reporting", platform_config) as rpc:
        # the repeated events were duplicates: (4*3 + 4 + 2 + 10*10) / 16 * 10
        assert rpc.activity_kpis("t1")["satisfaction_pct"] == 73.8
    import eventlet

    eventlet.sleep(0.5)
    spy()
    assert [(e["event_type"], e["data"]["kpi"], e["data"]["scope"], e["data"]["threshold"]) for e in spied] == [
        ("kpi.threshold_breached", "activity_satisfaction_pct", "activity:t1", 60.0),
        ("kpi.threshold_recovered", "activity_satisfaction_pct", "activity:t1", 60.0),
    ]
    assert spied[0]["data"]["value"] == 32.0  # (4*3 + 4) / 5 * 10
    assert spied[1]["producer"] == "reporting"


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_two_workers_on_postgresql_give_the_figures_of_one(database_backend, platform_config, container_factory,
                                                         monkeypatch):
    workers = Counter()
    ingest = store.ingest

    def counting_ingest(uow, events, thresholds, cache=None):
        workers[id(uow.session.get_bind())] += len(events)  # one engine per worker
        return ingest(uow, events, thresholds, cache)

    monkeypatch.setattr(store, "ingest", counting_ingest)
    first = container_factory(ReportingService, platform_config)
    second = container_factory(ReportingService, platform_config)
    first.start()
    second.start()
    wait_for(lambda: consumers_on(platform_config["AMQP_URI"], "evt-batch--reporting.on_events") == 2,
             message="both workers to consume")
    events = stream.known_stream()
    incoming = stream.shuffled_with_duplicates(events, seed=5)
    publish(platform_config["AMQP_URI"], incoming)
    publish_and_wait(platform_config, [stream.erasure()], timeout=60)
    wait_for(lambda: processed(platform_config, {e["event_id"] for e in events}), timeout=60,
             message="both workers to take every event")
    assert_same(documents(platform_config), expected_documents(events))
    assert len(workers) == 2 and sum(workers.values()) == len(events) + 1, workers
