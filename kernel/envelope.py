"""The event envelope of DESIGN.md, validated when dispatched and when received."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from kernel.contract import DATA_SCHEMAS, PRODUCERS

SCHEMA_VERSION = 1


class EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.OneOf(DATA_SCHEMAS))
    schema_version = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    producer = fields.String(required=True, validate=validate.OneOf(PRODUCERS))
    data = fields.Dict(required=True)

    @validates_schema
    def _producer_owns_event_type(self, envelope, **kwargs):
        prefixes = PRODUCERS.get(envelope["producer"], ())
        if not envelope["event_type"].startswith(prefixes):
            raise ValidationError(
                f"{envelope['producer']} does not produce {envelope['event_type']}", "event_type"
            )


_envelope = EnvelopeSchema(unknown=RAISE)
# schema instances are reusable and costly to build: one strict and one lenient per event type
_data_schemas = {
    unknown: {event_type: schema(unknown=unknown) for event_type, schema in DATA_SCHEMAS.items()}
    for unknown in (RAISE, INCLUDE)
}


# ---- a fast path for what marshmallow would accept: the schemas compiled into plain checks.
# A payload passing them is valid; anything else (or a schema using a feature not compiled
# here) goes through marshmallow, which gives the verdict and the error messages. Validation
# was most of a batch consumer's CPU time.


def _compile_validator(validator):
    if type(validator) is validate.Length:
        low, high, equal = validator.min, validator.max, validator.equal
        return lambda value: (len(value) == equal) if equal is not None else (
            (low is None or len(value) >= low) and (high is None or len(value) <= high))
    if type(validator) is validate.OneOf:
        choices = validator.choices
        return lambda value: value in choices
    if type(validator) is validate.Range:
        low, high, low_in, high_in = validator.min, validator.max, validator.min_inclusive, validator.max_inclusive
        return lambda value: (low is None or (value >= low if low_in else value > low)) and (
            high is None or (value <= high if high_in else value < high))
    if type(validator) is validate.Equal:
        comparable = validator.comparable
        return lambda value: value == comparable
    return None


def _aware_iso(value) -> bool:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is not None and moment.tzinfo.utcoffset(moment) is not None


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_TYPE_CHECKS = {
    fields.String: lambda value: type(value) is str,
    fields.Integer: lambda value: type(value) is int,
    fields.Boolean: lambda value: value is True or value is False,
    fields.UUID: lambda value: type(value) is str and _is_uuid(value),
    fields.Dict: lambda value: type(value) is dict,
}


def _compile(schema: Schema, hooks_allowed: bool = False):
    """[(name, required, allow_none, checks)] for `schema`, or None if it uses anything else."""
    if not hooks_allowed and any(schema._hooks.values()):
        return None
    compiled = []
    for name, field in schema.fields.items():
        if field.data_key not in (None, name) or field.dump_only:
            return None
        if type(field) is fields.AwareDateTime and field.format == "iso" and field.default_timezone is None:
            checks = [lambda value: type(value) is str and _aware_iso(value)]
        elif type(field) in _TYPE_CHECKS and not (type(field) is fields.Integer and field.strict) and not (
                type(field) is fields.Dict and (field.key_field or field.value_field)):
            checks = [_TYPE_CHECKS[type(field)]]
        else:
            return None
        for validator in field.validators:
            check = _compile_validator(validator)
            if check is None:
                return None
            checks.append(check)
        compiled.append((name, field.required, field.allow_none, tuple(checks)))
    return compiled


def _passes(compiled, values: dict, strict: bool) -> bool:
    if strict and not values.keys() <= {name for name, *_ in compiled}:
        return False
    for name, required, allow_none, checks in compiled:
        if name not in values:
            if required:
                return False
            continue
        value = values[name]
        if value is None:
            if not allow_none:
                return False
            continue
        for check in checks:
            if not check(value):
                return False
    return True


_fast_envelope = _compile(_envelope, hooks_allowed=True)  # its one hook, producer vs event type, is below
_fast_data = {event_type: _compile(schema(unknown=RAISE)) for event_type, schema in DATA_SCHEMAS.items()}


def _surely_valid(payload: dict, unknown_data: str) -> bool:
    if _fast_envelope is None or not _passes(_fast_envelope, payload, strict=True):
        return False
    if not payload["event_type"].startswith(PRODUCERS.get(payload["producer"], ())):
        return False
    compiled = _fast_data.get(payload["event_type"])
    return compiled is not None and _passes(compiled, payload["data"], strict=unknown_data == RAISE)


def _validate(payload: dict, unknown_data: str) -> dict:
    if type(payload) is dict and _surely_valid(payload, unknown_data):
        return payload
    errors = _envelope.validate(payload)
    if errors:
        raise ValidationError(errors)
    data_errors = _data_schemas[unknown_data][payload["event_type"]].validate(payload["data"])
    if data_errors:
        raise ValidationError({"data": data_errors})
    return payload


def new_event(producer: str, event_type: str, data: dict, occurred_at: datetime | None = None) -> dict:
    """Build a JSON-ready envelope; raises ValidationError if it breaks the contract.

    Strict on `data`: a field the contract does not know is refused, so nothing
    personal can travel by accident.
    """
    schema = _data_schemas[RAISE].get(event_type)
    if schema is not None:
        unknown = sorted(set(data) - set(schema.fields))
        if unknown:
            raise ValidationError({"data": {name: ["Unknown field."] for name in unknown}})
        # datetimes to ISO strings; nothing else is converted (a dump would turn a wrong type into a
        # string, say an int id into "12345", and so let it pass: found by property testing)
        datetimes = {name: value for name, value in data.items()
                     if isinstance(value, datetime) and isinstance(schema.fields[name], fields.DateTime)}
        data = {**data, **(schema.dump(datetimes) if datetimes else {})}  # a copy, never the caller's dict
    payload = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": (occurred_at or datetime.now(timezone.utc)).isoformat(),
        "producer": producer,
        "data": data,
    }
    return _validate(payload, unknown_data=RAISE)


def validate_received(payload) -> dict:
    """Check an incoming envelope; newer producers may add `data` fields."""
    if not isinstance(payload, dict):
        raise ValidationError("event payload must be a JSON object")
    return _validate(payload, unknown_data=INCLUDE)


def event_stamp(event: dict) -> tuple[datetime, str]:
    """The order of two versions of the same thing: occurred_at, then event id (ties broken the
    same way by every consumer that keeps only the newest version)."""
    occurred_at = event["occurred_at"]
    moment = occurred_at if isinstance(occurred_at, datetime) else datetime.fromisoformat(occurred_at)
    if moment.tzinfo is None:
        raise ValueError("naive occurred_at in an event")
    return moment, event["event_id"]
