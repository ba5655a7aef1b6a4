"""Property test (hypothesis), extending tests/unit/reporting/test_domain.py's fixed orders:
any permutation of a generated event stream, with duplicates (at-least-once delivery), gives the
same figures (every unit's contribution) as the stream in publication order."""
from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reporting import domain
from tests.unit.reporting.test_domain import attended, created, ev, merged, scheduled

T0 = datetime.fromisoformat("2026-02-01T09:00:00+00:00")


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@st.composite
def streams(draw):
    events = [scheduled()]
    orgs = [("o1", "vereniging", True), ("o2", "overheid", False), (None, "individu", False)]
    for n in range(draw(st.integers(min_value=0, max_value=5))):
        rid = f"r{n}"
        events.append(created(rid, draw(st.sampled_from(["confirmed", "waitlisted"]))))
        if draw(st.booleans()):
            events.append(ev("registration.confirmed", at(10 + n), registration_id=rid, activity_id="a"))
        if draw(st.booleans()):
            events.append(ev("registration.cancelled", at(20 + n), registration_id=rid, activity_id="a",
                             cancelled_by=draw(st.sampled_from(["participant", "staff", "system"]))))
        org = draw(st.sampled_from(orgs))
        for k in range(draw(st.integers(min_value=0, max_value=2))):  # an attendance and its corrections
            events.append(attended(rid, f"p{draw(st.integers(0, 3))}", days=draw(st.integers(1, 3)),
                                   at=at(40 + 5 * n + k), org=org))
    terminal = draw(st.sampled_from([None, "activity.completed", "activity.cancelled", "both"]))
    if terminal in ("activity.completed", "both"):
        events.append(ev("activity.completed", "2026-03-02T10:00:00+00:00", activity_id="a"))
    if terminal in ("activity.cancelled", "both"):
        events.append(ev("activity.cancelled", "2026-03-02T11:00:00+00:00", activity_id="a", reason="ziek"))
    shuffled = draw(st.permutations(events))
    duplicates = draw(st.lists(st.sampled_from(events), max_size=4))
    positions = [draw(st.integers(0, len(shuffled) + i)) for i in range(len(duplicates))]
    for position, duplicate in zip(positions, duplicates, strict=True):
        shuffled.insert(position, duplicate)
    return events, shuffled


def figures(events) -> dict:
    facts = merged(events)
    units = {domain.unit_of(event) for event in events} - {None}
    return {unit: domain.contribution_of(unit, facts) for unit in units}  # counters and sets: order-free equality


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(streams())
def test_any_order_with_duplicates_gives_the_same_figures(stream):
    in_order, shuffled = stream
    assert figures(shuffled) == figures(in_order)
