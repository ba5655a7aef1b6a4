"""Business outcome labels come from a fixed vocabulary, never from the event's ids."""
from kernel.metrics import business_outcome


def test_registration_outcome_follows_the_status():
    assert business_outcome("registration.created", {"status": "waitlisted", "person_id": "p1"}) == (
        "registration", "waitlisted")
    assert business_outcome("registration.created", {"status": "confirmed"}) == ("registration", "confirmed")
    assert business_outcome("registration.created", {"status": "<script>"}) == ("registration", "created")


def test_other_outcomes_and_events_that_are_none():
    assert business_outcome("request.declined", {"request_id": "r1", "reason": "other"}) == ("request", "declined")
    assert business_outcome("evaluation.submitted", {"satisfaction": 9}) == ("evaluation", "submitted")
    assert business_outcome("organisation.registered", {"organisation_id": "o1"}) is None
    assert business_outcome("person.erased", {"person_id": "p1"}) is None
