"""The registration service over a real RabbitMQ: RPCs, their events (envelope and
exact contract fields), refused input that writes nothing, and state conflicts."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kernel.tables import outbox
from services.registration.domain import hash_token
from services.registration.models import activities, organisations, persons, registrations
from tests.helpers import contract_data
from tests.integration.registration.conftest import activity_payload, iso, registration_payload


def assert_contract(event: dict) -> dict:
    """The envelope is valid and `data` has exactly the contract's fields."""
    return contract_data(event, "registration")


def row_counts(engine) -> dict:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar()
            for table in (organisations, activities, persons, registrations, outbox)
        }


# --- organisations -----------------------------------------------------------------------------------------


def test_organisations_directory_and_events(rpc, events):
    created = rpc.create_organisation({"name": "Vormingplus Oost", "org_type": "landelijke_vormingsinstelling",
                                       "recognised": True})
    other = rpc.create_organisation({"name": "buurtwerking De Kaai", "org_type": "civiel_scw", "recognised": False})
    assert created["target_group"] == "primary" and other["target_group"] == "secondary"
    assert created["created_at"].endswith("+00:00")

    updated = rpc.update_organisation(other["organisation_id"], {"recognised": True, "name": "Buurtwerking De Kaai"})
    assert (updated["recognised"], updated["target_group"], updated["org_type"]) == (True, "primary", "civiel_scw")
    assert rpc.get_organisation(created["organisation_id"]) == created
    assert [o["name"] for o in rpc.list_organisations()] == ["Buurtwerking De Kaai", "Vormingplus Oost"]

    registered = events.wait("organisation.registered", 2)
    data = [assert_contract(e) for e in registered]
    assert data[0] == {"organisation_id": created["organisation_id"], "org_type": "landelijke_vormingsinstelling",
                       "recognised": True, "target_group": "primary"}
    (update_event,) = events.wait("organisation.updated")
    assert assert_contract(update_event) == {"organisation_id": other["organisation_id"], "org_type": "civiel_scw",
                                             "recognised": True, "target_group": "primary"}


def test_organisation_input_is_checked_and_nothing_written(rpc, db_engine):
    before = row_counts(db_engine)
    with pytest.raises(ValidationFailed) as caught:
        rpc.create_organisation({"name": " ", "org_type": "club", "recognised": "maybe", "vat": "BE0123"})
    assert set(caught.value.details) == {"name", "org_type", "recognised", "vat"}
    with pytest.raises(ValidationFailed):
        rpc.create_organisation("not an object")
    with pytest.raises(NotFound):
        rpc.update_organisation("nope", {"name": "x"})
    with pytest.raises(NotFound):
        rpc.get_organisation("nope")
    assert row_counts(db_engine) == before


def test_org_type_target_group_policy_from_config(reg_config, container_factory, events):
    from nameko.standalone.rpc import ServiceRpcProxy

    from services.registration.service import RegistrationService

    reg_config["REGISTRATION"] = {"TARGET_GROUP_POLICY": "org_type", "PRIMARY_ORG_TYPES": ["vereniging"]}
    container_factory(RegistrationService, reg_config).start()
    with ServiceRpcProxy("registration", reg_config) as rpc:
        assert rpc.create_organisation({"name": "A", "org_type": "vereniging", "recognised": False})[
            "target_group"] == "primary"
        assert rpc.create_organisation({"name": "B", "org_type": "beweging", "recognised": True})[
            "target_group"] == "secondary"


# --- activities --------------------------------------------------------------------------------------------


def test_activity_lifecycle_events_and_views(rpc, events):
    created = rpc.create_activity(activity_payload(capacity=1))
    activity_id = created["activity_id"]
    assert created["status"] == "scheduled" and created["invitation_code"] is None
    assert created["seats"] == {"confirmed": 0, "waitlisted": 0, "available": 1}
    assert created["price_eur"] == 40.0 and created["reduced_price_eur"] == 20.0
    assert created["registration_open"] is True
    assert rpc.get_activity(activity_id) == created
    (scheduled,) = events.wait("activity.scheduled")
    data = assert_contract(scheduled)
    assert data["activity_id"] == activity_id and data["capacity"] == 1 and data["goal"] == "SD1.OD4"
    assert datetime.fromisoformat(data["starts_at"]) == datetime.fromisoformat(created["starts_at"])

    first = rpc.register(activity_id, registration_payload(1))
    second = rpc.register(activity_id, registration_payload(2))
    assert (first["status"], second["status"], second["waitlist_position"]) == ("confirmed", "waitlisted", 1)
    assert "waitlist" in second["message"]

    updated = rpc.update_activity(activity_id, {"capacity": 2, "title": "Vorming (herneming)"})
    assert updated["title"] == "Vorming (herneming)"
    assert updated["seats"] == {"confirmed": 2, "waitlisted": 0, "available": 0}
    assert assert_contract(events.wait("activity.updated")[0])["capacity"] == 2
    (promoted,) = events.wait("registration.confirmed")
    assert assert_contract(promoted) == {"registration_id": second["registration_id"], "activity_id": activity_id}

    cancelled = rpc.cancel_activity(activity_id, "te weinig inschrijvingen")
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "te weinig inschrijvingen"
    (cancel_event,) = events.wait("activity.cancelled")
    assert assert_contract(cancel_event) == {"activity_id": activity_id, "reason": "te weinig inschrijvingen"}
    system = events.wait("registration.cancelled", 2)
    assert {assert_contract(e)["registration_id"] for e in system} == {
        first["registration_id"], second["registration_id"]}
    assert {e["data"]["cancelled_by"] for e in system} == {"system"}

    with pytest.raises(Conflict):
        rpc.update_activity(activity_id, {"title": "x"})
    with pytest.raises(Conflict):
        rpc.cancel_activity(activity_id, "again")
    with pytest.raises(Conflict):
        rpc.complete_activity(activity_id)
    with pytest.raises(Conflict) as closed:
        rpc.register(activity_id, registration_payload(3))
    assert "registration closed" in closed.value.message


def test_attendance_and_completion(rpc, events):
    now = datetime.now(UTC)
    started = rpc.create_activity(activity_payload(
        starts_at=iso(now - timedelta(hours=1)), ends_at=iso(now + timedelta(hours=7)), days=1, dagdelen=2,
        registration_closes_at=iso(now + timedelta(hours=7)),
    ))
    activity_id = started["activity_id"]
    org = rpc.create_organisation({"name": "Vereniging X", "org_type": "vereniging", "recognised": True})
    reg = rpc.register(activity_id, registration_payload(1, organisation_id=org["organisation_id"], role="bestuurder"))

    with pytest.raises(ValidationFailed) as caught:
        rpc.record_attendance(reg["registration_id"], 2)  # the activity has 1 day
    assert set(caught.value.details) == {"days_attended"}
    with pytest.raises(ValidationFailed):
        rpc.record_attendance(reg["registration_id"], "one")
    with pytest.raises(NotFound):
        rpc.record_attendance("nope", 1)
    recorded = rpc.record_attendance(reg["registration_id"], 1)
    assert recorded["days_attended"] == 1

    (attendance,) = events.wait("attendance.recorded")
    created_event = events.wait("registration.created")[0]
    assert assert_contract(attendance) == {
        "registration_id": reg["registration_id"], "activity_id": activity_id,
        "person_id": created_event["data"]["person_id"], "organisation_id": org["organisation_id"],
        "org_type": "vereniging", "recognised": True, "target_group": "primary", "role": "bestuurder",
        "days_attended": 1,
    }
    completed = rpc.complete_activity(activity_id)
    assert completed["status"] == "completed"
    assert assert_contract(events.wait("activity.completed")[0]) == {"activity_id": activity_id}

    future = rpc.create_activity(activity_payload())
    with pytest.raises(Conflict):
        rpc.complete_activity(future["activity_id"])  # has not started


def test_activity_input_is_checked_and_nothing_written(rpc, db_engine, events):
    before = row_counts(db_engine)
    with pytest.raises(ValidationFailed) as caught:
        rpc.create_activity(activity_payload(kind="feest", format="radio", days=0, starts_at="morgen",
                                             price_eur=-1, capacity="veel", language="de"))
    assert set(caught.value.details) >= {"kind", "format", "days", "starts_at", "price_eur", "capacity", "language"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.create_activity(activity_payload(format="online", online_link=None, reduced_price_eur=100))
    assert set(caught.value.details) == {"online_link", "reduced_price_eur"}
    with pytest.raises(ValidationFailed) as caught:
        payload = activity_payload()
        del payload["title"]
        rpc.create_activity(payload)
    assert set(caught.value.details) == {"title"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.create_activity(activity_payload(starts_at="2026-05-01T09:00:00"))  # naive
    assert set(caught.value.details) == {"starts_at"}
    assert row_counts(db_engine) == before

    activity_id = rpc.create_activity(activity_payload())["activity_id"]
    before = row_counts(db_engine)
    with pytest.raises(ValidationFailed) as caught:
        rpc.update_activity(activity_id, {"ends_at": iso(datetime.now(UTC) - timedelta(days=30))})
    assert set(caught.value.details) == {"ends_at"}
    with pytest.raises(ValidationFailed):
        rpc.update_activity(activity_id, {})
    with pytest.raises(ValidationFailed) as caught:
        rpc.cancel_activity(activity_id, "  ")
    assert set(caught.value.details) == {"reason"}
    for call in (lambda: rpc.get_activity("nope"), lambda: rpc.update_activity("nope", {"title": "x"}),
                 lambda: rpc.cancel_activity("nope", "x"), lambda: rpc.complete_activity("nope"),
                 lambda: rpc.list_registrations("nope"), lambda: rpc.get_public_activity("nope")):
        with pytest.raises(NotFound):
            call()
    assert row_counts(db_engine) == before
    assert rpc.get_activity(activity_id)["status"] == "scheduled"


def test_an_activity_created_with_a_chosen_id_is_created_once(rpc, db_engine, events):
    chosen = "6f1c2a7e-3b8d-4c1e-9a55-0d2f4e6b8c10"
    first = rpc.create_activity(activity_payload(), activity_id=chosen)
    again = rpc.create_activity(activity_payload(title="A second submit"), activity_id=chosen)
    assert first["activity_id"] == again["activity_id"] == chosen
    assert again["title"] == first["title"]
    assert row_counts(db_engine)["activities"] == 1
    events.wait("activity.scheduled")
    assert [e["event_type"] for e in events.settle()].count("activity.scheduled") == 1
    with pytest.raises(ValidationFailed) as caught:
        rpc.create_activity(activity_payload(), activity_id="not-a-uuid")
    assert set(caught.value.details) == {"activity_id"}


def test_public_views(rpc):
    now = datetime.now(UTC)
    public = rpc.create_activity(activity_payload(title="Open"))
    invite = rpc.create_activity(activity_payload(title="Gesloten groep", invitation_only=True))
    ended = rpc.create_activity(activity_payload(
        title="Voorbij", starts_at=iso(now - timedelta(days=3)), ends_at=iso(now - timedelta(days=2))))
    cancelled = rpc.create_activity(activity_payload(title="Afgelast"))
    rpc.cancel_activity(cancelled["activity_id"], "trainer ziek")
    assert invite["invitation_code"]

    listed = rpc.list_public_activities()
    assert [a["activity_id"] for a in listed] == [public["activity_id"]]
    assert "invitation_code" not in listed[0] and "online_link" not in listed[0]
    assert listed[0]["registration_open"] is True and listed[0]["seats"]["available"] == 30
    assert listed[0]["registration_closes_at"] == listed[0]["starts_at"]
    assert {a["activity_id"] for a in rpc.list_activities()} == {
        a["activity_id"] for a in (public, invite, ended, cancelled)}

    with pytest.raises(Forbidden):
        rpc.get_public_activity(invite["activity_id"])
    with pytest.raises(Forbidden):
        rpc.get_public_activity(invite["activity_id"], invitation_code="guess")
    shown = rpc.get_public_activity(invite["activity_id"], invitation_code=invite["invitation_code"])
    assert shown["title"] == "Gesloten groep" and "invitation_code" not in shown
    with pytest.raises(Forbidden):
        rpc.register(invite["activity_id"], registration_payload(1))
    ok = rpc.register(invite["activity_id"], registration_payload(1, invitation_code=invite["invitation_code"]))
    assert ok["status"] == "confirmed"


# --- registrations -----------------------------------------------------------------------------------------


def test_register_event_and_staff_list(rpc, events, db_engine):
    activity_id = rpc.create_activity(activity_payload(capacity=5))["activity_id"]
    result = rpc.register(activity_id, registration_payload(1, email="  An.Peeters@Example.ORG "))
    assert set(result) == {"registration_id", "activity_id", "status", "waitlist_position", "cancel_token", "message"}
    assert (result["status"], result["waitlist_position"]) == ("confirmed", None)

    (created,) = events.wait("registration.created")
    data = assert_contract(created)
    assert data == {"registration_id": result["registration_id"], "activity_id": activity_id,
                    "person_id": data["person_id"], "organisation_id": None, "org_type": "individu",
                    "recognised": False, "target_group": "secondary", "role": "vrijwilliger", "status": "confirmed"}
    assert "example.org" not in str(created).lower() and "Deelnemer" not in str(created)

    # the same person (normalised email) cannot register twice
    with pytest.raises(Conflict) as duplicate:
        rpc.register(activity_id, registration_payload("x", email="an.peeters@example.org"))
    assert duplicate.value.details == {"reason": "duplicate"}

    # a begeleider registers someone without an email address; an informal initiative
    helped = rpc.register(activity_id, registration_payload(
        2, email=None, name="Jan  Janssens", organisation_kind="informal_initiative", role=None,
        begeleider={"name": "Coach", "email": "coach@example.org"}))
    with pytest.raises(Conflict):
        rpc.register(activity_id, registration_payload(
            3, email=None, name="jan janssens", begeleider={"name": "Coach", "email": "COACH@example.org"}))
    other = rpc.register(activity_id, registration_payload(
        4, email=None, name="Piet", begeleider={"name": "Coach", "email": "coach@example.org"}))
    assert other["status"] == "confirmed"
    second = events.wait("registration.created", 3)[1]["data"]
    assert (second["org_type"], second["organisation_id"], second["role"]) == ("civiel_scw", None, None)

    listed = {r["registration_id"]: r for r in rpc.list_registrations(activity_id)}
    an = listed[result["registration_id"]]
    assert (an["name"], an["email"], an["status"], an["begeleider"]) == (
        "Deelnemer 1", "an.peeters@example.org", "confirmed", None)
    assert an["needs"] == {"accessibility": False, "sign_language_interpreter": True, "childcare": False,
                           "dietary": "vegetarisch", "other": None}
    jan = listed[helped["registration_id"]]
    assert jan["email"] is None and jan["begeleider"] == {"name": "Coach", "email": "coach@example.org"}

    # only the hash of the cancel token is stored
    with db_engine.connect() as connection:
        stored = connection.execute(
            select(registrations.c.cancel_token_hash)
            .where(registrations.c.registration_id == result["registration_id"])
        ).scalar()
        assert stored == hash_token(result["cancel_token"])
        assert result["cancel_token"] not in str(connection.execute(select(registrations)).all())


def test_registration_input_is_checked_and_nothing_written(rpc, db_engine):
    activity_id = rpc.create_activity(activity_payload())["activity_id"]
    before = row_counts(db_engine)
    with pytest.raises(ValidationFailed) as caught:
        rpc.register(activity_id, {"name": "", "email": "geen-adres", "role": "baas", "language": "de",
                                   "privacy_consent": False, "needs": {"childcare": "soms"},
                                   "id_card_number": "591-1234567-89"})
    assert set(caught.value.details) == {
        "name", "email", "role", "language", "privacy_consent", "needs.childcare", "id_card_number"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.register(activity_id, registration_payload(1, email=None))
    assert set(caught.value.details) == {"email"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.register(activity_id, registration_payload(1, begeleider={"name": "", "email": "x"}))
    assert set(caught.value.details) == {"begeleider.name", "begeleider.email"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.register(activity_id, registration_payload(1, organisation_id="unknown-org"))
    assert set(caught.value.details) == {"organisation_id"}
    payload = registration_payload(1)
    del payload["privacy_consent"]
    with pytest.raises(ValidationFailed) as caught:
        rpc.register(activity_id, payload)
    assert set(caught.value.details) == {"privacy_consent"}
    with pytest.raises(NotFound):
        rpc.register("no-such-activity", registration_payload(1))
    assert row_counts(db_engine) == before


def test_registration_window(rpc, db_engine):
    now = datetime.now(UTC)
    later = rpc.create_activity(activity_payload(registration_opens_at=iso(now + timedelta(days=2))))
    assert later["registration_open"] is False
    before = row_counts(db_engine)
    with pytest.raises(Conflict) as caught:
        rpc.register(later["activity_id"], registration_payload(1))
    assert "registration closed" in caught.value.message and caught.value.details == {
        "reason": "registration_closed"}
    assert row_counts(db_engine) == before


def test_cancellation_by_token_promotes_the_first_waitlisted(rpc, events):
    activity_id = rpc.create_activity(activity_payload(capacity=1))["activity_id"]
    first, second, third = (rpc.register(activity_id, registration_payload(i)) for i in range(3))
    assert [r["waitlist_position"] for r in (first, second, third)] == [None, 1, 2]

    seen = rpc.get_registration_by_token(first["cancel_token"])
    assert seen["status"] == "confirmed" and seen["activity_title"] == "Vorming vrijwilligersbeleid"
    assert set(seen) >= {"registration_id", "activity_id", "activity_title", "status", "starts_at"}

    cancelled = rpc.cancel_registration_by_token(first["cancel_token"])
    assert cancelled["status"] == "cancelled"
    (cancel_event,) = events.wait("registration.cancelled")
    assert assert_contract(cancel_event) == {"registration_id": first["registration_id"],
                                             "activity_id": activity_id, "cancelled_by": "participant"}
    (confirmed,) = events.wait("registration.confirmed")
    assert assert_contract(confirmed) == {"registration_id": second["registration_id"], "activity_id": activity_id}
    assert rpc.get_registration_by_token(second["cancel_token"])["status"] == "confirmed"
    assert rpc.get_registration_by_token(third["cancel_token"])["waitlist_position"] == 1
    with pytest.raises(Conflict):
        rpc.cancel_registration_by_token(first["cancel_token"])
    with pytest.raises(NotFound):
        rpc.get_registration_by_token("not-a-token")
    with pytest.raises(NotFound):
        rpc.cancel_registration_by_token("not-a-token")

    # staff cancel the waitlisted one: nobody promoted
    staff = rpc.cancel_registration(third["registration_id"])
    assert staff["status"] == "cancelled" and staff["cancelled_by"] == "staff"
    assert events.wait("registration.cancelled", 2)[1]["data"]["cancelled_by"] == "staff"
    with pytest.raises(Conflict):
        rpc.cancel_registration(third["registration_id"])
    with pytest.raises(NotFound):
        rpc.cancel_registration("nope")
    assert len(events.settle(0.3)) == len(events.poll())
    assert len(events.of_type("registration.confirmed")) == 1
