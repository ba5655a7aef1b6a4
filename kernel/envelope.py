"""The event envelope of DESIGN.md, validated when dispatched and when received."""
from __future__ import annotations

import re
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


# ---- a fast path for what marshmallow would accept: each schema compiled into one generated
# Python function of plain type/length/range/choice tests. A payload passing it is valid; anything
# else (or a schema using a feature not compiled here) goes through marshmallow, which gives the
# verdict and the error messages. Validation was most of a batch consumer's CPU time.

_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch


def _aware_iso(value) -> bool:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is not None and moment.tzinfo.utcoffset(moment) is not None


def _is_uuid(value) -> bool:
    if _CANONICAL_UUID(value) is not None:  # the usual form, without building a UUID
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# a test on the value `v` per field type
_TYPE_TESTS = {
    fields.String: "type(v) is str",
    fields.Integer: "type(v) is int",
    fields.Boolean: "(v is True or v is False)",
    fields.UUID: "(type(v) is str and _is_uuid(v))",
    fields.Dict: "type(v) is dict",
}


def _validator_test(validator, constant: str, namespace: dict) -> str | None:
    """A test on `v` that holds exactly when `validator` passes (its constants put in `namespace`
    under names starting with `constant`); None for a validator not compiled here."""
    tests = []
    if type(validator) is validate.Length:
        bounds = {"==": validator.equal} if validator.equal is not None else {">=": validator.min, "<=": validator.max}
        tests = [f"len(v) {operator} {int(bound)}" for operator, bound in bounds.items() if bound is not None]
    elif type(validator) is validate.OneOf:
        namespace[constant] = validator.choices
        tests = [f"v in {constant}"]
    elif type(validator) is validate.Range:
        for suffix, bound, inclusive, operators in (("min", validator.min, validator.min_inclusive, (">=", ">")),
                                                    ("max", validator.max, validator.max_inclusive, ("<=", "<"))):
            if bound is not None:
                namespace[f"{constant}_{suffix}"] = bound
                tests.append(f"v {operators[0] if inclusive else operators[1]} {constant}_{suffix}")
    elif type(validator) is validate.Equal:
        namespace[constant] = validator.comparable
        tests = [f"v == {constant}"]
    else:
        return None
    return " and ".join(tests) or "True"


def _checker(schema: Schema, strict: bool, hooks_allowed: bool = False):
    """A function telling whether a dict surely passes `schema` (`strict`: no other keys), or None
    if the schema uses anything not compiled here."""
    if not hooks_allowed and any(schema._hooks.values()):
        return None
    namespace = {"_is_uuid": _is_uuid, "_aware_iso": _aware_iso, "MISSING": object(),
                 "NAMES": frozenset(schema.fields)}
    lines = ["def check(values):"]
    if strict:
        lines.append("    if not values.keys() <= NAMES: return False")
    for position, (name, field) in enumerate(schema.fields.items()):
        if field.data_key not in (None, name) or field.dump_only:
            return None
        if type(field) is fields.AwareDateTime and field.format == "iso" and field.default_timezone is None:
            tests = ["(type(v) is str and _aware_iso(v))"]
        elif type(field) in _TYPE_TESTS and not (type(field) is fields.Integer and field.strict) and not (
                type(field) is fields.Dict and (field.key_field or field.value_field)):
            tests = [_TYPE_TESTS[type(field)]]
        else:
            return None
        for number, validator in enumerate(field.validators):
            test = _validator_test(validator, f"C{position}_{number}", namespace)
            if test is None:
                return None
            tests.append(f"({test})")
        lines += [f"    v = values.get({name!r}, MISSING)",
                  "    if v is MISSING:",
                  f"        {'return False' if field.required else 'pass'}",
                  "    elif v is None:",
                  f"        {'pass' if field.allow_none else 'return False'}",
                  f"    elif not ({' and '.join(tests)}): return False"]
    lines.append("    return True")
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from the schemas alone
    return namespace["check"]


_fast_envelope = _checker(_envelope, strict=True, hooks_allowed=True)  # its one hook, producer vs event type, is below
_fast_data = {
    unknown: {event_type: _checker(schema(unknown=RAISE), strict=unknown == RAISE)
              for event_type, schema in DATA_SCHEMAS.items()}
    for unknown in (RAISE, INCLUDE)
}


def _surely_valid(payload: dict, unknown_data: str) -> bool:
    if _fast_envelope is None or not _fast_envelope(payload):
        return False
    if not payload["event_type"].startswith(PRODUCERS.get(payload["producer"], ())):
        return False
    check = _fast_data[unknown_data].get(payload["event_type"])
    return check is not None and check(payload["data"])


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
