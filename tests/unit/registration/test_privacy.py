"""Erasing a person in the registration domain (GDPR): what goes, what stays, idempotence."""
from datetime import timedelta

import pytest

from services.registration import domain
from services.registration.domain import Activity, Person
from tests.unit.registration.test_domain import NOW, POLICY

LATER = NOW + timedelta(days=20)
NEEDS = {"accessibility": True, "sign_language_interpreter": True, "childcare": False,
         "dietary": "geen noten", "other": "Ann Peeters heeft een rolstoel"}
BEGELEIDER = {"name": "Bert Begeleider", "email": "Bert@Example.org"}


def activity() -> Activity:
    return Activity.schedule({
        "title": "Vorming", "kind": "vorming", "theme": "vrijwilligers", "goal": "SD1.OD4", "format": "offline",
        "starts_at": NOW + timedelta(days=10), "ends_at": NOW + timedelta(days=11), "days": 2, "dagdelen": 4,
        "capacity": 10, "location": "Brussel",
    }, NOW)


def registered(**kwargs):
    act = activity()
    who = Person.new(domain.person_identity("Ann Peeters", "Ann@Example.org"), "Ann Peeters", "Ann@Example.org", NOW)
    profile = domain.profile_without_organisation("informal_initiative", POLICY)
    new = act.register(who, profile, NOW, role="vrijwilliger", language="fr", needs=NEEDS, begeleider=BEGELEIDER)
    act.record_attendance(new.registration, 2, NOW + timedelta(days=10, hours=1))
    return act, who, new.registration


def facts(registration) -> tuple:
    """Everything any figure is counted from."""
    return (registration.registration_id, registration.activity_id, registration.person_id,
            registration.organisation_id, registration.org_type, registration.recognised,
            registration.target_group, registration.role, registration.language, registration.status,
            registration.waitlist_seq, registration.days_attended, registration.attendance_recorded_at,
            registration.cancelled_by, registration.cancelled_at, registration.created_at,
            registration.cancel_token_hash)


def test_identity_keys_of_an_address_cover_participant_and_begeleider():
    own, accompanied = domain.identity_keys_for("  Ann@Example.ORG ")
    assert own == domain.person_identity("Ann", "ann@example.org") == "email:ann@example.org"
    assert domain.person_identity("Cas", None, "ANN@example.org").startswith(accompanied)
    assert not domain.person_identity("Cas", None, "anne@example.org").startswith(accompanied)


def test_erasing_anonymises_the_person_and_strips_their_registrations_but_keeps_the_facts():
    _, who, registration = registered()
    kept = facts(registration)
    assert domain.erase_person(who, [registration], LATER) is True
    assert (who.name, who.email) == ("erased", None)
    assert who.identity_key == f"erased:{who.person_id}" and domain.is_erased(who)
    assert "ann" not in who.identity_key.lower()
    assert registration.needs == {"accessibility": False, "sign_language_interpreter": False, "childcare": False,
                                  "dietary": None, "other": None}
    assert (registration.begeleider_name, registration.begeleider_email) == (None, None)
    assert facts(registration) == kept
    assert (who.updated_at, registration.updated_at) == (LATER, LATER)


def test_erasing_twice_changes_nothing_more_and_says_so():
    _, who, registration = registered()
    domain.erase_person(who, [registration], LATER)
    state = (who.name, who.email, who.identity_key, who.updated_at, dict(registration.needs),
             registration.updated_at, facts(registration))
    assert domain.erase_person(who, [registration], LATER + timedelta(days=1)) is False
    assert (who.name, who.email, who.identity_key, who.updated_at, dict(registration.needs),
            registration.updated_at, facts(registration)) == state


def test_the_same_address_later_makes_a_new_identity():
    _, who, registration = registered()
    domain.erase_person(who, [registration], LATER)
    assert domain.person_identity("Ann Peeters", "ann@example.org") != who.identity_key


def test_registrations_of_someone_else_are_refused():
    _, who, registration = registered()
    other = Person.new("email:x@example.org", "X", "x@example.org", NOW)
    with pytest.raises(ValueError):
        domain.erase_person(other, [registration], LATER)
    assert who.name == "Ann Peeters" and registration.begeleider_email == "bert@example.org"


def test_a_begeleider_is_forgotten_without_touching_the_participant():
    _, who, registration = registered()
    kept = (facts(registration), dict(registration.needs), who.name, who.email)
    assert domain.forget_begeleider(registration, LATER) is True
    assert (registration.begeleider_name, registration.begeleider_email) == (None, None)
    assert (facts(registration), dict(registration.needs), who.name, who.email) == kept
    assert domain.forget_begeleider(registration, LATER) is False
