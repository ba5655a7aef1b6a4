"""Input at a service's edge: marshmallow loading with field-level errors that cross RPC."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from marshmallow import ValidationError

from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kernel.rules import AccessDenied, InvalidInput, StateConflict

MAX_ID_LENGTH = 64
# an activity's invitation code as the registration service makes it (URL-safe base64); anything
# else a client sends is refused as bad input (400), at the gateway and in the schema
INVITATION_CODE_PATTERN = r"^[A-Za-z0-9_-]{0,64}$"


def load(schema, payload, **kwargs) -> dict:
    """`schema.load(payload)`, or ValidationFailed with {field: [messages]} ("needs.childcare" for nested)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("invalid input", {"_schema": ["Expected a JSON object."]})
    with_nul = sorted(_fields_with_nul(payload))
    if with_nul:  # text no database should hold (PostgreSQL refuses it outright)
        raise ValidationFailed("invalid input", {name: ["Must not contain NUL characters."] for name in with_nul})
    try:
        return schema.load(payload, **kwargs)
    except ValidationError as exc:
        raise ValidationFailed("invalid input", flatten_messages(exc.messages)) from None


def _fields_with_nul(value, name: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield name or "_schema"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _fields_with_nul(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _fields_with_nul(item, f"{name}.{index}" if name else str(index))


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """{"needs": {"childcare": [...]}} -> {"needs.childcare": [...]}."""
    if not isinstance(messages, dict):
        return {prefix or "_schema": list(messages) if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_messages(value, name))
        else:
            flat[name] = list(value) if isinstance(value, list) else [str(value)]
    return flat


def existing_id(value, what: str) -> str:
    """An id as given by a caller; anything that cannot be one is simply not found."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise NotFound(f"{what} not found")
    return value


@contextmanager
def domain_errors() -> Iterator[None]:
    """A domain's rule violations (kernel.rules) as the kernel's RPC errors."""
    try:
        yield
    except InvalidInput as exc:
        raise ValidationFailed(exc.message, exc.details) from None
    except StateConflict as exc:
        raise Conflict(exc.message, exc.details) from None
    except AccessDenied as exc:
        raise Forbidden(exc.message, exc.details) from None
