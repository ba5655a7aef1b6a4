"""Reporting's persistence: facts in and out, deltas onto the aggregates, reads.

`ingest(uow, events, thresholds, cache)` is the whole write path of one batch, in the
caller's transaction: lock the batch's units (PostgreSQL advisory locks, in
sorted order, so several workers can run at once), load their facts, merge the
events, save the changed facts, recompute each unit's contribution, apply
new - old to `kpi_counters` / `kpi_members` (one executemany per table), and
emit `kpi.threshold_*` on a crossing. The rebuild command can replay through it.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import operator
import uuid
from collections import Counter, OrderedDict
from datetime import date, datetime

import orjson
from sqlalchemy import and_, bindparam, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kernel.db import in_chunks
from kernel.tables import utcnow
from services.reporting import domain
from services.reporting.domain import (
    Activity,
    Attendance,
    Contribution,
    Delivery,
    Evaluation,
    Facts,
    Organisation,
    OrganisationVersion,
    Registration,
    Request,
)
from services.reporting.models import (
    activity_facts,
    attendance_facts,
    delivery_facts,
    evaluation_facts,
    kpi_counters,
    kpi_members,
    org_facts,
    org_version_facts,
    registration_facts,
    request_facts,
    threshold_state,
    unit_contributions,
    year_definitions,
)

RAW_CHUNK, RAW_PARAMETERS = 1024, 30000  # rows and bound parameters per multi-row upsert (both databases cap them)


def _dialect(session) -> str:
    return session.get_bind().dialect.name


def _iso(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _raw_upsert(session, table, names: list[str], rows: list[tuple], add: str | None = None,
                returning: bool = False) -> list:
    """`INSERT ... VALUES (...), (...) ON CONFLICT (key) DO UPDATE` in the driver's own parameter
    style, many rows per statement: `rows` are tuples of the columns `names`, already in key
    order (one lock order for every worker) and bind-processed; every non-key column is replaced
    by the incoming one or, with `add`, only `add = add + excluded.add`. SQLAlchemy's per-row
    parameter processing cost more than the database's own work on these rows. With
    `returning`, the rows as stored now (columns `names`)."""
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    keys = [column.name for column in table.primary_key]
    name, columns = quote(table.name), ", ".join(quote(column) for column in names)
    if add:
        updates = f"{quote(add)} = {name}.{quote(add)} + excluded.{quote(add)}"
    else:
        updates = ", ".join(f"{quote(column)} = excluded.{quote(column)}" for column in names if column not in keys)
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([mark] * len(names)) + ")"
    tail = f" ON CONFLICT ({', '.join(quote(key) for key in keys)}) DO UPDATE SET {updates}"
    if returning:
        tail += f" RETURNING {columns}"
    connection = session.connection()
    out: list = []
    if dialect.name == "postgresql":  # one JSON parameter: cheaper to build than one per value or array per column
        keys = [str(column) for column in names]  # orjson takes plain str keys only (not SQLAlchemy's quoted_name)
        documents = [dict(zip(keys, row, strict=True)) for row in rows]
        try:
            payload = orjson.dumps(documents).decode()
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: the database says what it cannot hold
            payload = json.dumps(documents, default=_iso)
        result = connection.exec_driver_sql(
            f"INSERT INTO {name} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{name}, "
            f"CAST(%s AS json)){tail}", (payload,))
        return result.fetchall() if returning else []
    for chunk in _sized_chunks(rows, min(RAW_CHUNK, RAW_PARAMETERS // len(names))):
        result = connection.exec_driver_sql(
            f"INSERT INTO {name} ({columns}) VALUES {', '.join([one] * len(chunk))}{tail}",
            tuple(itertools.chain.from_iterable(chunk)))
        if returning:  # plain tuples straight from the driver: building SQLAlchemy rows cost more
            out += result.cursor.fetchall()
    return out


def _sized_chunks(rows: list, most: int):
    """`rows` in chunks whose sizes are powers of two (of at most `most` rows): the driver keeps a
    prepared statement per SQL text, so there are a few texts to parse once each instead of one
    for nearly every chunk (parsing a thousand rows' placeholders cost more than writing them)."""
    most = 1 << (max(1, most).bit_length() - 1)
    start = 0
    while start < len(rows):
        size = min(most, 1 << ((len(rows) - start).bit_length() - 1))
        yield rows[start : start + size]
        start += size


def upsert(session, table, rows: list[dict]) -> None:
    """Insert or replace `rows` (all columns)."""
    names = _column_names(table)
    upsert_tuples(session, table, [tuple(row[column] for column in names) for row in rows])


def upsert_tuples(session, table, rows: list[tuple]) -> None:
    """Insert or replace `rows`, tuples of all the columns in the table's order (`_column_names`)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    names = list(_column_names(table))
    processors = [table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in names]
    converted = [(index, process) for index, process in enumerate(processors) if process is not None]
    if converted:  # only the columns that have a bind processor are touched
        tuples = []
        for row in rows:
            values = list(row)
            for index, process in converted:
                if values[index] is not None:
                    values[index] = process(values[index])
            tuples.append(tuple(values))
    else:
        tuples = list(rows)
    tuples.sort(key=operator.itemgetter(*(names.index(column.name) for column in table.primary_key)))
    _raw_upsert(session, table, names, tuples)


def advisory_lock_key(name: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock(session, names) -> None:
    """PostgreSQL: hold a transaction-scoped advisory lock on each name (in one global order).

    SQLite needs none: its writers are serialised (BEGIN IMMEDIATE).
    """
    if _dialect(session) != "postgresql":
        return
    keys = sorted({advisory_lock_key(name) for name in names})
    if keys:  # one round trip; the locks are taken in the array's (sorted) order
        session.execute(
            text("SELECT count(pg_advisory_xact_lock(key)) FROM unnest(CAST(:keys AS bigint[])) AS key"),
            {"keys": keys},
        )


# ------------------------------------------------------------------------------------------ facts


def _row(row) -> dict:
    return dict(row._mapping)


def load_facts(session, units: list[str]) -> Facts:
    """Everything the given units' contributions depend on."""
    facts = Facts()
    ids: dict[str, list[str]] = {"activity": [], "request": [], "org": []}
    for unit in units:
        kind, _, key = unit.partition(":")
        ids[kind].append(key)
    for chunk in in_chunks(ids["activity"]):
        for row in session.execute(select(activity_facts).where(activity_facts.c.activity_id.in_(chunk))):
            facts.activities[row.activity_id] = Activity(**_row(row))
        for row in session.execute(select(registration_facts).where(registration_facts.c.activity_id.in_(chunk))):
            facts.activity(row.activity_id).registrations[row.registration_id] = Registration(**_row(row))
        for row in session.execute(select(attendance_facts).where(attendance_facts.c.activity_id.in_(chunk))):
            facts.activity(row.activity_id).attendance[row.registration_id] = Attendance(**_row(row))
        for row in session.execute(select(evaluation_facts).where(evaluation_facts.c.activity_id.in_(chunk))):
            facts.activity(row.activity_id).evaluations[row.evaluation_id] = Evaluation(**_row(row))
    for chunk in in_chunks(ids["request"]):
        for row in session.execute(select(request_facts).where(request_facts.c.request_id.in_(chunk))):
            facts.requests[row.request_id] = Request(**_row(row))
        for row in session.execute(select(delivery_facts).where(delivery_facts.c.request_id.in_(chunk))):
            facts.request(row.request_id).deliveries[row.event_id] = Delivery(**_row(row))
    for chunk in in_chunks(ids["org"]):
        for row in session.execute(select(org_facts).where(org_facts.c.organisation_id.in_(chunk))):
            facts.organisations[row.organisation_id] = Organisation(**_row(row))
        for row in session.execute(select(org_version_facts).where(org_version_facts.c.organisation_id.in_(chunk))):
            facts.organisation(row.organisation_id).versions[row.event_id] = OrganisationVersion(**_row(row))
    return facts


@functools.cache
def _column_names(table) -> tuple[str, ...]:
    """A table's column names, read once: iterating `table.columns` for every fact row cost more
    than the rest of saving it."""
    return tuple(column.name for column in table.columns)


@functools.cache
def _row_of(table) -> operator.attrgetter:
    """Reads a fact object's row for `table`: the tuple of its column attributes, in column order."""
    return operator.attrgetter(*_column_names(table))


def save_facts(session, facts: Facts) -> None:
    """Write the fact rows the merge changed (one upsert per table)."""
    rows: dict = {name: [] for name in ("activity", "registration", "attendance", "evaluation", "request",
                                        "delivery", "organisation", "organisation_version")}
    registrations, attendance, evaluations, deliveries, versions = {}, {}, {}, {}, {}
    for activity in facts.activities.values():
        registrations.update(activity.registrations)
        attendance.update(activity.attendance)
        evaluations.update(activity.evaluations)
    for request in facts.requests.values():
        deliveries.update(request.deliveries)
    for organisation in facts.organisations.values():
        versions.update(organisation.versions)
    sources = {
        "activity": (facts.activities, activity_facts),
        "registration": (registrations, registration_facts),
        "attendance": (attendance, attendance_facts),
        "evaluation": (evaluations, evaluation_facts),
        "request": (facts.requests, request_facts),
        "delivery": (deliveries, delivery_facts),
        "organisation": (facts.organisations, org_facts),
        "organisation_version": (versions, org_version_facts),
    }
    for kind, key in facts.dirty:
        objects, table = sources[kind]
        rows[kind].append(_row_of(table)(objects[key]))
    for kind, (_, table) in sources.items():
        upsert_tuples(session, table, rows[kind])
    facts.dirty.clear()


# ------------------------------------------------------------------------------------ aggregates


def load_contributions(session, units: list[str]) -> dict[str, Contribution]:
    stored: dict[str, Contribution] = {}
    for chunk in in_chunks(units):
        for row in session.execute(select(unit_contributions).where(unit_contributions.c.unit.in_(chunk))):
            stored[row.unit] = Contribution.from_json(orjson.loads(row.payload))
    return stored


def apply_delta(session, delta: domain.Delta) -> None:
    """Add a batch's delta to the aggregates: refcounts first (their 0<->1 crossings move the
    `distinct:<set>` counters of years and months), then every counter with `value = value + delta`."""
    counters = Counter(delta.counters)
    member_rows = sorted((*key, change) for key, change in delta.members.items() if change)
    emptied = []
    stored = _raw_upsert(session, kpi_members, ["scope", "set_name", "member", "refcount"], member_rows,
                         add="refcount", returning=True) if member_rows else []
    distinct: dict[str, bool] = {}  # scope -> whether it counts distinct members: asked once a scope
    for scope, set_name, member, now in stored:
        if now <= 0:
            emptied.append({"s": scope, "n": set_name, "m": member})
        counts = distinct.get(scope)
        if counts is None:
            counts = distinct[scope] = domain.counts_distinct(scope)
        if not counts:
            continue
        before = now - delta.members[(scope, set_name, member)]
        if before <= 0 < now:
            counters[(scope, domain.distinct_metric(set_name))] += 1
        elif now <= 0 < before:
            counters[(scope, domain.distinct_metric(set_name))] -= 1
    if emptied:
        session.execute(
            delete(kpi_members).where(
                kpi_members.c.scope == bindparam("s"),
                kpi_members.c.set_name == bindparam("n"),
                kpi_members.c.member == bindparam("m"),
                kpi_members.c.refcount <= 0,
            ),
            emptied,
        )
    counter_rows = sorted((*key, change) for key, change in counters.items() if change)
    if counter_rows:
        _raw_upsert(session, kpi_counters, ["scope", "metric", "value"], counter_rows, add="value")


class UnitCache:
    """The facts and contribution of recently ingested units, kept by one worker between batches,
    so that a big activity (a Trefdag: a thousand fact rows, a contribution of 250 kB) is not read
    back and decoded with every batch that touches it. An entry is used only while the unit's
    stored `token` is the one written with it: a write by another worker, or a rebuild, changes
    the token and the unit is read from the database again; so does a rollback of the batch that
    kept them (its token was never stored)."""

    def __init__(self, size: int = 1024):
        self.size = size
        self._entries: OrderedDict[str, tuple[str, object, Contribution]] = OrderedDict()

    def take(self, session, units: list[str]) -> dict[str, tuple[object, Contribution]]:
        """The still valid entries of `units` (removed from the cache); call with the units locked."""
        held = {unit: self._entries.pop(unit) for unit in units if unit in self._entries}
        if not held:
            return {}
        stored = dict(session.execute(select(unit_contributions.c.unit, unit_contributions.c.token)
                                      .where(unit_contributions.c.unit.in_(list(held)))).all())
        return {unit: (part, contribution) for unit, (token, part, contribution) in held.items()
                if stored.get(unit) == token}

    def keep(self, entries: dict[str, tuple[str, object, Contribution]]) -> None:
        for unit, entry in entries.items():
            self._entries[unit] = entry
            self._entries.move_to_end(unit)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def _facts_of(facts: Facts, unit: str) -> tuple[dict, str]:
    """The dict of `facts` that holds `unit`'s facts, and its key there."""
    kind, _, key = unit.partition(":")
    return {"activity": facts.activities, "request": facts.requests, "org": facts.organisations}[kind], key


def fixed_definitions(session, years: set[int], primary_group: domain.PrimaryGroup) -> domain.Definitions:
    """The primary group of each of `years` as fixed with the year's first figures; a year not
    fixed yet is fixed now with `primary_group`'s (the configuration's) definition."""
    if not years:
        return {}
    wanted = sorted(years)

    def stored() -> dict:
        return dict(session.execute(select(year_definitions.c.year, year_definitions.c.primary_org_types)
                                    .where(year_definitions.c.year.in_(wanted))).all())

    fixed = stored()
    missing = [year for year in wanted if year not in fixed]
    if missing:  # another worker may fix the same year at once: the first one stays
        insert = (pg_insert if _dialect(session) == "postgresql" else sqlite_insert)(year_definitions)
        now = utcnow()
        session.execute(insert.on_conflict_do_nothing(), [
            {"year": year, "fixed_at": now,
             "primary_org_types": None if (types := primary_group.for_year(year)) is None else json.dumps(types)}
            for year in missing])
        fixed = stored()
    return {year: None if value is None else tuple(json.loads(value)) for year, value in fixed.items()}


def definition(session, year: int) -> tuple[str, ...] | None:
    """The primary organisation types fixed with `year`'s figures (None: as the events carried it)."""
    value = session.scalar(select(year_definitions.c.primary_org_types).where(year_definitions.c.year == year))
    return None if value is None else tuple(json.loads(value))


def ingest(uow, events: list[dict], thresholds: domain.Thresholds, cache: UnitCache | None = None) -> domain.Delta:
    """Merge fresh (already claimed) events into the facts and the aggregates; returns the delta.
    With a `cache`, units it holds are not read back, and the batch's units are kept in it."""
    session = uow.session
    units = sorted({unit for event in events if (unit := domain.unit_of(event))})
    if not units:
        return domain.Delta()
    lock(session, units)
    cached = cache.take(session, units) if cache is not None else {}
    facts = load_facts(session, [unit for unit in units if unit not in cached])
    for unit, (part, _) in cached.items():
        held, key = _facts_of(facts, unit)
        held[key] = part
    for event in events:
        domain.merge(facts, event)
    save_facts(session, facts)
    years = set().union(*(domain.unit_years(unit, facts) for unit in units))
    definitions = fixed_definitions(session, years, thresholds.primary_group)
    before = {unit: contribution for unit, (_, contribution) in cached.items()}
    before.update(load_contributions(session, [unit for unit in units if unit not in cached]))
    token = uuid.uuid4().hex
    delta = domain.Delta()
    changed, restamped, after = [], [], {}
    for unit in units:
        old = before.get(unit, Contribution())
        new = domain.contribution_of(unit, facts, definitions)
        if new != old:
            delta.add(old, new)
            changed.append({"unit": unit, "payload": orjson.dumps(new.to_json()).decode(),
                            "token": token})
        elif unit in before:  # its facts may still have changed: a cached copy must see the new token
            restamped.append(unit)
        else:
            continue  # nothing stored for it (an empty contribution): not worth caching
        held, key = _facts_of(facts, unit)
        after[unit] = (token, held[key], new)
    upsert(session, unit_contributions, changed)
    for chunk in in_chunks(restamped):
        session.execute(update(unit_contributions).where(unit_contributions.c.unit.in_(chunk)).values(token=token))
    delta = delta.compact()
    apply_delta(session, delta)
    check_thresholds(uow, delta.scopes(), thresholds)
    if cache is not None:  # should this transaction roll back, the stored tokens stay the old ones
        cache.keep(after)
    return delta


# ------------------------------------------------------------------------------------ thresholds


def check_thresholds(uow, scopes: set[str], thresholds: domain.Thresholds) -> list[dict]:
    """Evaluate the targets of the years and activities a batch changed; emit on a crossing only."""
    session = uow.session
    years = {int(scope.split(":", 1)[1]) for scope in scopes if scope.startswith("year:")}
    register_changed = any(scope.startswith(domain.register_scope("")) for scope in scopes)
    if domain.DIRECTORY in scopes or register_changed:  # recognised organisations changed: years' reach may move
        years.update(
            int(scope.split(":", 1)[1])
            for scope in session.execute(
                select(threshold_state.c.scope).where(threshold_state.c.kpi == "recognised_reach_pct")
            ).scalars()
        )
    activity_scopes = sorted(scope for scope in scopes if scope.startswith("activity:"))
    year_scopes = [f"year:{year}" for year in sorted(years)]
    if not year_scopes and not activity_scopes:
        return []
    lock(session, [f"threshold:{scope}" for scope in year_scopes + activity_scopes])
    checks: list[domain.Check] = []
    for year in sorted(years):
        checks += domain.year_checks(f"year:{year}", target_document(session, year), thresholds)
    activity_counters: dict[str, dict[str, int]] = {scope: {} for scope in activity_scopes}
    for chunk in in_chunks(activity_scopes):  # one read for the batch's activities, not one each
        for where, metric, value in session.execute(
            select(kpi_counters.c.scope, kpi_counters.c.metric, kpi_counters.c.value).where(
                kpi_counters.c.scope.in_(chunk))
        ):
            activity_counters[where][metric] = value
    for scope in activity_scopes:
        checks += domain.activity_checks(scope, activity_counters[scope], thresholds)
    checks = [check for check in checks if check.value is not None]
    if not checks:
        return []
    keys = [(check.kpi, check.scope) for check in checks]
    state = {}
    for chunk in in_chunks(keys, 250):
        for row in session.execute(
            select(threshold_state.c.kpi, threshold_state.c.scope, threshold_state.c.breached).where(
                tuple_(threshold_state.c.kpi, threshold_state.c.scope).in_(chunk)
            )
        ):
            state[(row.kpi, row.scope)] = row.breached
    emitted, rows = [], []
    for event_type, check in domain.crossings(checks, state):
        data = {"kpi": check.kpi, "scope": check.scope, "value": float(check.value), "threshold": check.threshold}
        emitted.append(uow.emit(event_type, data))
        rows.append({**data, "breached": check.breached, "changed_at": utcnow()})
    upsert(session, threshold_state, rows)
    return emitted


# ------------------------------------------------------------------------------------------ reads


def counters_of(session, scope: str, metrics: tuple[str, ...] | None = None) -> dict[str, int]:
    """The counters of `scope` (only `metrics`, if given)."""
    query = select(kpi_counters.c.metric, kpi_counters.c.value).where(kpi_counters.c.scope == scope)
    if metrics is not None:
        query = query.where(kpi_counters.c.metric.in_(metrics))
    return dict(session.execute(query).all())


def register(session, year: int, metrics: tuple[str, ...] | None = None) -> dict[str, int]:
    """The recognised organisations registered at the end of `year`, overall and per type (only
    `metrics`, if given): the sum of the changes of that year and every year before (one short
    primary-key range)."""
    query = select(kpi_counters.c.metric, func.sum(kpi_counters.c.value)).where(
        kpi_counters.c.scope >= domain.register_scope(""), kpi_counters.c.scope <= domain.register_scope(year))
    if metrics is not None:
        query = query.where(kpi_counters.c.metric.in_(metrics))
    return {metric: int(value) for metric, value in session.execute(query.group_by(kpi_counters.c.metric)).all()}


def annual(session, year: int) -> dict:
    """The year's counters and the register at the end of the year."""
    return domain.annual_document(year, counters_of(session, f"year:{year}"), register(session, year))


def target_document(session, year: int) -> dict:
    """The annual document as far as the yearly targets read it: built from only the counters their
    figures are computed from (domain.YEAR_TARGET_COUNTERS), so those figures are the whole
    document's and its other fields are not to be read (the whole 1.1 document, read and built for
    every year a batch touched, was a good part of the batch's cost)."""
    return domain.annual_document(year, counters_of(session, f"year:{year}", domain.YEAR_TARGET_COUNTERS),
                                  register(session, year, domain.YEAR_TARGET_REGISTER))


def years_with_data(session, years) -> set[int]:
    """Which of `years` have any figure (a non-zero counter in their year scope)."""
    scopes = [f"year:{year}" for year in years]
    if not scopes:
        return set()
    found = session.execute(
        select(kpi_counters.c.scope).where(kpi_counters.c.scope.in_(scopes), kpi_counters.c.value != 0).distinct()
    ).scalars()
    return {int(scope.split(":", 1)[1]) for scope in found}


def rolling(session, days: int, until: date) -> dict:
    """Counters summed over the window's day scopes; distinct counts over the window's members."""
    start, end = domain.rolling_window(days, until)
    in_window = and_(
        kpi_counters.c.scope >= f"day:{start.isoformat()}", kpi_counters.c.scope <= f"day:{end.isoformat()}"
    )
    summed = {
        metric: int(value)
        for metric, value in session.execute(
            select(kpi_counters.c.metric, func.sum(kpi_counters.c.value))
            .where(in_window, ~kpi_counters.c.metric.startswith("distinct:"))
            .group_by(kpi_counters.c.metric)
        ).all()
    }
    members_in_window = and_(
        kpi_members.c.scope >= f"day:{start.isoformat()}", kpi_members.c.scope <= f"day:{end.isoformat()}",
        kpi_members.c.refcount > 0,
    )
    for set_name, count in session.execute(
        select(kpi_members.c.set_name, func.count(func.distinct(kpi_members.c.member)))
        .where(members_in_window)
        .group_by(kpi_members.c.set_name)
    ).all():
        summed[domain.distinct_metric(set_name)] = int(count)
    return domain.rolling_document(days, until, summed, counters_of(session, domain.DIRECTORY))


def activity(session, activity_id: str) -> dict | None:
    row = session.execute(select(activity_facts).where(activity_facts.c.activity_id == activity_id)).first()
    counters = counters_of(session, f"activity:{activity_id}")
    if row is None and not counters:
        return None
    fields = None
    if row is not None and row.starts_at is not None:
        fields = {
            "status": row.status, "kind": row.kind, "format": row.format,
            "starts_at": row.starts_at.isoformat(), "capacity": row.capacity, "dagdelen": row.dagdelen,
        }
    return domain.activity_document(fields, activity_id, counters)
