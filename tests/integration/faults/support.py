"""What the fault-injection tests share: real services in their own processes (started,
frozen, SIGKILLed and restarted by pid), reading the services' own databases, the figures
of an undisturbed run (the same events fed in-process into a fresh reporting database),
generated event streams, and Prometheus scraping."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests
import yaml
from kombu import Connection, Exchange
from nameko.standalone.rpc import ServiceRpcProxy
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, insert, select

from kernel.config import CENTRE_TIMEZONE, ROOT
from kernel.contract import ORG_TYPES_RECOGNISED
from kernel.db import ServiceDatabase
from kernel.tables import outbox, processed_events, utcnow
from services.reporting import domain as reporting_domain
from services.reporting import store as reporting_store
from services.reporting.rebuild import LIVE_CONSUMER as REPORTING_CONSUMER
from tests.helpers import wait_for
from tests.integration.reporting import stream

# the day the rolling figures are read up to: after every generated event
UNTIL = date(2026, 12, 31)
# What reporting consumes, written out from the KPI definitions (DESIGN.md), not read from its code:
# an event type it stopped consuming would show as a difference
REPORTING_TYPES = frozenset({
    "organisation.registered", "organisation.updated",
    "activity.scheduled", "activity.updated", "activity.cancelled", "activity.completed",
    "registration.created", "registration.confirmed", "registration.cancelled", "attendance.recorded",
    "person.erased", "evaluation.requested", "evaluation.submitted",
    "request.received", "request.accepted", "request.declined", "request.delivered",
})


# --------------------------------------------------------------------------- configuration


def write_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def fault_config(config: dict, retry_delays_ms=(500, 2000, 8000)) -> dict:
    """The test configuration made fit for processes that get killed: fixed link secrets (nothing
    written under var/), no send-rate limit, mail captured, RPCs that outlast a restart, and
    retry delays that outlast the notifications' sending lease.

    (A mail whose worker was killed while sending stays `sending` under a lease of
    3 x SMTP_TIMEOUT_SECONDS + 5 s; its redelivered event is retried until the lease is over,
    and on the last attempt notifications gives up on it silently. So the retries must last
    longer than the lease: 10.5 s against 6.5 s here, as 156 s against 35 s in config.yml.)"""
    config["EVENTS"]["RETRY_DELAYS_MS"] = list(retry_delays_ms)
    config["RPC_TIMEOUT_SECONDS"] = 90
    config.setdefault("REGISTRATION", {})["CANCEL_LINK_SECRET"] = "faults-cancel-link-secret"
    config.setdefault("EVALUATION", {})["LINK_SECRET"] = "faults-evaluation-link-secret"
    notifications = config.setdefault("NOTIFICATIONS", {})
    notifications.update(MAIL_CAPTURE=True, SEND_RATE_PER_SECOND=0, ALERT_EMAILS="", ALERT_WEBHOOK_URLS="",
                         SMTP_TIMEOUT_SECONDS=0.5)
    return config


# --------------------------------------------------------------------------- service processes


class ServiceProcess:
    """One `nameko run` process of a service; only ever signalled by its own pid."""

    def __init__(self, target: str, config_path: Path, log_dir: Path, name: str | None = None):
        self.target = target if ":" in target or target.startswith("tests.") else f"services.{target}.service"
        self.name = name or target
        self.config_path = config_path
        self.log_path = log_dir / f"{self.name}.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> ServiceProcess:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n----- start #{self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "nameko", "run", "--config", str(self.config_path), self.target],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acks, no last commit."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if not self.running():
            return
        try:
            os.kill(self.pid, signal.SIGCONT)  # a frozen process cannot handle SIGTERM
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Processes:
    """Service processes of one test, all stopped when it ends (see the `processes` fixture)."""

    def __init__(self, config: dict, tmp_path: Path):
        self.config = config
        self.config_path = write_config(config, tmp_path / "config.yml")
        self.log_dir = tmp_path
        self.by_name: dict[str, ServiceProcess] = {}

    def start(self, *targets: str) -> list[ServiceProcess]:
        started = []
        for target in targets:
            name = target.rsplit(":", 1)[-1].lower() if ":" in target else target
            process = ServiceProcess(target, self.config_path, self.log_dir, name)
            self.by_name[name] = process
            started.append(process.start())
        return started

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.by_name[name]

    def stop_all(self) -> None:
        for process in self.by_name.values():
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"===== {name}\n{p.log_tail()}" for name, p in self.by_name.items())


def answers(config: dict, service: str, timeout: float = 3) -> bool:
    """Does `service` answer its health RPC (its RPC consumer is up and its database reachable)?"""
    try:
        with ServiceRpcProxy(service, config, timeout=timeout) as proxy:
            return bool(proxy.health()["database"])
    except Exception:  # noqa: BLE001 - not up (yet)
        return False


def wait_until_up(config: dict, processes: Processes, *services: str, timeout: float = 90) -> None:
    for service in services:
        def up(service=service):
            assert processes[service].running(), f"{service} died:\n{processes[service].log_tail()}"
            return answers(config, service)

        wait_for(up, timeout=timeout, interval=0.3, message=f"{service} to answer")


def queue_depths(amqp_uri: str, queue_names) -> dict[str, int]:
    depths = {}
    with Connection(amqp_uri) as connection:
        for name in queue_names:
            channel = connection.channel()
            _, depth, _ = channel.queue_declare(name, passive=True)
            depths[name] = depth
            channel.close()
    return depths


# --------------------------------------------------------------------------- the services' databases


class Databases:
    """Read (and, for the outbox, write) the services' own databases from the test."""

    def __init__(self, config: dict):
        self.engines = {name: create_engine(url, pool_pre_ping=True) for name, url in config["DATABASES"].items()}

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    def rows(self, service: str, statement):
        with self.engines[service].connect() as connection:
            return connection.execute(statement).all()

    def scalar(self, service: str, statement):
        with self.engines[service].connect() as connection:
            return connection.scalar(statement)

    def events(self, *producers: str, published_only: bool = False) -> list[dict]:
        """Every event the producers committed (their outbox is their event log), oldest first."""
        found = []
        for producer in producers:
            query = select(outbox.c.payload).order_by(outbox.c.id)
            if published_only:
                query = query.where(outbox.c.published_at.is_not(None))
            found += [json.loads(payload) for (payload,) in self.rows(producer, query)]
        return found

    def unpublished(self, producer: str) -> int:
        return self.scalar(producer, select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))

    def processed(self, service: str, consumer: str) -> set[str]:
        return set(self.rows_scalars(service, select(processed_events.c.event_id).where(
            processed_events.c.consumer == consumer)))

    def rows_scalars(self, service: str, statement) -> list:
        with self.engines[service].connect() as connection:
            return list(connection.execute(statement).scalars())

    def add_to_outbox(self, producer: str, events: list[dict]) -> None:
        """Commit events into a producer's outbox, as its domain transactions would."""
        now = utcnow()
        with self.engines[producer].begin() as connection:
            connection.execute(insert(outbox), [
                {"event_id": e["event_id"], "event_type": e["event_type"], "payload": json.dumps(e),
                 "created_at": now, "attempts": 0} for e in events
            ])


# --------------------------------------------------------------------------- figures


def years_of(events: list[dict]) -> list[int]:
    years = {datetime.now(CENTRE_TIMEZONE).year}
    for event in events:
        years.add(datetime.fromisoformat(event["occurred_at"]).astimezone(CENTRE_TIMEZONE).year)
        for key in ("starts_at",):
            if key in event["data"]:
                years.add(datetime.fromisoformat(event["data"][key]).astimezone(CENTRE_TIMEZONE).year)
    return sorted(years)


def activity_ids(events: list[dict]) -> list[str]:
    return sorted({e["data"]["activity_id"] for e in events if e["event_type"] == "activity.scheduled"})


def service_documents(config: dict, years, activities, until: date) -> dict:
    """The reporting service's documents, read over RPC."""
    with ServiceRpcProxy("reporting", config, timeout=60) as rpc:
        return {
            "annual": {year: rpc.annual_kpis(year) for year in years},
            "rolling": {days: rpc.rolling_kpis(days, until.isoformat()) for days in (30, 365)},
            "activities": {a: rpc.activity_kpis(a) for a in activities},
        }


def undisturbed_documents(events: list[dict], reporting_url: str, config: dict, years, activities,
                          until: date) -> dict:
    """The documents of an undisturbed run: the same events fed once, in order, in-process,
    through reporting's own write path into a fresh (migrated, empty) database."""
    database = ServiceDatabase(reporting_url, producer="reporting")
    thresholds = reporting_domain.Thresholds.from_config(config)
    try:
        for start in range(0, len(events), 500):
            with database.unit_of_work(consumer=REPORTING_CONSUMER) as uow:
                fresh = uow.claim_many(events[start:start + 500])
                if fresh:
                    reporting_store.ingest(uow, fresh, thresholds)
        with database.read() as session:
            return {
                "annual": {year: reporting_store.annual(session, year) for year in years},
                "rolling": {days: reporting_store.rolling(session, days, until) for days in (30, 365)},
                "activities": {a: reporting_store.activity(session, a) for a in activities},
            }
    finally:
        database.dispose()


def differences(got: dict, expected: dict) -> list[str]:
    """Where two document sets differ (empty: identical), for a readable failure."""
    found = []
    for kind in expected:
        for key in expected[kind]:
            if got[kind].get(key) != expected[kind][key]:
                found.append(f"{kind}[{key}]: got {got[kind].get(key)!r}\n    expected {expected[kind][key]!r}")
    return found


def assert_as_undisturbed(got: dict, events: list[dict], reference_url: str, config: dict, years, activities,
                          until: date) -> None:
    """`got` (service_documents) is what an undisturbed run of the same events gives in the fresh
    reporting database at `reference_url`, and what the simple computation from the raw events gives."""
    expected = undisturbed_documents(events, reference_url, config, years, activities, until)
    assert not differences(got, expected), "\n".join(differences(got, expected))
    oracle = independent_documents(events, years, activities, until)
    assert not differences(got, oracle), "\n".join(differences(got, oracle))


def independent_documents(events: list[dict], years, activities, until: date) -> dict:
    """Every document computed the simple way from the raw events (tests/.../reporting/stream.py),
    with none of reporting's own code: annual, rolling windows and per activity."""
    return {
        "annual": {year: stream.expected_annual(events, year) for year in years},
        "rolling": {days: stream.expected_rolling(events, days, until) for days in (30, 365)},
        "activities": {a: stream.expected_activity(events, a) for a in activities},
    }


# --------------------------------------------------------------------------- generated streams


OTHER = ("overheid", "onderwijs_onderzoek", "andere_sector", "civiel_scw")  # no individuals


def generated_events(activities: int, seed: int, prefix: str, requests_too: bool = True,
                     evaluations: bool = True) -> list[dict]:
    """A realistic stream with explicit ids and times over 2025-2026: organisations (one updated),
    activities with registrations, a waitlist, cancellations and promotions, attendance (one
    corrected), completion or cancellation, evaluations, and demand-driven requests."""
    rng = random.Random(seed)
    s = stream.Stream()
    orgs = []
    for number in range(12):
        recognised = number % 3 != 2
        org_type = ORG_TYPES_RECOGNISED[number % 4] if recognised else OTHER[number % 4]
        org = (f"{prefix}o{number}", org_type, recognised)
        orgs.append(org)
        s.org("2025-01-02T09:00:00+00:00", org[0], org_type, recognised)
    s.org("2025-02-01T09:00:00+00:00", orgs[2][0], "vereniging", True, updated=True)
    orgs[2] = (orgs[2][0], "vereniging", True)
    no_org = (None, "individu", False)
    base = datetime(2025, 2, 1, 8, 0, tzinfo=timezone.utc)
    for number in range(activities):
        activity_id = f"{prefix}a{number}"
        starts = base + timedelta(days=rng.randrange(0, 640), hours=rng.randrange(0, 10))
        at = lambda days, starts=starts: (starts + timedelta(days=days)).isoformat()  # noqa: E731
        capacity = rng.randint(3, 6)
        s.activity(at(-40), activity_id, starts.isoformat(), fmt=("offline", "online", "blended")[number % 3],
                   dagdelen=rng.randint(1, 4), days=2, capacity=capacity, kind="vorming")
        people = rng.sample(range(80), rng.randint(3, 8))
        regs = []
        for index, person in enumerate(people):
            registration = (f"{activity_id}r{index}", f"{prefix}p{person}", rng.choice(orgs + [no_org]))
            status = "confirmed" if index < capacity else "waitlisted"
            s.register(at(-30 + index / 24), registration[0], activity_id, registration[1], registration[2], status)
            regs.append([*registration, status])
        if len(regs) > capacity:  # one cancels, the first on the waitlist gets the seat
            s.emit("registration.cancelled", at(-10), registration_id=regs[0][0], activity_id=activity_id,
                   cancelled_by="participant")
            regs[0][3] = "cancelled"
            s.emit("registration.confirmed", at(-10 + 1 / 24), registration_id=regs[capacity][0],
                   activity_id=activity_id)
            regs[capacity][3] = "confirmed"
        if number % 7 == 6:
            s.emit("activity.cancelled", at(-2), activity_id=activity_id, reason="trainer ziek")
            continue
        attending = [r for r in regs if r[3] == "confirmed"]
        for registration_id, person_id, org, _ in attending:
            s.attend(at(1), registration_id, activity_id, person_id, org, rng.randint(1, 2))
        if attending and number % 4 == 0:  # a corrected attendance replaces the first one
            registration_id, person_id, org, _ = attending[0]
            s.attend(at(2), registration_id, activity_id, person_id, org, 2)
        s.emit("activity.completed", at(2), activity_id=activity_id)
        if evaluations:
            for index, (registration_id, *_rest) in enumerate(attending):
                answered = index % 3 != 2
                s.evaluate(at(3), f"{activity_id}e{index}", registration_id, activity_id,
                           rng.randint(4, 10) if answered else None, rng.randint(3, 10) if answered else None)
    if requests_too:
        for number in range(activities // 2):
            request_id = f"{prefix}q{number}"
            org = rng.choice(orgs + [no_org])
            received = base + timedelta(days=rng.randrange(0, 600))
            at = lambda days, received=received: (received + timedelta(days=days)).isoformat()  # noqa: E731
            s.emit("request.received", at(0), request_id=request_id, organisation_id=org[0], org_type=org[1],
                   recognised=org[2], target_group="primary" if org[2] else "secondary", theme="bestuur",
                   goal=None)
            if number % 3 == 2:
                s.emit("request.declined", at(3), request_id=request_id, reason="long_term_coaching",
                       referred_to="Coachingspunt" if number % 2 else None)
                continue
            s.emit("request.accepted", at(2), request_id=request_id, assignee="staff-1")
            s.emit("request.delivered", at(40), request_id=request_id, dagdelen=rng.randint(1, 3),
                   participants=rng.randint(3, 12), participations=12)
    return s.events


def publish(amqp_uri: str, events: list[dict]) -> None:
    """Publish envelopes onto their producers' exchanges, as the producers' relays would."""
    with Connection(amqp_uri) as connection:
        producer = connection.Producer(serializer="json")
        for event in events:
            producer.publish(event, exchange=Exchange(f"{event['producer']}.events", type="topic", durable=True),
                             routing_key=event["event_type"], delivery_mode=2)


# --------------------------------------------------------------------------- metrics


def scrape(port: int) -> dict:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def consumed(samples: dict, consumer: str, outcome: str) -> float:
    """platform_events_consumed_total of `consumer` with `outcome`, over every event type."""
    return sum(value for (name, labels), value in samples.items()
               if name == "platform_events_consumed_total"
               and dict(labels).get("consumer") == consumer and dict(labels).get("outcome") == outcome)
