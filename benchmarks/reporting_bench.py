"""Reporting: ingest throughput, freshness and the cost of the annual read.

  python -m benchmarks.reporting_bench [ingest|freshness|annual|profile|all] [--backend sqlite|postgresql]
         [--workers 2] [--events 50000] [--rate 500] [--seconds 20] [--sizes 10000,100000,1000000] [--quick]

- ingest: a backlog of realistic events (activities with their registrations, waitlist
  promotions, cancellations, attendance and evaluations; organisations; requests with their
  decisions and deliveries) is published to RabbitMQ (a throw-away vhost) before the reporting
  service starts (`nameko run`, as many processes as `make run` starts, one database: durable,
  idempotent aggregates); events/s from the first event counted to the last. The figures are then
  compared with those computed independently from the raw events (tests' stream.py).
- freshness: the service running, events published at a steady rate; every 25th is a marker
  (`request.received` in a year nobody else uses) and the clock runs from its dispatch until
  `store.annual` (the read behind RPC annual_kpis, in this process on a read session)
  shows it; p50 / p99.
- annual: a history of N events is ingested in process through the real batch path
  (`claim_many` + `store.ingest`, batches of 2,000, no broker), then `store.annual(year)` is
  read (in process, read session: the RPC's own code without the AMQP round trip) and,
  side by side, the same document recomputed from the raw fact rows (`recompute_annual`).
- profile: cProfile of `ingest` on batches of 500 realistic events (in process, SQLite).
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import yaml  # noqa: E402
from kombu import Connection, Producer  # noqa: E402
from sqlalchemy import and_, func, select  # noqa: E402

from benchmarks.harness import percentile, sandbox, wait_until  # noqa: E402
from kernel import topology  # noqa: E402
from kernel.config import ROOT  # noqa: E402
from kernel.contract import producer_of  # noqa: E402
from kernel.db import ServiceDatabase  # noqa: E402
from kernel.migrate import upgrade  # noqa: E402
from kernel.outbox import event_exchange  # noqa: E402
from kernel.publisher import ConfirmingPublisher  # noqa: E402
from kernel.tables import processed_events  # noqa: E402
from services.reporting import domain, store  # noqa: E402
from services.reporting.models import activity_facts, delivery_facts, org_facts, request_facts  # noqa: E402
from services.reporting.rebuild import LIVE_CONSUMER as CONSUMER  # noqa: E402

WORKERS = 2  # reporting processes, as `make run` starts them (scripts/run_platform.py DEFAULT_REPLICAS)
YEARS = tuple(range(2017, 2027))
READ_YEAR = 2025
MARKER_YEAR = 2031
EVENTS_PER_ACTIVITY = 100  # about: scheduled, ~45 registrations, attendance, evaluations, completed
TARGETS = {"ingest": 5000, "freshness_p99_ms": 200, "annual_p99_ms": 5}

KINDS = ("vorming", "workshop", "studiedag", "studievoormiddag", "leertraject", "infosessie", "lerend_netwerk")
THEMES = ("vrijwilligers", "participatie", "samenwerking", "diversiteit", "digitalisering", "bestuur")
GOALS = ("SD1.OD4", "SD1.OD2", "SD2.OD1", "SD3.OD2", None)
ROLES = ("beroepskracht", "vrijwilliger", "coordinator", None, "bestuurder")
ORG_TYPES = ("vereniging", "beweging", "landelijke_vormingsinstelling", "volkshogeschool", "civiel_scw", "overheid",
             "onderwijs_onderzoek", "andere_sector")


# ------------------------------------------------------------------------------- the event stream


class Generator:
    """A realistic, roughly chronological stream of the events reporting consumes (valid v1
    envelopes, built without the producer-side validation so a million come quickly; the
    consumer validates every one on arrival)."""

    def __init__(self, total: int, seed: int = 42, years=YEARS):
        self.rng = random.Random(seed)
        self.total = total
        self.years = years
        self.orgs = [(f"org-{n}", ORG_TYPES[n % len(ORG_TYPES)], n % len(ORG_TYPES) < 4) for n in range(400)]
        self.persons = max(200, total // 15)

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def event(self, event_type: str, at: datetime, **data) -> dict:
        return {"event_id": self._id(), "event_type": event_type, "schema_version": 1,
                "occurred_at": at.isoformat(), "producer": producer_of(event_type), "data": data}

    def _org(self):
        if self.rng.random() < 0.15:
            return None, "individu", False
        return self.rng.choice(self.orgs)

    def _profile(self, org) -> dict:
        org_id, org_type, recognised = org
        return {"organisation_id": org_id, "org_type": org_type, "recognised": recognised,
                "target_group": "primary" if recognised else "secondary"}

    def directory(self) -> list[dict]:
        start = datetime(self.years[0] - 1, 12, 1, 9, tzinfo=timezone.utc)
        return [self.event("organisation.registered", start + timedelta(minutes=n), **self._profile(org))
                for n, org in enumerate(self.orgs)]

    def activity(self, n: int, starts: datetime) -> list[dict]:
        rng, out = self.rng, []
        activity_id = f"act-{n}"
        big = rng.random() < 0.02
        seats = 300 if big else rng.randint(12, 40)
        # theme, goal and role from the numbers, not the rng: the stream stays the one earlier rounds measured
        fields = {"activity_id": activity_id, "kind": "trefdag" if big else rng.choice(KINDS),
                  "theme": THEMES[n % len(THEMES)], "goal": GOALS[n % len(GOALS)],
                  "format": rng.choice(("offline", "offline", "online", "blended")),
                  "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=7)).isoformat(),
                  "days": 1, "dagdelen": rng.choice((1, 2, 2, 4)), "capacity": seats}
        scheduled = starts - timedelta(days=60)
        out.append(self.event("activity.scheduled", scheduled, **fields))
        if rng.random() < 0.1:
            out.append(self.event("activity.updated", scheduled + timedelta(days=3), **dict(fields, dagdelen=2)))
        cancelled = rng.random() < 0.04
        people = int(seats * rng.uniform(0.8, 1.3))
        for r in range(people):
            at = scheduled + timedelta(days=rng.uniform(5, 58))
            registration_id, person_id = f"{activity_id}-r{r}", f"person-{rng.randrange(self.persons)}"
            org = self._org()
            status = "confirmed" if r < seats else "waitlisted"
            out.append(self.event("registration.created", at, registration_id=registration_id, activity_id=activity_id,
                                  person_id=person_id, role=None, status=status, **self._profile(org)))
            if status == "waitlisted" and rng.random() < 0.4:
                out.append(self.event("registration.confirmed", at + timedelta(days=1), registration_id=registration_id,
                                      activity_id=activity_id))
                status = "confirmed"
            if rng.random() < 0.08:
                out.append(self.event("registration.cancelled", at + timedelta(hours=5),
                                      registration_id=registration_id, activity_id=activity_id,
                                      cancelled_by="participant"))
                continue
            if cancelled or status != "confirmed" or rng.random() < 0.12:
                continue
            out.append(self.event("attendance.recorded", starts + timedelta(hours=8), registration_id=registration_id,
                                  activity_id=activity_id, person_id=person_id,
                                  role=ROLES[(n + r) % len(ROLES)], days_attended=1,
                                  **self._profile(org)))
            evaluation_id = f"{registration_id}-e"
            out.append(self.event("evaluation.requested", starts + timedelta(hours=10), evaluation_id=evaluation_id,
                                  registration_id=registration_id, activity_id=activity_id))
            if rng.random() < 0.6:
                out.append(self.event("evaluation.submitted", starts + timedelta(days=rng.uniform(1, 14)),
                                      evaluation_id=evaluation_id, registration_id=registration_id,
                                      activity_id=activity_id, satisfaction=rng.choice((6, 7, 8, 8, 9, 10)),
                                      recommend=rng.choice((5, 7, 8, 9, 9, 10)), has_comment=False))
        if cancelled:
            out.append(self.event("activity.cancelled", starts - timedelta(days=2), activity_id=activity_id,
                                  reason="te weinig inschrijvingen"))
        else:
            out.append(self.event("activity.completed", starts + timedelta(hours=9), activity_id=activity_id))
        return out

    def request(self, n: int, received: datetime) -> list[dict]:
        rng = self.rng
        request_id = f"req-{n}"
        out = [self.event("request.received", received, request_id=request_id, theme="bestuur",
                          goal=GOALS[n % len(GOALS)],
                          **self._profile(self._org()))]
        if rng.random() < 0.7:
            out.append(self.event("request.accepted", received + timedelta(days=4), request_id=request_id,
                                  assignee="staff-1"))
            if rng.random() < 0.8:
                out.append(self.event("request.delivered", received + timedelta(days=rng.uniform(10, 90)),
                                      request_id=request_id, dagdelen=2, participants=12, participations=20))
        else:
            out.append(self.event("request.declined", received + timedelta(days=4), request_id=request_id,
                                  reason="long_term_coaching", referred_to=rng.choice((None, "elders"))))
        return out

    def chunks(self, chunk_events: int = 20000):
        """The stream in roughly chronological chunks (each sorted by occurred_at); about `total` events."""
        first = datetime(self.years[0], 1, 1, 8, tzinfo=timezone.utc)
        span = (datetime(self.years[-1] + 1, 1, 1, tzinfo=timezone.utc) - first).total_seconds()
        units = max(1, (self.total - len(self.orgs)) // EVENTS_PER_ACTIVITY)
        starts = sorted(first + timedelta(seconds=self.rng.uniform(0, span - 86400)) for _ in range(units))
        produced, buffer = 0, self.directory()
        for n, starts_at in enumerate(starts):
            if produced + len(buffer) >= self.total:
                break
            buffer += self.activity(n, starts_at.replace(hour=8, minute=0, second=0))
            if n % 3 == 0:
                buffer += self.request(n, starts_at)
            if len(buffer) >= chunk_events:
                buffer.sort(key=lambda e: e["occurred_at"])
                take = buffer[: self.total - produced]
                produced += len(take)
                yield take
                buffer = []
        if buffer and produced < self.total:
            buffer.sort(key=lambda e: e["occurred_at"])
            yield buffer[: self.total - produced]

    def events(self) -> list[dict]:
        return [event for chunk in self.chunks() for event in chunk]


# --------------------------------------------------------------------------------- helpers


def _write_config(config, directory, name: str) -> str:
    path = f"{directory}/{name}"
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle)
    return path


def _start_workers(config, directory, workers: int) -> list[subprocess.Popen]:
    """`workers` reporting processes, as `make run` starts them: each after the first with a
    lower batch-consumer priority (scripts/run_platform.py)."""
    processes = []
    for number in range(1, workers + 1):
        own = dict(config, EVENTS=dict(config["EVENTS"], BATCH_CONSUMER_PRIORITY=1 - number))
        path = _write_config(own, directory, f"bench-config-{number}.yml")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", path, "services.reporting.service"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
    return processes


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _publish(config, events: list[dict]) -> None:
    publishers = {}
    try:
        for start in range(0, len(events), 1000):
            by_producer: dict[str, list] = {}
            for event in events[start : start + 1000]:
                by_producer.setdefault(event["producer"], []).append((event["event_id"], event["event_type"], event))
            for producer, messages in by_producer.items():
                if producer not in publishers:
                    publishers[producer] = ConfirmingPublisher(config["AMQP_URI"], event_exchange(producer))
                publishers[producer].publish(messages)
    finally:
        for publisher in publishers.values():
            publisher.close()


def _processed(database: ServiceDatabase) -> int:
    with database.read() as session:  # a reader: the writer engine's BEGIN IMMEDIATE held up the service
        return session.scalar(select(func.count()).select_from(processed_events).where(
            processed_events.c.consumer == CONSUMER))


# ----------------------------------------------------------------------------------- ingest


def ingest(backend: str = "sqlite", events: int = 50000, check: bool = True, workers: int = WORKERS) -> dict:
    """Events/s the reporting service (`workers` processes) drains from a pre-published backlog."""
    from services.reporting.service import ReportingService

    stream = Generator(events).events()
    with sandbox(backend) as config, tempfile.TemporaryDirectory() as tmp:
        topology.declare(config, [ReportingService])  # the queue exists before the first event
        _publish(config, stream)
        database = ServiceDatabase(config["DATABASES"]["reporting"], producer="reporting")
        (queue,) = [spec.queue_name for spec in topology.consumers_of(ReportingService)]
        processes = _start_workers(config, tmp, workers)
        try:
            samples = []

            def count_reaches(at_least: int):
                def check():
                    count = _processed(database)
                    samples.append((time.perf_counter(), count))
                    return count >= at_least
                return check

            # Counting the processed events every 50 ms is itself a query over a growing table
            # (on PostgreSQL ~5 % of the machine the workers share): it runs only while the
            # first batch commits and once the queue holds no more than the workers' prefetch;
            # in between the queue's ready count (a passive declare) is watched.
            wait_until(count_reaches(1), timeout=600, interval=0.05)
            with Connection(config["AMQP_URI"]) as connection:
                channel = connection.channel()
                wait_until(lambda: channel.queue_declare(queue=queue, passive=True).message_count == 0,
                           timeout=1200, interval=0.05)
            wait_until(count_reaches(len(stream)), timeout=600, interval=0.05)
        finally:
            for process in processes:
                _stop(process)
        first = next(i for i, (_, count) in enumerate(samples) if count > 0)
        began, counted = samples[max(0, first - 1)]
        seconds = samples[-1][0] - began
        result = {"backend": backend, "workers": workers, "events": len(stream), "seconds": seconds,
                  "per_second": (len(stream) - counted) / seconds}
        if check:
            result["figures_match"] = _figures_match(database, stream)
        database.dispose()
    return result


def _figures_match(database: ServiceDatabase, events: list[dict]) -> bool:
    sys.path.insert(0, str(ROOT))
    from tests.integration.reporting import stream as independent

    with database.read() as session:
        return all(store.annual(session, year) == independent.expected_annual(events, year) for year in YEARS)


# -------------------------------------------------------------------------------- freshness


def freshness(backend: str = "sqlite", rate: float = 500, seconds: float = 20, every: int = 25,
              workers: int = WORKERS) -> dict:
    """p50 / p99 from a marker event's dispatch until store.annual shows it, at `rate` events/s."""
    from services.reporting.service import ReportingService

    total = int(rate * seconds)
    background = Generator(total + 1000, seed=7).events()[:total]
    generator = Generator(10, seed=8)
    markers_at = datetime(MARKER_YEAR, 3, 1, 9, tzinfo=timezone.utc)
    with sandbox(backend) as config, tempfile.TemporaryDirectory() as tmp:
        topology.declare(config, [ReportingService])
        database = ServiceDatabase(config["DATABASES"]["reporting"], producer="reporting")
        processes = _start_workers(config, tmp, workers)
        try:
            warm = generator.event("request.received", markers_at - timedelta(days=400), request_id="warm-up",
                                   organisation_id=None, org_type="individu", recognised=False,
                                   target_group="secondary", theme="bestuur", goal=None)
            _publish(config, [warm])
            wait_until(lambda: _processed(database) >= 1, timeout=60, interval=0.05)
            dispatched: list[float] = []
            readable: dict[int, float] = {}
            finished = []

            def poll():
                while not finished or len(readable) < len(dispatched):
                    with database.read() as session:
                        seen = store.annual(session, MARKER_YEAR)["demand_driven"]["requests_received"]
                    now = time.perf_counter()
                    for k in range(len(readable), min(seen, len(dispatched))):
                        readable[k] = now
                    if finished and time.perf_counter() - finished[0] > 30:
                        break
                    # every 10 ms: a marker is seen at most that late, and a 2 ms poll (three round
                    # trips each on PostgreSQL) took the CPU of the two cores from what it measured
                    eventlet.sleep(0.01)

            # plain persistent publishes (no waiting for confirms: on a busy machine they held the
            # publisher below the rate); the clock of a marker starts when it is handed to the broker
            connection = Connection(config["AMQP_URI"])
            producer = Producer(connection.channel())
            exchanges = {p: event_exchange(p) for p in ("registration", "evaluation", "requests")}

            def publish(messages):
                for _, event_type, event in messages:
                    producer.publish(event, exchange=exchanges[event["producer"]], routing_key=event_type,
                                     serializer="json", delivery_mode=2)

            poller = eventlet.spawn(poll)
            began = time.perf_counter()
            tick = 0.02
            per_tick = max(1, int(rate * tick))
            for start in range(0, total, per_tick):
                due = began + (start / rate)
                wait = due - time.perf_counter()
                if wait > 0:
                    eventlet.sleep(wait)
                groups: dict[str, list] = {}  # one confirmed publish per producer and tick
                markers = 0
                for n, event in enumerate(background[start : start + per_tick], start):
                    if n % every == 0:
                        event = generator.event("request.received", markers_at + timedelta(seconds=n),
                                                request_id=f"marker-{n}", organisation_id=None, org_type="individu",
                                                recognised=False, target_group="secondary", theme="bestuur", goal=None)
                        markers += 1
                    groups.setdefault(event["producer"], []).append((event["event_id"], event["event_type"], event))
                if markers:  # the markers go first, so their clock starts at their own dispatch
                    dispatched.extend([time.perf_counter()] * markers)
                    publish(groups.pop("requests"))
                for messages in groups.values():
                    publish(messages)
            sent_seconds = time.perf_counter() - began
            finished.append(time.perf_counter())
            poller.wait()
            connection.release()
        finally:
            for process in processes:
                _stop(process)
        database.dispose()
    latencies = [1000 * (readable[k] - dispatched[k]) for k in range(len(dispatched)) if k in readable]
    return {"backend": backend, "workers": workers, "rate": rate, "achieved_rate": total / sent_seconds,
            "markers": len(dispatched),
            "seen": len(latencies), "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies)}


# ------------------------------------------------------------------------------ annual read


def build_history(url: str, events: int, batch: int = 2000) -> dict:
    """Ingest `events` in process through claim_many + store.ingest (no broker)."""
    upgrade("reporting", url)
    database = ServiceDatabase(url, producer="reporting")
    thresholds = domain.Thresholds()
    count, began = 0, time.perf_counter()
    for chunk in Generator(events).chunks():
        for start in range(0, len(chunk), batch):
            with database.unit_of_work(consumer=CONSUMER) as uow:
                fresh = uow.claim_many(chunk[start : start + batch])
                store.ingest(uow, fresh, thresholds)
            count += len(chunk[start : start + batch])
    seconds = time.perf_counter() - began
    database.dispose()
    return {"events": count, "seconds": seconds, "per_second": count / seconds}


def recompute_annual(session, year: int) -> dict:
    """The annual document recomputed from the raw fact rows (what a read would cost without
    the aggregates): the year's activities and requests with all their facts, the directory."""
    low = datetime(year - 1, 12, 31, tzinfo=timezone.utc)
    high = datetime(year + 1, 1, 2, tzinfo=timezone.utc)
    units = [f"activity:{a}" for a in session.execute(select(activity_facts.c.activity_id).where(
        and_(activity_facts.c.starts_at >= low, activity_facts.c.starts_at < high))).scalars()]
    requests = set(session.execute(select(request_facts.c.request_id).where(
        and_(request_facts.c.received_at >= low, request_facts.c.received_at < high))).scalars())
    requests.update(session.execute(select(delivery_facts.c.request_id).where(
        and_(delivery_facts.c.delivered_at >= low, delivery_facts.c.delivered_at < high))).scalars())
    units += [f"request:{r}" for r in sorted(requests)]
    units += [f"org:{o}" for o in session.execute(select(org_facts.c.organisation_id)).scalars()]
    facts = store.load_facts(session, units)
    scope = f"year:{year}"
    counters: Counter = Counter()
    directory: Counter = Counter()
    members: dict[str, set] = {}
    for unit in units:
        contribution = domain.contribution_of(unit, facts)
        for (where, metric), value in contribution.counters.items():
            if where == scope:
                counters[metric] += value
            elif where == domain.DIRECTORY:
                directory[metric] += value
        for where, set_name, member in contribution.members:
            if where == scope:
                members.setdefault(set_name, set()).add(member)
    for set_name, found in members.items():
        counters[domain.distinct_metric(set_name)] = len(found)
    return domain.annual_document(year, dict(counters), dict(directory))


def _timed(function, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        out.append(1000 * (time.perf_counter() - began))
    return out


def annual_read(sizes=(10_000, 100_000, 1_000_000), backend: str = "sqlite", reads: int = 2000) -> list[dict]:
    rows = []
    for size in sizes:
        with sandbox(backend) as config:
            url = config["DATABASES"]["reporting"]
            built = build_history(url, size)
            database = ServiceDatabase(url, producer="reporting")
            with database.read() as session:
                document = store.annual(session, READ_YEAR)
                recomputed = recompute_annual(session, READ_YEAR)
            read_ms = []
            for _ in range(reads):  # a fresh read session each time, as the RPC opens one
                began = time.perf_counter()
                with database.read() as session:
                    store.annual(session, READ_YEAR)
                read_ms.append(1000 * (time.perf_counter() - began))
            with database.read() as session:
                raw_ms = _timed(lambda s=session: recompute_annual(s, READ_YEAR), 5 if size >= 1_000_000 else 20)
            database.dispose()
        rows.append({"size": size, "backend": backend, "build_per_second": built["per_second"],
                     "build_seconds": built["seconds"], "read_p50_ms": percentile(read_ms, 50),
                     "read_p99_ms": percentile(read_ms, 99), "raw_p50_ms": percentile(raw_ms, 50),
                     "raw_p99_ms": percentile(raw_ms, 99), "same_document": document == recomputed,
                     "participants": document["open_offer"]["participants"]})
    return rows


# ---------------------------------------------------------------------------------- profile


def profile(events: int = 20000, batch: int = 500, top: int = 35) -> str:
    stream = Generator(events).events()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/reporting.db"
        upgrade("reporting", url)
        database = ServiceDatabase(url, producer="reporting")
        from kernel.envelope import validate_received

        def run():
            for start in range(0, len(stream), batch):
                events_ = stream[start : start + batch]
                for event in events_:
                    validate_received(event)
                with database.unit_of_work(consumer=CONSUMER) as uow:
                    fresh = uow.claim_many(events_)
                    store.ingest(uow, fresh, domain.Thresholds())

        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.runcall(run)
        seconds = time.perf_counter() - began
        database.dispose()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return f"{len(stream)} events in batches of {batch}: {seconds:.2f} s under cProfile " \
           f"({len(stream) / seconds:,.0f}/s)\n" + out.getvalue()


# ------------------------------------------------------------------------------------ table


def ingest_and_freshness_rows(backends=("sqlite", "postgresql"), quick: bool = False) -> list[tuple[str, str, str]]:
    """The ingest and freshness rows, per backend (quick: a smaller backlog, a shorter run)."""
    out = []
    labels = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    for backend in backends:
        result = ingest(backend, 20000 if quick else 50000)
        out.append((f"reporting ingest, {result['events']:,} events backlog, {result['workers']} workers "
                    f"({labels[backend]})",
                    f"{result['per_second']:,.0f} events/s" + ("" if result["figures_match"] else " FIGURES DIFFER"),
                    f">= {TARGETS['ingest']:,} events/s"))
    for backend in backends:
        result = freshness(backend, seconds=10 if quick else 20)
        out.append((f"reporting freshness at {result['rate']:.0f} events/s, {result['workers']} workers "
                    f"({labels[backend]})",
                    f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms ({result['seen']} markers)",
                    f"p99 <= {TARGETS['freshness_p99_ms']} ms"))
    return out


def rows(quick: bool = False) -> list[tuple[str, str, str]]:
    """The `make bench` rows (quick: smaller backlog and history)."""
    out = ingest_and_freshness_rows(quick=quick)
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    for result in annual_read(sizes):
        out.append((f"annual_kpis read, {result['size']:,} events history (SQLite, in process)",
                    f"p50 {result['read_p50_ms']:.2f} ms, p99 {result['read_p99_ms']:.2f} ms",
                    f"p99 <= {TARGETS['annual_p99_ms']} ms"))
        out.append(("  same document recomputed from the fact rows",
                    f"p50 {result['raw_p50_ms']:.0f} ms, p99 {result['raw_p99_ms']:.0f} ms"
                    + ("" if result["same_document"] else " DIFFERS"), "-"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="Reporting benchmarks: ingest throughput, freshness, the annual read.")
    parser.add_argument("what", nargs="?", default="all", choices=("ingest", "freshness", "annual", "profile", "all"))
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--events", type=int, default=50000)
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help="reporting service processes (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--quick", action="store_true", help="all: 20,000 events backlog, history up to 100,000")
    args = parser.parse_args()
    if args.what == "ingest":
        print(ingest(args.backend, args.events, workers=args.workers))
    elif args.what == "freshness":
        print(freshness(args.backend, args.rate, args.seconds, workers=args.workers))
    elif args.what == "annual":
        for row in annual_read(tuple(int(s) for s in args.sizes.split(",")), args.backend):
            print(row)
    elif args.what == "profile":
        print(profile(args.events))
    else:
        for name, figure, target in rows(args.quick):
            print(f"{name:<62} {figure:<44} {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
