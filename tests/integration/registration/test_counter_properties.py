"""Property test (hypothesis) on the real service and database: random sequences of register,
cancel (a freed seat promotes the head of the waitlist), promotion by hand (the capacity grows when
no seat is free) and capacity changes keep the activity's
seat counters equal to a recount of its registration rows, with the waitlist numbered 1..n.
SQLite and PostgreSQL."""
from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from kernel.errors import Conflict
from services.registration.models import activities, registrations
from tests.integration.registration.conftest import activity_payload, registration_payload

PEOPLE = st.integers(min_value=0, max_value=6)


def test_counters_equal_a_recount_after_any_sequence(database_backend, rpc, db_engine):
    class Seats(RuleBasedStateMachine):
        @initialize(capacity=st.integers(min_value=0, max_value=3))
        def schedule(self, capacity):
            self.activity_id = rpc.create_activity(activity_payload(capacity=capacity))["activity_id"]
            self.active: dict[int, str] = {}  # person -> their active registration

        @rule(n=PEOPLE)
        def register(self, n):
            try:
                made = rpc.register(self.activity_id, registration_payload(n))
            except Conflict as refused:
                assert n in self.active and refused.details == {"reason": "duplicate"}
                return
            assert n not in self.active
            self.active[n] = made["registration_id"]

        @rule(n=PEOPLE)
        def cancel(self, n):
            if n in self.active:
                rpc.cancel_registration(self.active.pop(n))

        @rule(n=PEOPLE)
        def promote_by_hand(self, n):
            if n not in self.active:
                return
            before = rpc.get_activity(self.activity_id)
            try:
                promoted = rpc.promote_registration(self.active[n])
            except Conflict:  # only a waitlisted registration is promoted
                assert any(r["registration_id"] == self.active[n] and r["status"] == "confirmed"
                           for r in rpc.list_registrations(self.activity_id))
                return
            assert promoted["status"] == "confirmed"
            after = rpc.get_activity(self.activity_id)
            assert after["seats"]["confirmed"] == before["seats"]["confirmed"] + 1
            assert after["capacity"] == (before["capacity"] if before["seats"]["available"] else before["capacity"] + 1)

        @rule(capacity=st.one_of(st.none(), st.integers(min_value=0, max_value=5)))
        def change_capacity(self, capacity):
            confirmed = rpc.get_activity(self.activity_id)["seats"]["confirmed"]
            try:
                rpc.update_activity(self.activity_id, {"capacity": capacity})
            except Conflict:
                assert capacity is not None and capacity < confirmed

        @invariant()
        def counters_equal_a_recount(self):
            if not hasattr(self, "activity_id"):
                return
            with db_engine.connect() as connection:
                recount = dict(connection.execute(
                    select(registrations.c.status, func.count())
                    .where(registrations.c.activity_id == self.activity_id).group_by(registrations.c.status)).all())
                row = connection.execute(
                    select(activities.c.capacity, activities.c.confirmed_count, activities.c.waitlisted_count)
                    .where(activities.c.activity_id == self.activity_id)).one()
            assert (row.confirmed_count, row.waitlisted_count) == (recount.get("confirmed", 0),
                                                                   recount.get("waitlisted", 0))
            assert row.capacity is None or row.confirmed_count <= row.capacity
            if row.waitlisted_count:  # nobody waits while a seat is free
                assert row.capacity is not None and row.confirmed_count == row.capacity
            listed = rpc.list_registrations(self.activity_id)
            assert sorted(r["waitlist_position"] for r in listed if r["status"] == "waitlisted") == list(
                range(1, row.waitlisted_count + 1))
            assert sorted(r["registration_id"] for r in listed if r["status"] != "cancelled") == sorted(
                self.active.values())

    run_state_machine_as_test(Seats, settings=settings(
        max_examples=15, stateful_step_count=15, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
