"""200 people registering at once for 30 seats, on SQLite and on PostgreSQL."""
from __future__ import annotations

import eventlet
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select

from services.registration.models import registrations
from tests.integration.registration.conftest import activity_payload, registration_payload

PEOPLE = 200
SEATS = 30


def test_200_concurrent_registrations_for_30_seats(database_backend, reg_config, rpc, events, db_engine):
    activity_id = rpc.create_activity(activity_payload(capacity=SEATS))["activity_id"]

    def register(n: int) -> dict:
        with ServiceRpcProxy("registration", reg_config, timeout=60) as own:
            return own.register(activity_id, registration_payload(n))

    pool = eventlet.GreenPool(PEOPLE)
    results = list(pool.imap(register, range(PEOPLE)))

    statuses = [r["status"] for r in results]
    assert statuses.count("confirmed") == SEATS
    assert statuses.count("waitlisted") == PEOPLE - SEATS
    assert sorted(r["waitlist_position"] for r in results if r["status"] == "waitlisted") == list(
        range(1, PEOPLE - SEATS + 1))
    assert all(r["waitlist_position"] is None for r in results if r["status"] == "confirmed")
    assert len({r["registration_id"] for r in results}) == PEOPLE

    activity = rpc.get_activity(activity_id)
    assert activity["seats"] == {"confirmed": SEATS, "waitlisted": PEOPLE - SEATS, "available": 0}
    listed = rpc.list_registrations(activity_id)
    assert len(listed) == PEOPLE
    assert len({r["person_id"] for r in listed}) == PEOPLE  # no duplicate person
    assert sorted(r["waitlist_position"] for r in listed if r["status"] == "waitlisted") == list(
        range(1, PEOPLE - SEATS + 1))
    with db_engine.connect() as connection:
        rows = connection.execute(
            select(registrations.c.person_id, registrations.c.status).where(registrations.c.activity_id == activity_id)
        ).all()
    assert len(rows) == PEOPLE and len({row.person_id for row in rows}) == PEOPLE

    created = events.wait("registration.created", PEOPLE, timeout=30)
    events.settle(0.3)
    created = events.of_type("registration.created")
    assert len(created) == PEOPLE
    assert {e["data"]["registration_id"] for e in created} == {r["registration_id"] for r in results}
    assert sum(e["data"]["status"] == "confirmed" for e in created) == SEATS

    # registering again, all at once, is refused for everyone (one registration per person)
    def again(n: int):
        try:
            register(n)
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__
        return "registered"

    assert set(pool.imap(again, range(0, PEOPLE, 10))) == {"Conflict"}
