"""The rebuild command against real databases: the live reporting service counts a stream of
events that arrives over RabbitMQ; the same events sit in the producers' outboxes (their event
logs, as the producers' relays leave them: published and kept); the rebuild replays the logs
into a separate database and compares."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, insert, select, update

from kernel.config import ROOT
from kernel.db import ServiceDatabase
from kernel.envelope import new_event
from kernel.tables import outbox, utcnow
from services.reporting import domain, rebuild
from services.reporting.models import kpi_counters
from services.reporting.service import ReportingService
from tests.integration.reporting import stream
from tests.integration.reporting.test_service import publish_and_wait


def write_logs(config, events, published=True) -> None:
    """The events into their producers' outboxes, as the producers would have written them."""
    by_producer = defaultdict(list)
    for event in events:
        by_producer[event["producer"]].append(event)
    for producer, produced in by_producer.items():
        engine = create_engine(config["DATABASES"][producer])
        now = utcnow()
        with engine.begin() as connection:
            connection.execute(insert(outbox), [
                {"event_id": e["event_id"], "event_type": e["event_type"], "payload": json.dumps(e),
                 "created_at": now, "published_at": now if published else None, "attempts": 0}
                for e in produced
            ])
        engine.dispose()


def write_raw_log_row(config, producer, event_type, payload: str) -> None:
    engine = create_engine(config["DATABASES"][producer])
    with engine.begin() as connection:
        connection.execute(insert(outbox).values(event_id="not-json-1", event_type=event_type, payload=payload,
                                                 created_at=utcnow(), published_at=utcnow(), attempts=0))
    engine.dispose()


def corrupt(config, scope, metric, by) -> None:
    engine = create_engine(config["DATABASES"]["reporting"])
    with engine.begin() as connection:
        changed = connection.execute(update(kpi_counters).where(
            kpi_counters.c.scope == scope, kpi_counters.c.metric == metric).values(value=kpi_counters.c.value + by))
        assert changed.rowcount == 1
    engine.dispose()


def counter(config, scope, metric) -> int:
    engine = create_engine(config["DATABASES"]["reporting"])
    with engine.connect() as connection:
        value = connection.scalar(select(kpi_counters.c.value).where(
            kpi_counters.c.scope == scope, kpi_counters.c.metric == metric))
    engine.dispose()
    return value


def run_rebuild(config, *args) -> tuple[int, str, str]:
    """In this process (faster than a subprocess), with stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    code = rebuild.run(config, rebuild.parser().parse_args(list(args)), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ops_rebuild(config, tmp_path, *args) -> subprocess.CompletedProcess:
    """The on-call command, as on-call runs it."""
    path = tmp_path / "platform.yml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([sys.executable, "-m", "ops", "--config", str(path), "rebuild-reporting", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def annual(config, year) -> dict:
    with ServiceRpcProxy("reporting", config, timeout=30) as rpc:
        return rpc.annual_kpis(year)


@pytest.fixture
def reporting(platform_config, container_factory):
    container = container_factory(ReportingService, platform_config)
    container.start()
    return container


def test_rebuild_equals_the_live_figures_then_finds_repairs_and_keeps_counting(
        database_backend, platform_config, reporting, tmp_path, request):
    config = platform_config
    events = stream.known_stream() + [stream.erasure()]
    publish_and_wait(config, stream.shuffled_with_duplicates(events))  # live: any order, duplicates
    write_logs(config, events)  # the logs: each event once

    if database_backend == "sqlite":  # the on-call command in a process of its own
        done = ops_rebuild(config, tmp_path, "--batch-size", "10")
        code, out, err = done.returncode, done.stdout, done.stderr
    else:
        code, out, err = run_rebuild(config, "--batch-size", "10")
    assert code == 0, out + err
    assert "equal: the rebuilt figures are the live figures" in out
    assert "compared 2 year(s) (2025-2026), 5 activities" in out
    total, produced = len(events), Counter(event["producer"] for event in events)
    assert (f"event logs: registration {produced['registration']}, evaluation {produced['evaluation']}, "
            f"requests {produced['requests']} ({total} events") in out
    progress = [line for line in err.splitlines() if line.startswith("rebuilding [")]
    assert len(progress) >= 2 and progress[0].startswith("rebuilding [")  # not a terminal: whole lines
    assert f"{total}/{total} events 100.0%" in progress[-1] and "events/s done in" in progress[-1]

    participants = counter(config, "year:2026", "participants")
    corrupt(config, "year:2026", "participants", 5)
    code, out, err = run_rebuild(config, "--quiet")
    assert code == 1, out + err
    assert f"annual 2026: open_offer.participants: live {participants + 5}, rebuilt {participants}" in out
    assert f"annual 2026: totals.participants: live {participants + 5 + 23}, rebuilt {participants + 23}" in out
    assert f"counter year:2026 participants: live {participants + 5}, rebuilt {participants}" in out
    assert "difference(s) (1 counters, 0 set members)" in out and "annual 2025" not in out
    assert annual(config, 2026)["open_offer"]["participants"] == participants + 5

    # PostgreSQL: rebuilt into an empty PostgreSQL database of its own, then copied over
    into = ["--into", request.getfixturevalue("postgres_database")()] if database_backend == "postgresql" else []
    code, out, _ = run_rebuild(config, "--quiet", "--apply", *into)
    assert code == 0, out
    assert "applied: the live aggregates were replaced" in out and out.rstrip().endswith(
        "equal: the rebuilt figures are the live figures")
    assert annual(config, 2026) == stream.expected_annual(events, 2026)  # the live service reads the repair
    rebuilt_2025 = annual(config, 2025)  # every field of the 1.1 document, from the logs alone
    assert rebuilt_2025 == stream.expected_annual(events, 2025)
    assert rebuilt_2025["open_offer"]["by_goal"] and rebuilt_2025["open_offer"]["coordinators_pct"] is not None

    # the live service keeps counting on top of the replaced aggregates, and never twice
    late = stream.Stream()
    late.attend("2026-09-01T16:00:00+00:00", "r13", "a5", "p3", stream.NO_ORG, 1)
    publish_and_wait(config, late.events + events[:20])
    assert annual(config, 2026) == stream.expected_annual(events + late.events, 2026)
    write_logs(config, late.events)
    code, out, _ = run_rebuild(config, "--quiet")
    assert code == 0, out


def test_rebuild_reports_what_the_live_service_has_not_counted_and_skips_what_it_never_would(
        platform_config, reporting):
    config = platform_config
    events = stream.known_stream()
    publish_and_wait(config, events)
    write_logs(config, events)
    pending = stream.Stream()  # committed in the outbox, not published yet (the relay is behind)
    pending.emit("request.received", "2026-05-01T09:00:00+00:00", request_id="q9", organisation_id=None,
                 org_type="individu", recognised=False, target_group="secondary", theme="bestuur", goal=None)
    write_logs(config, pending.events, published=False)
    write_raw_log_row(config, "requests", "request.received", "{not json")

    code, out, err = run_rebuild(config)
    assert code == 1, out + err
    produced = Counter(event["producer"] for event in events)
    assert f"requests {produced['requests'] + 2}" in out and "1 skipped" in out and "skipped ?: invalid" in out
    assert "annual 2026: demand_driven.requests_received: live 4, rebuilt 5" in out
    assert "note: 1 event(s) in the logs are not counted by the live service (yet)" in out
    assert "rebuilding [" in err

    publish_and_wait(config, pending.events)  # the relay catches up: equal again
    code, out, _ = run_rebuild(config, "--quiet")
    assert code == 0, out


def test_apply_keeps_what_the_live_service_counted_while_rebuilding(platform_config, reporting, tmp_path):
    config = platform_config
    events = stream.known_stream()
    publish_and_wait(config, events)
    write_logs(config, events)
    logs = [rebuild.EventLog(service, config["DATABASES"][service], types)
            for service, types in rebuild.consumed_by_producer().items()]
    started = datetime.now(timezone.utc)
    for log in logs:
        log.mark()
    target = rebuild._prepare_target(f"sqlite:///{tmp_path}/rebuilt.db", config["DATABASES"]["reporting"])
    live = ServiceDatabase(config["DATABASES"]["reporting"], producer="reporting")
    try:
        rebuild.replay(logs, target, domain.Thresholds(), 25, rebuild.Progress(len(events), enabled=False))
        # meanwhile a producer commits a new event and the live service counts it
        late = new_event("requests", "request.received", {
            "request_id": "q8", "organisation_id": "o3", "org_type": "volkshogeschool", "recognised": True,
            "target_group": "primary", "theme": "bestuur", "goal": None,
        }, occurred_at=datetime.fromisoformat("2026-06-01T09:00:00+00:00"))
        write_logs(config, [late])
        publish_and_wait(config, [late])
        corrupt(config, "year:2025", "dagdelen", -1)
        out = io.StringIO()
        rebuild.apply(live, target, logs, started - timedelta(minutes=1), domain.Thresholds(), out)
        assert "caught up 1 event(s)" in out.getvalue()
        with rebuild.snapshot(live) as live_session, rebuild.snapshot(target) as rebuilt_session:
            assert rebuild.compare(live_session, rebuilt_session).equal
        assert annual(config, 2026) == stream.expected_annual(events + [late], 2026)
        assert annual(config, 2025) == stream.expected_annual(events, 2025)
    finally:
        for log in logs:
            log.dispose()
        target.dispose()
        live.dispose()


def test_rebuild_refuses_the_live_database_and_a_target_that_is_not_empty(platform_config, tmp_path):
    config = platform_config
    code, _, err = run_rebuild(config, "--into", config["DATABASES"]["reporting"])
    assert code == 2 and "--into is the live reporting database" in err
    write_logs(config, stream.known_stream()[:5])
    used = f"sqlite:///{tmp_path}/used.db"
    assert run_rebuild(config, "--quiet", "--into", used)[0] == 1  # the live service counted none of them
    code, _, err = run_rebuild(config, "--into", used)
    assert code == 2 and "is not empty" in err
    code, _, err = run_rebuild(config, "--batch-size", "0")
    assert code == 2 and "--batch-size" in err


def test_a_rebuild_counts_each_year_with_the_definition_fixed_with_its_figures(
        platform_config, container_factory):
    """The live service counted 2026 with a policy that makes overheid primary; the configuration
    has changed since (no policy): the rebuild still equals the live figures."""
    config = platform_config
    primary = ["vereniging", "beweging", "landelijke_vormingsinstelling", "volkshogeschool", "overheid"]
    counted_with = {**config, "REPORTING": {**config["REPORTING"],
                                            "PRIMARY_GROUP": [{"FROM": 2026, "TO": 2026, "ORG_TYPES": primary}]}}
    container_factory(ReportingService, counted_with).start()
    events = stream.known_stream()
    publish_and_wait(config, events)
    write_logs(config, events)
    assert annual(config, 2026) == stream.expected_annual(events, 2026, {2026: tuple(primary)})
    now = {**config, "REPORTING": {**config["REPORTING"], "PRIMARY_GROUP": []}}
    code, out, err = run_rebuild(now, "--quiet")
    assert code == 0, out + err
    assert "equal: the rebuilt figures are the live figures" in out
