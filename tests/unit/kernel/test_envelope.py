"""The envelope and contract schemas (no broker, no database)."""
import uuid
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from kernel.contract import DATA_SCHEMAS
from kernel.envelope import new_event, validate_received

REGISTRATION_CREATED = {
    "registration_id": "r1",
    "activity_id": "a1",
    "person_id": "p1",
    "organisation_id": None,
    "org_type": "individu",
    "recognised": False,
    "target_group": "secondary",
    "role": None,
    "status": "waitlisted",
}


def test_new_event_has_the_design_envelope():
    event = new_event("registration", "registration.created", REGISTRATION_CREATED)
    assert set(event) == {"event_id", "event_type", "schema_version", "occurred_at", "producer", "data"}
    assert uuid.UUID(event["event_id"]).version == 4
    assert event["schema_version"] == 1
    assert event["producer"] == "registration"
    assert datetime.fromisoformat(event["occurred_at"]).tzinfo is not None
    assert event["data"] == REGISTRATION_CREATED


def test_datetimes_in_data_travel_as_iso_strings():
    event = new_event(
        "registration",
        "activity.scheduled",
        {
            "activity_id": "a1", "kind": "vorming", "theme": "t", "goal": "SD1.OD4", "format": "blended",
            "starts_at": datetime(2026, 3, 1, 9, tzinfo=timezone.utc),
            "ends_at": datetime(2026, 3, 1, 17, tzinfo=timezone.utc),
            "days": 1, "dagdelen": 2, "capacity": 20,
        },
    )
    assert event["data"]["starts_at"] == "2026-03-01T09:00:00+00:00"


def test_a_field_outside_the_contract_never_leaves_the_producer():
    with pytest.raises(ValidationError) as raised:
        new_event("registration", "registration.created", {**REGISTRATION_CREATED, "email": "x@example.org"})
    assert "email" in raised.value.messages["data"]


def test_missing_and_invalid_data_fields_are_refused():
    data = {**REGISTRATION_CREATED, "status": "maybe"}
    del data["person_id"]
    with pytest.raises(ValidationError) as raised:
        new_event("registration", "registration.created", data)
    assert set(raised.value.messages["data"]) == {"status", "person_id"}


def test_a_service_cannot_emit_another_services_events():
    with pytest.raises(ValidationError) as raised:
        new_event("evaluation", "registration.created", REGISTRATION_CREATED)
    assert "event_type" in raised.value.messages


def test_received_events_may_carry_fields_added_later():
    event = new_event("registration", "registration.created", REGISTRATION_CREATED)
    event["data"]["added_in_a_later_version"] = 1
    assert validate_received(event) is event


@pytest.mark.parametrize(
    "broken",
    [
        {"event_id": "nope"},
        {"schema_version": 2},
        {"occurred_at": "2026-03-01T09:00:00"},  # no offset
        {"event_type": "registration.exploded"},
        {"producer": "someone"},
        {"data": {"registration_id": "r1"}},
    ],
)
def test_received_envelopes_are_validated(broken):
    event = {**new_event("registration", "registration.created", REGISTRATION_CREATED), **broken}
    with pytest.raises(ValidationError):
        validate_received(event)


def test_every_contract_event_has_a_schema():
    # DESIGN.md's 21, and the added evaluation.reminded, .midway_requested, .midway_submitted, request.overdue,
    # request.requester_erased
    assert len(DATA_SCHEMAS) == 26
