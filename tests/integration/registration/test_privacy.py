"""Export and erasure of a person in the registration service (GDPR), over the real
RabbitMQ, on SQLite and PostgreSQL: found by address as participant or as begeleider, exported in
full, erased in one unit of work with one `person.erased`, idempotent, and no figure's facts touched."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kernel.errors import NotFound, ValidationFailed
from kernel.tables import outbox
from services.registration.models import persons, registrations
from tests.integration.privacy.support import personal_hits
from tests.integration.registration.conftest import activity_payload, iso, registration_payload

ANN = {"name": "Ann Peeters", "email": "Ann.Peeters@Example.org"}
BERT = {"name": "Bert Begeleider", "email": "bert.begeleider@example.org"}
NEEDS = {"accessibility": True, "sign_language_interpreter": True, "childcare": False,
         "dietary": "zonder noten", "other": "Ann gebruikt een rolstoel"}
FACTS = ("registration_id", "activity_id", "person_id", "organisation_id", "org_type", "recognised", "target_group",
         "role", "language", "status", "waitlist_seq", "cancel_token_hash", "cancelled_by", "cancelled_at",
         "days_attended", "attendance_recorded_at", "created_at")


def facts(engine) -> list[tuple]:
    """Every registration's facts (what any figure is counted from)."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(*(registrations.c[name] for name in FACTS)).order_by(registrations.c.registration_id))]


def test_a_person_is_found_exported_and_erased_once(database_backend, rpc, events, db_engine, reg_config):
    now = datetime.now(UTC)
    organisation = rpc.create_organisation({"name": "Vereniging Samen", "org_type": "vereniging", "recognised": True})
    activity = rpc.create_activity(activity_payload(
        title="Vorming: privacy", starts_at=iso(now - timedelta(hours=1)), ends_at=iso(now + timedelta(hours=6)),
        registration_closes_at=iso(now + timedelta(hours=6)), days=1, dagdelen=2))
    activity_id = activity["activity_id"]
    ann = rpc.register(activity_id, registration_payload(
        **ANN, organisation_id=organisation["organisation_id"], needs=NEEDS, begeleider=BERT))
    cas = rpc.register(activity_id, registration_payload(  # no address: identified by Bert's and her name
        name="Cas Janssens", email=None, begeleider={**BERT, "email": BERT["email"].upper()}))
    rpc.register(activity_id, registration_payload(name="Dirk Dries", email="dirk@example.org"))
    rpc.record_attendance(ann["registration_id"], 1)

    (ann_id,) = rpc.find_persons(" ann.peeters@EXAMPLE.org")
    (cas_id,) = rpc.find_persons(BERT["email"])  # Ann has an address of her own
    assert rpc.find_persons("nobody@example.org") == []
    with pytest.raises(ValidationFailed):
        rpc.find_persons("not an address")

    exported = rpc.export_person(ann_id)
    assert exported["person"] == {**exported["person"], "person_id": ann_id, "name": "Ann Peeters",
                                  "email": "ann.peeters@example.org", "identified_by": "email", "erased": False}
    (registration,) = exported["registrations"]
    assert registration["registration_id"] == ann["registration_id"]
    assert registration["activity"]["title"] == "Vorming: privacy"
    assert registration["activity"]["starts_at"] == activity["starts_at"]
    assert registration["organisation"]["name"] == "Vereniging Samen"
    assert registration["needs"] == NEEDS
    assert registration["begeleider"] == BERT
    assert registration["attendance"]["days_attended"] == 1
    assert rpc.export_person(cas_id)["person"]["identified_by"] == "begeleider"
    accompanied = rpc.export_begeleider(BERT["email"])
    assert {r["registration_id"] for r in accompanied} == {ann["registration_id"], cas["registration_id"]}
    assert all(r["begeleider"] == BERT and r["activity"]["title"] == "Vorming: privacy" for r in accompanied)

    before = facts(db_engine)
    assert personal_hits(reg_config["DATABASES"]["registration"], ["Ann Peeters", "ann.peeters", "rolstoel"])

    erased = rpc.erase_person(ann_id)
    assert erased == {**erased, "person_id": ann_id, "erased": True, "already_erased": False, "registrations": 1}
    (event,) = events.wait("person.erased")
    assert (event["event_id"], event["data"]) == (erased["event_id"], {"person_id": ann_id})

    assert personal_hits(reg_config["DATABASES"]["registration"], ["Ann Peeters", "ann.peeters", "rolstoel",
                                                                   "zonder noten"]) == []
    assert facts(db_engine) == before
    with db_engine.connect() as connection:
        person = connection.execute(select(persons).where(persons.c.person_id == ann_id)).mappings().one()
        assert (person["name"], person["email"], person["identity_key"]) == ("erased", None, f"erased:{ann_id}")
        stripped = connection.execute(select(registrations).where(
            registrations.c.registration_id == ann["registration_id"])).mappings().one()
        assert (stripped["begeleider_name"], stripped["begeleider_email"]) == (None, None)
        assert not any(stripped["needs"].values())
    after = rpc.export_person(ann_id)
    assert after["person"]["erased"] and after["person"]["name"] == "erased" and after["person"]["email"] is None
    assert after["registrations"][0]["attendance"]["days_attended"] == 1
    assert after["registrations"][0]["begeleider"] is None
    assert rpc.find_persons(ANN["email"]) == []
    assert rpc.export_person(cas_id)["registrations"][0]["needs"]["sign_language_interpreter"] is True  # untouched

    # again: nothing changes, no second event
    again = rpc.erase_person(ann_id)
    assert again == {**again, "erased": False, "already_erased": True, "event_id": None, "message": "already erased"}
    events.settle(0.5)
    assert [e["data"] for e in events.of_type("person.erased")] == [{"person_id": ann_id}]
    with db_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(outbox)
                                  .where(outbox.c.event_type == "person.erased")).scalar() == 1
    for unknown in ("no-such-person", None, "x" * 100):
        with pytest.raises(NotFound):
            rpc.erase_person(unknown)
        with pytest.raises(NotFound):
            rpc.export_person(unknown)

    # the same address registers again: a new person, not the erased one
    again_registered = rpc.register(activity_id, registration_payload(**ANN))
    (new_id,) = rpc.find_persons(ANN["email"])
    assert new_id != ann_id
    assert rpc.export_person(new_id)["registrations"][0]["registration_id"] == again_registered["registration_id"]

    # the begeleider is forgotten on Cas's registration; Cas keeps her own data
    assert rpc.erase_begeleider(BERT["email"]) == {"registrations": 1}
    assert rpc.export_begeleider(BERT["email"]) == []
    assert rpc.export_person(cas_id)["person"]["name"] == "Cas Janssens"
    assert rpc.erase_begeleider(BERT["email"]) == {"registrations": 0}
