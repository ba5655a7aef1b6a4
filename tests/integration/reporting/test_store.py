"""The write path without a broker: batches of events through store.ingest, on SQLite and
PostgreSQL, compared field by field with figures computed independently from the raw events."""
from __future__ import annotations

import random
from datetime import date

import pytest

from kernel.db import ServiceDatabase
from kernel.migrate import upgrade
from services.reporting import domain, store
from tests.integration.reporting import stream

CONSUMER = "reporting.on_events"


@pytest.fixture(params=["sqlite", "postgresql"])
def reporting_db(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database")()
    else:
        url = f"sqlite:///{tmp_path}/reporting.db"
    upgrade("reporting", url)
    database = ServiceDatabase(url, producer="reporting")
    yield database
    database.dispose()


def feed(database, events, seed=1, thresholds=None, caches=(None,)):
    """Ingest `events` in batches of random sizes; with several `caches`, the batches go to
    each in turn, as to workers taking turns on one database."""
    rng = random.Random(seed)
    thresholds = thresholds or domain.Thresholds()
    emitted = []
    position = 0
    while position < len(events):
        size = rng.randint(1, 25)
        with database.unit_of_work(consumer=CONSUMER) as uow:
            fresh = uow.claim_many(events[position : position + size])
            store.ingest(uow, fresh, thresholds, caches[rng.randrange(len(caches))])
            emitted += uow.emitted
        position += size
    return emitted


def documents(database):
    with database.unit_of_work() as uow:
        session = uow.session
        return {
            "annual": {year: store.annual(session, year) for year in (2024, 2025, 2026)},
            "rolling": {days: store.rolling(session, days, date(2026, 5, 10)) for days in (7, 30, 365)},
            "activities": {a: store.activity(session, a) for a in ("a1", "a2", "a3", "a4", "a5")},
        }


def expected_documents(events):
    return {
        "annual": {year: stream.expected_annual(events, year) for year in (2024, 2025, 2026)},
        "rolling": {days: stream.expected_rolling(events, days, date(2026, 5, 10)) for days in (7, 30, 365)},
        "activities": {a: stream.expected_activity(events, a) for a in ("a1", "a2", "a3", "a4", "a5")},
    }


def test_known_stream_gives_the_independently_computed_documents(reporting_db):
    events = stream.known_stream()
    feed(reporting_db, events)
    got, expected = documents(reporting_db), expected_documents(events)
    for kind in expected:
        for key in expected[kind]:
            assert got[kind][key] == expected[kind][key], (kind, key)


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_reordered_duplicated_and_erased_give_the_same_documents(reporting_db, order):
    events = stream.known_stream()
    if order == "reversed":  # every correction and update arrives before what it corrects
        incoming = list(reversed(events)) + events[::3]
    else:
        incoming = stream.shuffled_with_duplicates(events) + events[:10]
    feed(reporting_db, incoming + [stream.erasure()], seed=3)
    assert documents(reporting_db) == expected_documents(events)


@pytest.mark.parametrize("workers", [1, 2])
def test_units_kept_between_batches_give_the_same_documents(reporting_db, workers):
    """With a unit cache per worker (one, or two taking turns on one database, each writing units
    the other holds), and a batch rolled back midway: the same documents as without caches."""
    events = stream.shuffled_with_duplicates(stream.known_stream(), seed=11)
    caches = tuple(store.UnitCache() for _ in range(workers))
    half = len(events) // 2
    feed(reporting_db, events[:half], seed=4, caches=caches)
    with pytest.raises(RuntimeError):  # merged into the cached facts, then rolled back
        with reporting_db.unit_of_work(consumer=CONSUMER) as uow:
            store.ingest(uow, uow.claim_many(events[half:]), domain.Thresholds(), caches[0])
            raise RuntimeError("the batch fails after ingest")
    feed(reporting_db, events[half:], seed=5, caches=caches)
    assert documents(reporting_db) == expected_documents(stream.known_stream())
    assert any(cache._entries for cache in caches)
