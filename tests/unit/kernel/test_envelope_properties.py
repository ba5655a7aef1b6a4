"""Property tests (hypothesis) of the event contract: for every event type, generated
valid data round-trips through new_event / validate_received; generated invalid data (a wrong
type, an unknown field, a missing required field) is refused with a ValidationError, nothing else."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields, validate

from kernel.contract import DATA_SCHEMAS, producer_of
from kernel.envelope import new_event, validate_received

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
AWARE = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def value_strategy(field: fields.Field):
    """Values `field` accepts (its validators honoured)."""
    length = next((v for v in field.validators if isinstance(v, validate.Length)), None)
    one_of = next((v for v in field.validators if isinstance(v, validate.OneOf)), None)
    bounds = next((v for v in field.validators if isinstance(v, validate.Range)), None)
    if one_of is not None:
        strategy = st.sampled_from(list(one_of.choices))
    elif isinstance(field, fields.AwareDateTime):
        strategy = AWARE
    elif isinstance(field, fields.Boolean):
        strategy = st.booleans()
    elif isinstance(field, fields.Integer):
        strategy = st.integers(min_value=bounds.min if bounds else -10**6, max_value=bounds.max if bounds else 10**6)
    elif isinstance(field, fields.Float):
        strategy = st.floats(allow_nan=False, allow_infinity=False, width=32)
    elif isinstance(field, fields.String):
        strategy = st.text(min_size=length.min or 0 if length else 0,
                           max_size=min(length.max or 60, 60) if length else 60)
    else:
        raise AssertionError(f"no strategy for {type(field).__name__}")
    return st.one_of(st.none(), strategy) if field.allow_none else strategy


def data_strategy(event_type: str):
    schema = DATA_SCHEMAS[event_type]()
    return st.fixed_dictionaries({name: value_strategy(field) for name, field in schema.fields.items()})


def wrong_value(field: fields.Field):
    """A value of the wrong JSON type for `field`."""
    if isinstance(field, (fields.Integer, fields.Float)):
        return st.sampled_from(["many", [1], {"n": 1}])
    if isinstance(field, fields.Boolean):
        return st.sampled_from(["perhaps", 2, [True], {}])
    return st.sampled_from([12345, 1.5, [], {"x": 1}])


EVENT_TYPES = sorted(DATA_SCHEMAS)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_data_round_trips(event_type):
    @SETTINGS
    @given(data=data_strategy(event_type), occurred_at=AWARE)
    def check(data, occurred_at):
        event = new_event(producer_of(event_type), event_type, data, occurred_at=occurred_at)
        assert validate_received(event) == event
        assert event["event_type"] == event_type and uuid.UUID(event["event_id"])
        assert set(event["data"]) == set(data)
        assert DATA_SCHEMAS[event_type]().load(event["data"]) == data

    check()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_invalid_data_is_refused_with_a_validation_error(event_type):
    schema = DATA_SCHEMAS[event_type]()
    names = sorted(schema.fields)

    @st.composite
    def broken(draw):
        data = draw(data_strategy(event_type))
        how = draw(st.sampled_from(["wrong_type", "unknown", "missing"]))
        if how == "unknown":
            name = draw(st.text(min_size=1, max_size=20).filter(lambda n: n not in schema.fields))
            data[name] = draw(st.one_of(st.text(max_size=10), st.integers(), st.none()))
        elif how == "missing":
            required = [n for n in names if schema.fields[n].required]
            assume(required)
            del data[draw(st.sampled_from(required))]
        else:
            name = draw(st.sampled_from(names))
            data[name] = draw(wrong_value(schema.fields[name]))
        return data

    @SETTINGS
    @given(data=broken())
    def check(data):
        with pytest.raises(ValidationError):
            new_event(producer_of(event_type), event_type, data)

    check()


@SETTINGS
@given(payload=st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers()),
                         st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.text(), st.integers()))))
def test_garbage_received_is_refused_with_a_validation_error(payload):
    with pytest.raises(ValidationError):
        validate_received(payload)
