"""What the gateway's public forms (registration, request, survey) share: a field's text, the
shape of an email address, field-level errors in page order, a service's ValidationFailed details flattened to one
name per field, and the organisations directory the forms offer.

Each form checks only the obvious in the visitor's language; the service stays the authority on
validity and its details are mapped back onto the form's inputs.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # the obvious only: the service checks the address


def text(form: Mapping, name: str) -> str:
    """The field's text, trimmed; "" when the form does not have it."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def checked(form: Mapping, name: str) -> bool:
    """Whether the checkbox was ticked."""
    return text(form, name).lower() in {"on", "yes", "true", "1"}


@dataclass
class FormErrors:
    """Field -> list of messages (already translated), in page order: a form's own subclass names
    its fields in FIELD_ORDER (a field not named there comes last)."""

    FIELD_ORDER = ()

    messages: dict[str, list[str]] = field(default_factory=dict)

    def add(self, form_field: str, message: str) -> None:
        bucket = self.messages.setdefault(form_field, [])
        if message not in bucket:
            bucket.append(message)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def ordered(self) -> list[tuple[str, list[str]]]:
        rank = {name: i for i, name in enumerate(self.FIELD_ORDER)}
        return sorted(self.messages.items(), key=lambda item: rank.get(item[0], len(rank)))


def flatten_details(details, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow-style nested errors ({"begeleider": {"email": [...]}}) as {"begeleider.email": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(details, Mapping):
        for key, value in details.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for sub_key, messages in flatten_details(value, name).items():
                flat.setdefault(sub_key, []).extend(messages)
    elif isinstance(details, list | tuple):
        for item in details:
            if isinstance(item, Mapping):
                for sub_key, messages in flatten_details(item, prefix).items():
                    flat.setdefault(sub_key, []).extend(messages)
            else:
                flat.setdefault(prefix or "_schema", []).append(str(item))
    elif details is not None:
        flat.setdefault(prefix or "_schema", []).append(str(details))
    return flat


def public_organisations(registration) -> list[dict]:
    """The organisations directory as the forms offer it (id and name, by name), from the
    registration service's RPC proxy `registration`."""
    organisations = registration.list_organisations() or []
    return sorted(
        ({"organisation_id": o.get("organisation_id"), "name": o.get("name") or o.get("organisation_id")}
         for o in organisations),
        key=lambda o: str(o["name"]).casefold(),
    )
