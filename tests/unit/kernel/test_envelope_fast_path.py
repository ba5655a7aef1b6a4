"""The envelope's fast path never accepts what the marshmallow schemas refuse (and takes the usual events)."""
import copy
from datetime import datetime

import pytest
from marshmallow import INCLUDE, RAISE

from kernel import envelope
from kernel.envelope import new_event

BASE = new_event("registration", "registration.created", {
    "registration_id": "r1", "activity_id": "a1", "person_id": "p1", "organisation_id": "o1",
    "org_type": "vereniging", "recognised": True, "target_group": "primary", "role": None, "status": "confirmed",
})
SCHEDULED = new_event("registration", "activity.scheduled", {
    "activity_id": "a1", "kind": "vorming", "theme": "t", "goal": None, "format": "online",
    "starts_at": datetime.fromisoformat("2026-03-01T09:00:00+01:00"),
    "ends_at": datetime.fromisoformat("2026-03-01T17:00:00+01:00"), "days": 1, "dagdelen": 2,
    "capacity": None,
})
SUBMITTED = new_event("evaluation", "evaluation.submitted", {
    "evaluation_id": "e1", "registration_id": "r1", "activity_id": "a1", "satisfaction": 8, "recommend": 10,
    "has_comment": False,
})


def _variants():
    def changed(event, path, value, delete=False):
        event = copy.deepcopy(event)
        target = event
        for key in path[:-1]:
            target = target[key]
        if delete:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
        return event

    broken = [
        (BASE, ("event_id",), "nope"), (BASE, ("event_id",), 5), (BASE, ("schema_version",), 2),
        (BASE, ("schema_version",), True), (BASE, ("schema_version",), "1"),
        (BASE, ("occurred_at",), "2026-03-01T09:00:00"),
        (BASE, ("occurred_at",), "yesterday"), (BASE, ("occurred_at",), None), (BASE, ("event_type",), "x.y"),
        (BASE, ("producer",), "evaluation"), (BASE, ("producer",), "someone"), (BASE, ("data",), []),
        (BASE, ("extra",), 1), (BASE, ("data", "recognised"), "yes"), (BASE, ("data", "recognised"), 1),
        (BASE, ("data", "status"), "maybe"), (BASE, ("data", "registration_id"), ""),
        (BASE, ("data", "registration_id"), "x" * 65), (BASE, ("data", "registration_id"), None),
        (BASE, ("data", "organisation_id"), None), (BASE, ("data", "added_later"), 1), (BASE, ("data", "person_id"), 7),
        (SCHEDULED, ("data", "days"), 0), (SCHEDULED, ("data", "days"), True), (SCHEDULED, ("data", "days"), 1.0),
        (SCHEDULED, ("data", "days"), "2"), (SCHEDULED, ("data", "starts_at"), "2026-03-01T09:00:00"),
        (SCHEDULED, ("data", "starts_at"), "2026-13-01T09:00:00+00:00"), (SCHEDULED, ("data", "capacity"), -1),
        (SCHEDULED, ("data", "format"), "paper"), (SCHEDULED, ("data", "goal"), "g" * 41),
        (SUBMITTED, ("data", "satisfaction"), 11), (SUBMITTED, ("data", "recommend"), -1),
        (SUBMITTED, ("data", "has_comment"), None),
    ]
    out = [copy.deepcopy(BASE), copy.deepcopy(SCHEDULED), copy.deepcopy(SUBMITTED)]
    out += [changed(event, path, value) for event, path, value in broken]
    out += [changed(event, path, None, delete=True) for event, path, _ in broken]
    return out


@pytest.mark.parametrize("unknown", [RAISE, INCLUDE])
@pytest.mark.parametrize("payload", _variants())
def test_the_fast_path_agrees_with_marshmallow(payload, unknown):
    schema = envelope._data_schemas[unknown].get(payload.get("event_type"))
    marshmallow_valid = not envelope._envelope.validate(payload) and (
        schema is not None and isinstance(payload.get("data"), dict) and not schema.validate(payload["data"]))
    if envelope._surely_valid(payload, unknown):
        assert marshmallow_valid


@pytest.mark.parametrize("payload", [BASE, SCHEDULED, SUBMITTED])
def test_ordinary_events_take_the_fast_path(payload):
    assert envelope._surely_valid(payload, RAISE) and envelope._surely_valid(payload, INCLUDE)
