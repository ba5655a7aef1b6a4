"""The write path without a broker: batches of events through store.ingest, on SQLite and
PostgreSQL, compared field by field with figures computed independently from the raw events."""
from __future__ import annotations

import random
from datetime import date

import pytest

from kernel.db import ServiceDatabase
from kernel.migrate import upgrade
from services.reporting import domain, store
from services.reporting.rebuild import LIVE_CONSUMER as CONSUMER
from tests.integration.reporting import stream


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


def test_threshold_checks_read_the_targets_figures_as_the_whole_document_has_them(reporting_db):
    """The check after every batch builds the annual document from the targets' counters alone
    (store.target_document): each year's checks are those of the whole document."""
    events = stream.known_stream()
    feed(reporting_db, events)
    thresholds = domain.Thresholds()
    with reporting_db.unit_of_work() as uow:
        checks = {year: (domain.year_checks(f"year:{year}", store.target_document(uow.session, year), thresholds),
                         domain.year_checks(f"year:{year}", store.annual(uow.session, year), thresholds))
                  for year in (2024, 2025, 2026)}
    for year, (read, whole) in checks.items():
        assert read == whole, year
    assert all(check.value is not None for check in checks[2026][0])  # every target measured


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


def test_totals_over_both_tracks_are_the_hand_counted_ones(reporting_db):
    """Counted by hand from known_stream, not by the oracle. 2025: activity a1 completed, request
    q1 received (delivered in 2026); orgs o1, o4, o3 reached by a1, none by a delivery.
    2026: a2 and a4 completed (a3 cancelled, a5 not held), q4 of the requests received delivered;
    a2 and a4 reach o1, o2, o3, o4, o5, o7; the deliveries of q1 and q4 reach o1 and o6."""
    events = stream.known_stream()
    feed(reporting_db, stream.shuffled_with_duplicates(events, seed=21), seed=8)
    got = documents(reporting_db)["annual"]
    assert got[2025]["totals"]["activities"] == 1 + 1
    assert got[2026]["totals"]["activities"] == 2 + 1
    assert (got[2025]["totals"]["organisations_reached"], got[2025]["totals"]["organisations_reached_tracks_added"]) \
        == (3, 3 + 0)
    assert (got[2026]["totals"]["organisations_reached"], got[2026]["totals"]["organisations_reached_tracks_added"]) \
        == (7, 6 + 2)


def test_a_negative_nps_is_the_hand_counted_one(reporting_db):
    """Three answers: one promoter (9), two detractors (6 and 0): (1 - 2) / 3 = -33.3 %, score -33."""
    s = stream.Stream()
    s.activity("2026-01-02T09:00:00+00:00", "n1", "2026-02-02T09:00:00+00:00")
    for number, (person, recommend) in enumerate((("p1", 9), ("p2", 6), ("p3", 0)), start=1):
        s.register("2026-01-03T09:00:00+00:00", f"nr{number}", "n1", person, stream.O1)
        s.attend("2026-02-02T16:00:00+00:00", f"nr{number}", "n1", person, stream.O1, 1)
        s.evaluate("2026-02-03T09:00:00+00:00", f"ne{number}", f"nr{number}", "n1", 7, recommend)
    s.emit("activity.completed", "2026-02-02T17:00:00+00:00", activity_id="n1")
    feed(reporting_db, list(reversed(s.events)) + s.events[:4], seed=2)
    expected = {"score": -33, "promoters_pct": 33.3, "passives_pct": 0.0, "detractors_pct": 66.7, "respondents": 3}
    with reporting_db.unit_of_work() as uow:
        annual = store.annual(uow.session, 2026)
        activity = store.activity(uow.session, "n1")
    assert annual["open_offer"]["nps"] == {**expected, "activities_measured": 1}
    assert activity["nps"] == expected
    assert annual["open_offer"]["satisfaction_pct"] == 70.0


def test_a_later_register_change_leaves_an_earlier_year_as_it_was(reporting_db):
    """Recognised at the end of 2025 (hand-counted from known_stream): o1, o2, o3, o5 (recognised
    since June), o6; not o4 (overheid) nor o7 (no longer recognised since February)."""
    events = stream.known_stream()
    feed(reporting_db, events, seed=9)

    def reach(year):
        with reporting_db.unit_of_work() as uow:
            document = store.annual(uow.session, year)
        return (document["totals"]["recognised_reach"]["total"],
                document["open_offer"]["recognised_reach"]["by_org_type"])

    before_2025 = reach(2025)
    assert before_2025[0] == 5
    assert {t: n["total"] for t, n in before_2025[1].items()} == {
        "vereniging": 2, "beweging": 1, "volkshogeschool": 1, "landelijke_vormingsinstelling": 1}
    assert reach(2024)[0] == 0  # nobody registered yet
    later = stream.Stream()  # the directory changes in 2026
    later.org("2026-03-01T09:00:00+00:00", "o2", "beweging", False, updated=True)  # loses recognition
    later.org("2026-04-01T09:00:00+00:00", "o8", "volkshogeschool", True)
    later.org("2025-12-31T23:30:00+00:00", "o9", "vereniging", True)  # 00:30 on 1 January 2026 in Brussels
    feed(reporting_db, list(reversed(later.events)), seed=10)
    assert reach(2025) == before_2025
    assert reach(2026)[0] == 5 - 1 + 1 + 1
    late = stream.Stream()  # an event of 2025 that arrives late does move 2025
    late.org("2025-12-31T22:30:00+00:00", "o7", "beweging", True, updated=True)  # 23:30 in Brussels
    feed(reporting_db, late.events, seed=11)
    assert reach(2025)[0] == 5 + 1
    assert reach(2026)[0] == 5 - 1 + 1 + 1 + 1
    assert reach(2026)[1]["beweging"]["total"] == 1 and reach(2026)[1]["volkshogeschool"]["total"] == 2
    everything = events + later.events + late.events
    for year in (2024, 2025, 2026):
        with reporting_db.unit_of_work() as uow:
            assert store.annual(uow.session, year) == stream.expected_annual(everything, year)


OVERHEID_PRIMARY = ("vereniging", "beweging", "landelijke_vormingsinstelling", "volkshogeschool", "overheid")


def test_the_primary_group_of_the_configuration_is_fixed_with_each_year(reporting_db):
    """A policy that counts `overheid` as primary in 2026 (as the 2021-2025 plan counts
    civiel_scw): 2026 counts o4 (overheid) as primary, 2025 (no policy) keeps the events' target
    group. Changing the configuration afterwards does not move a year already counted."""
    events = stream.known_stream()
    policy = {"REPORTING": {"PRIMARY_GROUP": [{"FROM": 2026, "TO": 2026, "ORG_TYPES": list(OVERHEID_PRIMARY)}]}}
    counted_with = domain.Thresholds.from_config(policy)
    feed(reporting_db, stream.shuffled_with_duplicates(events, seed=17), seed=12, thresholds=counted_with)
    primary = {2026: OVERHEID_PRIMARY}
    with reporting_db.unit_of_work() as uow:
        for year in (2025, 2026):
            assert store.annual(uow.session, year) == stream.expected_annual(events, year, primary)
        assert store.rolling(uow.session, 365, date(2026, 5, 10)) == \
            stream.expected_rolling(events, 365, date(2026, 5, 10), primary)
        annual_2026 = store.annual(uow.session, 2026)
    # by hand: 2026's 7 participants' types are all in the policy (o7 too: a beweging, though its
    # events said secondary); the events alone would give 5 primary and 2 secondary (o7, o4)
    assert annual_2026["open_offer"]["participants_by_target_group"] == {"primary": 7, "secondary": 0}
    assert store_annual(reporting_db, 2025)["open_offer"]["participants_by_target_group"] == \
        {"primary": 2, "secondary": 1}  # o1, o3 primary; o4 as the event carried it

    # the configuration changes: 2026 stays as counted; an attendance arriving late keeps its definition
    late = stream.Stream()
    late.attend("2026-09-01T16:00:00+00:00", "r13", "a5", "p3", ("o4", "overheid", False), 1)
    feed(reporting_db, late.events, seed=13, thresholds=domain.Thresholds())
    assert store_annual(reporting_db, 2026) == stream.expected_annual(events + late.events, 2026, primary)
    assert store_annual(reporting_db, 2026)["open_offer"]["participants_by_target_group"] == \
        {"primary": 8, "secondary": 0}


def store_annual(database, year):
    with database.unit_of_work() as uow:
        return store.annual(uow.session, year)
