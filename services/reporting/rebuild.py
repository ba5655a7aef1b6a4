"""Rebuild reporting's aggregates by replaying the producers' event logs, and compare.

    python -m services.reporting.rebuild [--config FILE] [--into URL] [--batch-size N] [--apply] [--keep]
    python -m ops rebuild-reporting [same options]

The producers' event logs are their outboxes (sent rows are kept): every event of a type
reporting consumes (domain.CONSUMED), from each producer's own database (config DATABASES),
read in batches up to the newest row when the rebuild starts. The events go through the very
write path of the service (`uow.claim_many` with a consumer name of its own, then
`store.ingest`) into a *separate* reporting database: `--into URL` (migrated here, and it
must be empty), by default a temporary SQLite file. The live figures are not touched while
rebuilding.

Then the rebuilt figures are compared with the live ones: the annual document of every year
either side has, the document of every activity, and every counter and set member of every
scope (so months, days and the rolling windows too). Differences are printed.

`--apply` replaces the live aggregates (facts, unit contributions, counters and set members)
with the rebuilt ones when they differ, in one transaction on the live database that holds
its write lock (SQLite) or an exclusive lock on those tables (PostgreSQL), so no batch of the
live service runs half before and half after. Within that transaction, events the live
service counted after the rebuild started reading are first replayed into the rebuilt set
(fetched from the logs by id), so nothing it counted is lost; events it has not counted yet
are counted on top when they arrive (merging an event twice changes nothing). The live
service's record of processed events and the threshold states are kept.

Progress goes to stderr (one updating line on a terminal, a line every few seconds
otherwise). Exit codes: 0 the figures are equal (or were replaced with --apply and now are),
1 they differ, 2 error (bad options, a database not reachable, a target that is not empty).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from marshmallow import ValidationError
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from kernel.config import database_url, load_config
from kernel.db import IN_CHUNK, ServiceDatabase, in_chunks, make_engine
from kernel.envelope import validate_received
from kernel.migrate import upgrade
from kernel.tables import outbox, processed_events
from services.reporting import domain, store
from services.reporting.models import (
    FACT_TABLES,
    activity_facts,
    kpi_counters,
    kpi_members,
    unit_contributions,
    year_definitions,
)

CONSUMER = "reporting.rebuild"  # the rebuild's claims, apart from the live consumer's
LIVE_CONSUMER = "reporting.on_events"
EQUAL, DIFFERENT, ERROR = 0, 1, 2
DEFAULT_BATCH = 500
# Events the live service counted from this long before the rebuild started are checked
# against the rebuilt set when applying (room for clocks that differ between machines).
CLOCK_MARGIN = timedelta(minutes=10)
# What --apply replaces, in the order the live write path touches them (PostgreSQL lock order).
AGGREGATE_TABLES = (
    activity_facts, *[t for t in FACT_TABLES if t is not activity_facts], unit_contributions, kpi_members,
    kpi_counters,
)


class RebuildError(Exception):
    """A reason to stop with exit code 2 (printed as is)."""


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# ------------------------------------------------------------------------------------- progress


class Progress:
    """events done / total, rate and ETA on stderr: one line rewritten with \\r on a terminal,
    a plain line every `every` seconds (and at the start and the end) otherwise."""

    def __init__(self, total: int, stream=None, label: str = "rebuilding", every: float = 2.0, clock=time.monotonic,
                 enabled: bool = True):
        self.total, self.done = total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.label, self.every, self.clock, self.enabled = label, every, clock, enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = clock()
        self.last_shown: float | None = None

    def advance(self, count: int) -> None:
        self.done += count
        now = self.clock()
        if self.tty or self.last_shown is None or now - self.last_shown >= self.every or self.done >= self.total:
            self._show(now)

    def finish(self) -> None:
        if self.last_shown is None or self.done < self.total:
            self._show(self.clock())
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        if self.done >= self.total:
            tail = f"done in {_duration(elapsed)}"
        elif rate > 0:
            tail = f"ETA {_duration((self.total - self.done) / rate)}"
        else:
            tail = "ETA -"
        width = 24
        filled = min(width, int(width * share))
        bar = "#" * filled + "." * (width - filled)
        return (f"{self.label} [{bar}] {self.done:,}/{self.total:,} events {share:6.1%} "
                f"{rate:,.0f} events/s {tail}")

    def _show(self, now: float) -> None:
        self.last_shown = now
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + self.line(now).ljust(100))
        else:
            self.stream.write(self.line(now) + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# ------------------------------------------------------------------------------------ event logs


def consumed_by_producer() -> dict[str, tuple[str, ...]]:
    """The producers reporting listens to and the event types it takes from each."""
    types: dict[str, list[str]] = defaultdict(list)
    for service, event_type in domain.CONSUMED:
        types[service].append(event_type)
    return {service: tuple(event_types) for service, event_types in types.items()}


class EventLog:
    """One producer's outbox, the event types reporting consumes, read in batches by id."""

    def __init__(self, service: str, url: str, event_types: tuple[str, ...]):
        self.service, self.url, self.event_types = service, url, event_types
        self.engine = make_engine(url, writer=False)
        self.upto = 0  # the newest row when the rebuild started reading

    def mark(self) -> int:
        """Fix the end of this replay at the newest row now; returns how many events it holds."""
        with self.engine.connect() as connection:
            self.upto = connection.scalar(select(func.coalesce(func.max(outbox.c.id), 0))) or 0
            return connection.scalar(select(func.count()).select_from(outbox).where(
                outbox.c.event_type.in_(self.event_types), outbox.c.id <= self.upto)) or 0

    def batches(self, size: int) -> Iterator[list[str]]:
        """The payloads (JSON text) in id order, `size` at a time; each batch its own short read."""
        after = 0
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(outbox.c.id, outbox.c.payload)
                    .where(outbox.c.event_type.in_(self.event_types), outbox.c.id > after, outbox.c.id <= self.upto)
                    .order_by(outbox.c.id)
                    .limit(size)
                ).all()
            if not rows:
                return
            after = rows[-1].id
            yield [row.payload for row in rows]

    def by_event_id(self, event_ids: list[str]) -> dict[str, str]:
        found = {}
        with self.engine.connect() as connection:
            for chunk in in_chunks(event_ids):
                for row in connection.execute(select(outbox.c.event_id, outbox.c.payload).where(
                        outbox.c.event_id.in_(chunk), outbox.c.event_type.in_(self.event_types))):
                    found[row.event_id] = row.payload
        return found

    def dispose(self) -> None:
        self.engine.dispose()


# --------------------------------------------------------------------------------------- replay


@dataclass
class Replayed:
    events: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (event id or "?", why)


def _parse(payload: str, replayed: Replayed) -> dict | None:
    """An event as the live consumer would take it, or None (skipped: the live consumer
    dead-letters an invalid envelope too)."""
    event = None
    try:
        event = json.loads(payload)
        return validate_received(event)
    except (ValueError, ValidationError) as exc:
        event_id = event.get("event_id", "?") if isinstance(event, dict) else "?"
        replayed.skipped.append((str(event_id), f"invalid: {str(exc)[:160]}"))
        return None


def ingest_batch(database: ServiceDatabase, events: list[dict], thresholds: domain.Thresholds,
                 replayed: Replayed) -> None:
    """The service's write path for one batch; a batch that fails is retried one event at a
    time, and an event that fails alone is skipped (the live service dead-letters it). A
    database that fails (not reachable, full) stops the rebuild."""
    try:
        with database.unit_of_work(consumer=CONSUMER) as uow:
            store.ingest(uow, uow.claim_many(events), thresholds)
        return
    except DBAPIError as exc:
        if not isinstance(exc, IntegrityError):
            raise
    except Exception:  # noqa: BLE001 - find the culprit below
        pass
    for event in events:
        try:
            with database.unit_of_work(consumer=CONSUMER) as uow:
                store.ingest(uow, uow.claim_many([event]), thresholds)
        except DBAPIError as exc:
            if not isinstance(exc, IntegrityError):
                raise
            replayed.skipped.append((event.get("event_id", "?"), f"{type(exc).__name__}: {str(exc)[:160]}"))
        except Exception as exc:  # noqa: BLE001
            replayed.skipped.append((event.get("event_id", "?"), f"{type(exc).__name__}: {str(exc)[:160]}"))


def replay(logs: list[EventLog], target: ServiceDatabase, thresholds: domain.Thresholds, batch_size: int,
           progress: Progress) -> Replayed:
    replayed = Replayed()
    for log in logs:
        for payloads in log.batches(batch_size):
            events = [event for payload in payloads if (event := _parse(payload, replayed)) is not None]
            if events:
                ingest_batch(target, events, thresholds, replayed)
            replayed.events += len(payloads)
            progress.advance(len(payloads))
    progress.finish()
    return replayed


# -------------------------------------------------------------------------------------- compare


@dataclass
class Comparison:
    years: list[int] = field(default_factory=list)
    activities: int = 0
    counters: int = 0
    members: int = 0
    differences: list[str] = field(default_factory=list)  # the first `keep` of them
    total: int = 0
    counter_differences: int = 0
    member_differences: int = 0
    keep: int = 1000

    def differ(self, lines: list[str]) -> None:
        self.total += len(lines)
        self.differences += lines[: max(self.keep - len(self.differences), 0)]

    @property
    def equal(self) -> bool:
        return self.total == 0


@contextmanager
def snapshot(database: ServiceDatabase):
    """A read session on one consistent snapshot (PostgreSQL: repeatable read)."""
    with database.read() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def _flat(document, prefix: str = "") -> dict:
    if not isinstance(document, dict):
        return {prefix: document}
    out = {}
    for key, value in document.items():
        out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def document_differences(what: str, live: dict | None, rebuilt: dict | None) -> list[str]:
    flat_live, flat_rebuilt = _flat(live or {}), _flat(rebuilt or {})
    return [
        f"{what}: {path}: live {flat_live.get(path, '-')}, rebuilt {flat_rebuilt.get(path, '-')}"
        for path in sorted(flat_live.keys() | flat_rebuilt.keys())
        if flat_live.get(path) != flat_rebuilt.get(path)
    ]


def _years(session) -> set[int]:
    scopes = session.execute(select(kpi_counters.c.scope).where(
        kpi_counters.c.scope.like("year:%"), kpi_counters.c.value != 0).distinct()).scalars()
    return {int(scope.split(":", 1)[1]) for scope in scopes}


def _activities(session) -> set[str]:
    ids = set(session.execute(select(activity_facts.c.activity_id)).scalars())
    ids.update(scope.split(":", 1)[1] for scope in session.execute(
        select(kpi_counters.c.scope).where(kpi_counters.c.scope.like("activity:%")).distinct()).scalars())
    return ids


def _scopes(session) -> set[str]:
    return set(session.execute(select(kpi_counters.c.scope).distinct()).scalars()) | set(
        session.execute(select(kpi_members.c.scope).distinct()).scalars())


def _counter_rows(session, scopes: list[str]) -> dict:
    return {(row.scope, row.metric): row.value for row in session.execute(
        select(kpi_counters).where(kpi_counters.c.scope.in_(scopes), kpi_counters.c.value != 0))}


def _member_rows(session, scopes: list[str]) -> dict:
    return {(row.scope, row.set_name, row.member): row.refcount for row in session.execute(
        select(kpi_members).where(kpi_members.c.scope.in_(scopes), kpi_members.c.refcount > 0))}


def compare(live_session, rebuilt_session, keep: int = 1000) -> Comparison:
    """The documents people read, then every counter and set member (months, days, rolling windows);
    every difference is counted, the first `keep` described."""
    result = Comparison(keep=keep)
    result.years = sorted(_years(live_session) | _years(rebuilt_session))
    for year in result.years:
        result.differ(document_differences(
            f"annual {year}", store.annual(live_session, year), store.annual(rebuilt_session, year)))
    activities = sorted(_activities(live_session) | _activities(rebuilt_session))
    result.activities = len(activities)
    for activity_id in activities:
        result.differ(document_differences(
            f"activity {activity_id}", store.activity(live_session, activity_id),
            store.activity(rebuilt_session, activity_id)))
    scopes = sorted(_scopes(live_session) | _scopes(rebuilt_session))
    for start in range(0, len(scopes), 100):
        chunk = scopes[start : start + 100]
        live, rebuilt = _counter_rows(live_session, chunk), _counter_rows(rebuilt_session, chunk)
        result.counters += len(live.keys() | rebuilt.keys())
        for key in sorted(live.keys() | rebuilt.keys()):
            if live.get(key, 0) != rebuilt.get(key, 0):
                result.counter_differences += 1
                result.differ(
                    [f"counter {key[0]} {key[1]}: live {live.get(key, 0)}, rebuilt {rebuilt.get(key, 0)}"])
        live, rebuilt = _member_rows(live_session, chunk), _member_rows(rebuilt_session, chunk)
        result.members += len(live.keys() | rebuilt.keys())
        for key in sorted(live.keys() ^ rebuilt.keys()):
            result.member_differences += 1
            where = "live only" if key in live else "rebuilt only"
            result.differ([f"member {key[0]} {key[1]} {key[2]}: {where}"])
    return result


# ---------------------------------------------------------------------------------------- apply


def _claimed(session, consumer: str, event_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in in_chunks(event_ids):
        found.update(session.execute(select(processed_events.c.event_id).where(
            processed_events.c.consumer == consumer,
            processed_events.c.event_id.in_(chunk))).scalars())
    return found


def live_only_events(live_session, rebuilt: ServiceDatabase, since: datetime) -> list[str]:
    """Events the live service counted since `since` that the rebuild has not replayed."""
    recent = list(live_session.execute(select(processed_events.c.event_id).where(
        processed_events.c.consumer == LIVE_CONSUMER, processed_events.c.processed_at >= since)).scalars())
    with rebuilt.read() as session:
        replayed = _claimed(session, CONSUMER, recent)
    return sorted(set(recent) - replayed)


def not_counted_live(live_session, rebuilt: ServiceDatabase) -> int:
    """How many replayed events the live service has not counted (yet): in flight or dead-lettered."""
    missing = 0
    with rebuilt.read() as session:
        after = ""
        while True:
            ids = list(session.execute(select(processed_events.c.event_id).where(
                processed_events.c.consumer == CONSUMER, processed_events.c.event_id > after)
                .order_by(processed_events.c.event_id).limit(IN_CHUNK)).scalars())
            if not ids:
                return missing
            missing += len(ids) - len(_claimed(live_session, LIVE_CONSUMER, ids))
            after = ids[-1]


def _lock_live(session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = '60s'"))
        names = ", ".join(table.name for table in AGGREGATE_TABLES)
        session.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
    # SQLite: the unit of work began with BEGIN IMMEDIATE, the database's one write lock


def apply(live: ServiceDatabase, rebuilt: ServiceDatabase, logs: list[EventLog], since: datetime,
          thresholds: domain.Thresholds, out) -> int:
    """Replace the live aggregates with the rebuilt ones in one transaction; returns the rows written."""
    written = 0
    with live.unit_of_work() as uow:
        session = uow.session
        _lock_live(session)
        # what the live service counted meanwhile: into the rebuilt set first
        wanted = live_only_events(session, rebuilt, since)
        if wanted:
            payloads: dict[str, str] = {}
            for log in logs:
                payloads.update(log.by_event_id(wanted))
            replayed = Replayed()
            events = [event for event_id in wanted if event_id in payloads
                      if (event := _parse(payloads[event_id], replayed)) is not None]
            for start in range(0, len(events), DEFAULT_BATCH):
                ingest_batch(rebuilt, events[start : start + DEFAULT_BATCH], thresholds, replayed)
            print(f"caught up {len(events)} event(s) the live service counted while rebuilding", file=out)
            lost = len(wanted) - len(payloads)
            if lost:
                print(f"warning: {lost} event(s) the live service counted are in no producer's log: "
                      "the replaced figures leave them out", file=out)
        for table in reversed(AGGREGATE_TABLES):
            session.execute(delete(table))
        with rebuilt.read() as source:
            for table in AGGREGATE_TABLES:
                rows = source.execute(select(table).execution_options(yield_per=2000))
                for part in rows.partitions(2000):
                    batch = [dict(row._mapping) for row in part]
                    session.execute(insert(table).returning(*table.primary_key.columns), batch).all()
                    written += len(batch)
    return written


# ------------------------------------------------------------------------------------------ main


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--into", metavar="URL",
                        help="an empty database to rebuild into (default: a temporary SQLite file)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help=f"events per batch ({DEFAULT_BATCH})")
    parser.add_argument("--apply", action="store_true",
                        help="replace the live aggregates with the rebuilt ones when they differ")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file (its path is printed)")
    parser.add_argument("--max-differences", type=int, default=50, help="differences printed at most (50)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m services.reporting.rebuild", description=__doc__.split("\n\n")[0])
    root.add_argument("--config", help="config file (default: config.yml or $PLATFORM_CONFIG)")
    return add_arguments(root)


def _print_comparison(comparison: Comparison, limit: int, out) -> None:
    years = f"{comparison.years[0]}-{comparison.years[-1]}" if comparison.years else "none"
    print(f"compared {len(comparison.years)} year(s) ({years}), {comparison.activities} activities, "
          f"{comparison.counters} counters, {comparison.members} set members", file=out)
    if comparison.equal:
        print("equal: the rebuilt figures are the live figures", file=out)
        return
    print(f"DIFFERENT: {comparison.total} difference(s) ({comparison.counter_differences} counters, "
          f"{comparison.member_differences} set members)", file=out)
    for line in comparison.differences[:limit]:
        print(f"  {line}", file=out)
    if comparison.total > limit:
        print(f"  ... and {comparison.total - limit} more", file=out)


def run(config: dict, args, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        return _run(config, args, out, err)
    except RebuildError as exc:
        print(f"error: {exc}", file=err)
        return ERROR
    except Exception as exc:  # noqa: BLE001 - a database not reachable, a bad URL, ...
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=err)
        return ERROR


def _same_database(first: str, second: str) -> bool:
    a, b = make_url(first), make_url(second)
    if a.get_backend_name() == b.get_backend_name() == "sqlite" and a.database and b.database:
        return Path(a.database).resolve() == Path(b.database).resolve()
    return (a.get_backend_name(), a.host, a.port, a.database) == (b.get_backend_name(), b.host, b.port, b.database)


def _prepare_target(url: str, live_url: str) -> ServiceDatabase:
    if _same_database(url, live_url):
        raise RebuildError("--into is the live reporting database: rebuild into another, empty one")
    upgrade("reporting", url)
    target = ServiceDatabase(url, producer="reporting")
    with target.read() as session:
        used = session.scalar(select(func.count()).select_from(processed_events)) or session.scalar(
            select(func.count()).select_from(kpi_counters))
    if used:
        target.dispose()
        raise RebuildError(f"{shown(url)} is not empty: rebuild into an empty database")
    return target


def _copy_definitions(live_url: str, target: ServiceDatabase) -> None:
    """The definitions each year's live figures were counted with: the rebuild counts with them
    too (a year's definition is fixed with its figures, whatever the configuration says now)."""
    live = ServiceDatabase(live_url, producer="reporting")
    try:
        with live.read() as session:
            rows = [dict(row._mapping) for row in session.execute(select(year_definitions))]
    finally:
        live.dispose()
    if rows:
        with target.unit_of_work() as uow:
            uow.session.execute(year_definitions.insert(), rows)


def _run(config: dict, args, out, err) -> int:
    if args.batch_size < 1:
        raise RebuildError("--batch-size must be at least 1")
    thresholds = domain.Thresholds.from_config(config)
    live_url = database_url(config, "reporting")
    scratch_dir = None
    into = args.into
    if not into:
        scratch_dir = Path(tempfile.mkdtemp(prefix="reporting-rebuild-"))
        into = f"sqlite:///{scratch_dir / 'reporting.db'}"
    logs: list[EventLog] = []
    target = live = None
    try:
        logs = [EventLog(service, database_url(config, service), types)
                for service, types in consumed_by_producer().items()]
        started = datetime.now(timezone.utc)
        counts = {log.service: log.mark() for log in logs}
        total = sum(counts.values())
        print("event logs: " + ", ".join(f"{service} {count}" for service, count in counts.items())
              + f" ({total} events of the {len(domain.CONSUMED)} types reporting consumes)", file=out)
        target = _prepare_target(into, live_url)
        _copy_definitions(live_url, target)
        print(f"rebuilding into {shown(into)}", file=out)
        out.flush()
        began = time.monotonic()
        progress = Progress(total, stream=err, enabled=not args.quiet)
        replayed = replay(logs, target, thresholds, args.batch_size, progress)
        seconds = time.monotonic() - began
        print(f"replayed {replayed.events} events in {seconds:.1f} s "
              f"({replayed.events / max(seconds, 1e-9):,.0f} events/s); {len(replayed.skipped)} skipped", file=out)
        for event_id, why in replayed.skipped[: args.max_differences]:
            print(f"  skipped {event_id}: {why}", file=out)
        live = ServiceDatabase(live_url, producer="reporting")
        print(f"comparing with the live figures ({shown(live_url)})", file=out)
        with snapshot(live) as live_session, snapshot(target) as rebuilt_session:
            comparison = compare(live_session, rebuilt_session, keep=args.max_differences)
            _print_comparison(comparison, args.max_differences, out)
            if not comparison.equal:
                behind = not_counted_live(live_session, target)
                ahead = len(live_only_events(live_session, target, started - CLOCK_MARGIN))
                if behind:
                    print(f"note: {behind} event(s) in the logs are not counted by the live service (yet): "
                          "in its queue, being retried or dead-lettered", file=out)
                if ahead:
                    print(f"note: the live service counted {ahead} event(s) after the rebuild started reading "
                          "or that are in no log", file=out)
        if comparison.equal:
            return EQUAL
        if not args.apply:
            return DIFFERENT
        written = apply(live, target, logs, started - CLOCK_MARGIN, thresholds, out)
        print(f"applied: the live aggregates were replaced with the rebuilt ones ({written} rows)", file=out)
        with snapshot(live) as live_session, snapshot(target) as rebuilt_session:
            after = compare(live_session, rebuilt_session, keep=args.max_differences)
        _print_comparison(after, args.max_differences, out)
        return EQUAL if after.equal else DIFFERENT
    finally:
        for log in logs:
            log.dispose()
        for database in (target, live):
            if database is not None:
                database.dispose()
        if scratch_dir is not None:
            if args.keep:
                print(f"kept the rebuilt database: {into}", file=out)
            else:
                shutil.rmtree(scratch_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ERROR
    return run(config, args)


if __name__ == "__main__":
    sys.exit(main())
