"""Property test (hypothesis): random sequences of lifecycle actions on a request never
reach a status the lifecycle forbids, and a refused action changes nothing."""
from __future__ import annotations

import copy
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.rules import StateConflict
from services.requests.domain import NOTE_STATUSES, RECEIVED, TRANSITIONS
from tests.unit.requests.test_domain import NOW, new_request

ACTIONS = {
    "explore": lambda r, now: r.explore(now, notes="Gesprek", author="staff-1"),
    "accept": lambda r, now: r.accept("staff-1", now),
    "decline": lambda r, now: r.decline("no_capacity", now, referred_to="Partner vzw"),
    "deliver": lambda r, now: r.deliver(delivered_on=(now - timedelta(days=1)).date(), form="team_day",
                                        dagdelen=2, participants=3, participations=4, now=now),
    "close": lambda r, now: r.close(now),
    "add_note": lambda r, now: r.add_note("Nog een vraag", now, author="staff-1"),
}


def state(request) -> dict:
    # the domain's own attributes (when the ORM has mapped the class, not its bookkeeping)
    values = {name: value for name, value in vars(request).items()
              if name not in ("notes", "deliveries") and not name.startswith("_sa_")}
    return copy.deepcopy(values) | {"notes": len(request.notes), "deliveries": len(request.deliveries)}


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(sorted(ACTIONS)), max_size=12))
def test_random_action_sequences_follow_the_lifecycle(actions):
    request = new_request()
    assert request.status == RECEIVED
    now = NOW
    for action in actions:
        now += timedelta(hours=1)
        before = state(request)
        allowed = request.status in (NOTE_STATUSES if action == "add_note" else TRANSITIONS[action][0])
        try:
            ACTIONS[action](request, now)
        except StateConflict:
            assert not allowed, f"{action} refused from {before['status']}"
            assert state(request) == before  # a refused action changes nothing
            continue
        assert allowed, f"{action} accepted from {before['status']}"
        expected = before["status"] if action == "add_note" else TRANSITIONS[action][1]
        assert request.status == expected
