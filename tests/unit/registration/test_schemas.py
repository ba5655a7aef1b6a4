"""Edge cases of the registration input schemas (forms send empty strings)."""
from services.registration.schemas import ActivityInputSchema


def test_empty_optional_texts_mean_none_and_never_crash_the_validators():
    loaded = ActivityInputSchema().load({
        "title": "Vorming", "kind": "vorming", "theme": "t", "format": "offline",
        "starts_at": "2027-03-01T09:00:00+01:00", "ends_at": "2027-03-01T12:00:00+01:00",
        "days": 1, "dagdelen": 1, "online_link": "", "location": "  ", "goal": "",
    })
    assert loaded["online_link"] is None
    assert loaded["location"] is None
    assert loaded["goal"] is None


def test_a_real_value_is_still_validated():
    errors = ActivityInputSchema().validate({
        "title": "Vorming", "kind": "vorming", "theme": "t", "format": "online",
        "starts_at": "2027-03-01T09:00:00+01:00", "ends_at": "2027-03-01T12:00:00+01:00",
        "days": 1, "dagdelen": 1, "online_link": "not a url", "goal": "whatever",
    })
    assert set(errors) == {"online_link", "goal"}
