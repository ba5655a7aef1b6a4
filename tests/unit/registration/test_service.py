"""The registration service's entrypoints in a worker of their own (nameko's worker_factory): its
repository on a migrated SQLite database, the outbox replaced by a list of the events committed.

No broker: what the service decides (confirmed or waitlisted, refused, promoted) and which events
commit with it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from kernel.batching import InTurns
from kernel.dependencies import WorkerDatabase
from kernel.errors import Conflict
from services.registration.models import persons, registrations
from services.registration.schemas import RegistrationRequestSchema
from services.registration.service import RegistrationService

CONFIG = {"REGISTRATION": {"CANCEL_LINK_SECRET": "unit-test-cancel-link-secret"}}


@pytest.fixture
def service_name():
    return "registration"


@pytest.fixture
def service(database):
    return worker_factory(RegistrationService, db=WorkerDatabase(database, "registration.rpc"), config=CONFIG,
                          turns=InTurns())


def an_activity(service, capacity: int) -> str:
    now = datetime.now(UTC)
    return service.create_activity({
        "title": "Vorming vrijwilligersbeleid", "description": "Twee dagen over vrijwilligers.", "kind": "vorming",
        "theme": "vrijwilligers", "goal": "SD1.OD4", "format": "offline",
        "starts_at": (now + timedelta(days=10)).isoformat(), "ends_at": (now + timedelta(days=11)).isoformat(),
        "days": 2, "dagdelen": 4, "capacity": capacity, "location": "Brussel", "online_link": None,
        "language": "nl", "price_eur": 40, "reduced_price_eur": 20, "registration_opens_at": None,
        "registration_closes_at": None, "invitation_only": False,
    })["activity_id"]


def registering(n: int) -> dict:
    return {"name": f"Deelnemer {n}", "email": f"deelnemer{n}@example.org", "privacy_consent": True}


def count(database, table) -> int:
    with database.read() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_register_confirms_until_the_activity_is_full_then_waitlists(service, committed):
    activity_id = an_activity(service, capacity=2)
    results = [service.register(activity_id, registering(n)) for n in range(4)]

    assert [(r["status"], r["waitlist_position"]) for r in results] == [
        ("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2)]
    assert [e["status"] for e in committed.of("registration.created")] == [
        "confirmed", "confirmed", "waitlisted", "waitlisted"]
    seats = service.get_activity(activity_id)["seats"]
    assert (seats["confirmed"], seats["waitlisted"], seats["available"]) == (2, 2, 0)


def test_the_same_person_registering_twice_is_refused_and_nothing_is_written(service, committed, database):
    activity_id = an_activity(service, capacity=5)
    service.register(activity_id, registering(1))
    before = (count(database, persons), count(database, registrations), len(committed))

    with pytest.raises(Conflict):
        service.register(activity_id, {**registering(1), "name": "Deelnemer 1 again"})

    assert (count(database, persons), count(database, registrations), len(committed)) == before
    assert service.get_activity(activity_id)["seats"]["confirmed"] == 1


def test_a_turn_of_registrations_is_decided_in_order_in_one_transaction(service, committed, database):
    activity_id = an_activity(service, capacity=2)
    load = RegistrationRequestSchema().load
    items = [(load(registering(n)), n == 3) for n in range(4)]
    commits = []
    database.on_commit.append(commits.append)

    answers = service._register_turn(activity_id, items)

    assert [(a["status"], a["waitlist_position"]) for a in answers] == [
        ("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2)]
    assert len(commits) == 1 and len(commits[0]) == 4  # one transaction, its four events
    assert [("activity" in a) for a in answers] == [False, False, False, True]
    assert answers[3]["activity"]["seats"] == {"confirmed": 2, "waitlisted": 2, "available": 0}
    assert [e["status"] for e in committed.of("registration.created")] == [
        "confirmed", "confirmed", "waitlisted", "waitlisted"]


def test_a_turn_finds_the_people_known_before_and_creates_the_others_once(service, database):
    first, second = an_activity(service, capacity=5), an_activity(service, capacity=5)
    known = service.register(first, registering(1))
    load = RegistrationRequestSchema().load
    items = [(load({**registering(1), "name": "Deelnemer Een"}), False), (load(registering(2)), False)]

    answers = service._register_turn(second, items)

    assert [a["status"] for a in answers] == ["confirmed", "confirmed"]
    assert count(database, persons) == 2
    with database.read() as session:
        names = dict(session.execute(select(registrations.c.registration_id, persons.c.name).join(
            persons, persons.c.person_id == registrations.c.person_id)).all())
    assert names[known["registration_id"]] == names[answers[0]["registration_id"]] == "Deelnemer Een"


def test_a_turn_with_a_failure_gives_everyone_the_answer_they_would_have_had_alone(service, committed, database):
    activity_id = an_activity(service, capacity=2)
    service.register(activity_id, registering(1))
    load = RegistrationRequestSchema().load
    # person 1 again (already registered), person 2, person 2 again within the turn, person 3
    items = [(load(registering(n)), False) for n in (1, 2, 2, 3)]

    answers = service._register_turn(activity_id, items)

    assert [type(a).__name__ if isinstance(a, Exception) else (a["status"], a["waitlist_position"])
            for a in answers] == ["Conflict", ("confirmed", None), "Conflict", ("waitlisted", 1)]
    assert count(database, registrations) == 3
    seats = service.get_activity(activity_id)["seats"]
    assert (seats["confirmed"], seats["waitlisted"]) == (2, 1)
    assert len(committed.of("registration.created")) == 3


def test_cancelling_a_confirmed_registration_promotes_the_first_on_the_waitlist(service, committed):
    activity_id = an_activity(service, capacity=1)
    first, second, third = (service.register(activity_id, registering(n)) for n in range(3))

    cancelled = service.cancel_registration(first["registration_id"])

    assert cancelled["status"] == "cancelled"
    assert committed.of("registration.cancelled") == [
        {"registration_id": first["registration_id"], "activity_id": activity_id, "cancelled_by": "staff"}]
    assert committed.of("registration.confirmed") == [
        {"registration_id": second["registration_id"], "activity_id": activity_id}]
    statuses = {r["registration_id"]: (r["status"], r["waitlist_position"])
                for r in service.list_registrations(activity_id)}
    assert statuses == {first["registration_id"]: ("cancelled", None),
                        second["registration_id"]: ("confirmed", None),
                        third["registration_id"]: ("waitlisted", 1)}


def test_a_participant_cancels_with_the_token_of_their_link(service, committed):
    activity_id = an_activity(service, capacity=1)
    first = service.register(activity_id, registering(1))
    service.register(activity_id, registering(2))

    view = service.cancel_registration_by_token(first["cancel_token"])

    assert (view["registration_id"], view["status"]) == (first["registration_id"], "cancelled")
    assert committed.of("registration.cancelled")[0]["cancelled_by"] == "participant"
    assert len(committed.of("registration.confirmed")) == 1
