"""Property tests (hypothesis): random sequences of register / cancel / capacity changes on
an Activity keep its invariants: confirmed <= capacity, waitlist positions 1..n without gaps, no
person with two active registrations, a freed seat goes to the head of the waitlist."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from services.registration.domain import (
    CONFIRMED,
    REGISTRATION_CANCELLED,
    WAITLISTED,
    StateConflict,
)
from tests.unit.registration.test_domain import NOW, activity, person, register

PEOPLE = st.integers(min_value=0, max_value=7)


class ActivitySeats(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.activity = activity(capacity=2)
        self.people = {n: person(n) for n in range(8)}
        self.now = NOW

    def tick(self):
        self.now += timedelta(seconds=1)
        return self.now

    def active_of(self, n):
        person_id = self.people[n].person_id
        return next((r for r in self.activity.registrations if r.person_id == person_id and r.active), None)

    @rule(n=PEOPLE)
    def register(self, n):
        if self.active_of(n) is not None:
            return  # the database refuses a second active registration (tests/integration/registration)
        full = not self.activity._has_free_seat()
        waitlist_before = [r.registration_id for r in self.activity.waitlist]
        made = register(self.activity, self.people[n], self.tick())
        registration = made.registration
        if full:
            assert registration.status == WAITLISTED
            assert made.waitlist_position == len(waitlist_before) + 1  # at the end
        else:
            assert registration.status == CONFIRMED and made.waitlist_position is None

    @rule(n=PEOPLE)
    def cancel(self, n):
        registration = self.active_of(n)
        if registration is None:
            return
        was_confirmed = registration.status == CONFIRMED
        waitlist_before = [r for r in self.activity.waitlist if r is not registration]
        free_before = self.activity.capacity is None or len(self.activity.confirmed) < self.activity.capacity
        promoted = self.activity.cancel_registration(registration, "participant", self.tick())
        assert registration.status == REGISTRATION_CANCELLED
        if was_confirmed and waitlist_before and not free_before:
            # the freed seat goes to the head of the waitlist, and to no one else
            assert promoted == [waitlist_before[0]]
            assert waitlist_before[0].status == CONFIRMED
        elif not was_confirmed:
            assert promoted == []

    @rule(capacity=st.one_of(st.none(), st.integers(min_value=0, max_value=6)))
    def update_capacity(self, capacity):
        confirmed = len(self.activity.confirmed)
        waitlist_before = list(self.activity.waitlist)
        capacity_before = self.activity.capacity
        try:
            promoted = self.activity.update({"capacity": capacity}, self.tick())
        except StateConflict:
            assert capacity is not None and capacity < confirmed
            assert len(self.activity.confirmed) == confirmed and self.activity.waitlist == waitlist_before
            # Activity.update sets the fields before it checks them: the service layer discards the
            # aggregate (its transaction rolls back) on a refusal; do the same here
            self.activity.capacity = capacity_before
            return
        assert capacity is None or capacity >= confirmed
        free = len(waitlist_before) if capacity is None else capacity - confirmed
        assert promoted == waitlist_before[:free]  # promoted from the head, in order

    @invariant()
    def seats_and_waitlist_hold(self):
        act = self.activity
        confirmed = act.confirmed
        if act.capacity is not None:
            assert len(confirmed) <= act.capacity
        positions = act.waitlist_positions()
        assert sorted(positions.values()) == list(range(1, len(positions) + 1))
        # nobody waits while a seat is free
        if act.waitlist:
            assert act.capacity is not None and len(confirmed) == act.capacity
        active_people = [r.person_id for r in act.registrations if r.active]
        assert len(active_people) == len(set(active_people))
        for r in act.registrations:
            assert (r.waitlist_seq is not None) == (r.status == WAITLISTED)
        # the counters registering decides on equal a recount
        assert (act.confirmed_count, act.waitlisted_count) == (len(confirmed), len(act.waitlist))


ActivitySeats.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_activity_seats = ActivitySeats.TestCase
