"""marshmallow fields shared by the services' RPC schemas: trimmed text, e-mail addresses, goal codes,
the strict base schema that refuses unknown input fields (nothing slips in unnoticed, such as an
ID document number), and the refusal of an update that changes nothing."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

GOAL_PATTERN = r"^[A-Z]{1,4}\d+(\.[A-Z]{1,4}\d+)*$"  # e.g. SD1.OD4


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class NotEmpty(Schema):
    """A change of any subset of the fields, refused when it changes nothing (an empty object)."""

    EMPTY_MESSAGE = "Give at least one field to change."

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError(self.EMPTY_MESSAGE, "_schema")


class Trimmed(fields.String):
    """A string with surrounding whitespace removed; empty after trimming counts as missing."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        return value.strip()


class NullableTrimmed(Trimmed):
    """Trimmed text where "" means none; validators see only real values."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        return value or None

    def _validate(self, value):
        if value is not None:
            super()._validate(value)


class EmailAddress(fields.Email):
    """An email address with surrounding whitespace removed ("" counts as none when allow_none)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        return value or (None if self.allow_none else value)

    def _validate(self, value):
        if value is not None:
            super()._validate(value)


def required_text(max_length: int, **kwargs) -> Trimmed:
    return Trimmed(required=True, validate=validate.Length(min=1, max=max_length), **kwargs)


def optional_text(max_length: int, **kwargs) -> NullableTrimmed:
    """Nullable text; "" becomes None."""
    return NullableTrimmed(
        allow_none=True, load_default=None, validate=validate.Length(max=max_length), **kwargs
    )


def goal_code(**kwargs) -> NullableTrimmed:
    """A goal of the centre's plan, such as SD1.OD4, or none."""
    return NullableTrimmed(
        allow_none=True,
        validate=[
            validate.Length(max=40), validate.Regexp(GOAL_PATTERN, error="Use a goal code such as SD1.OD4.")
        ],
        **kwargs,
    )


def percentage(**options) -> fields.Float:
    """A percentage with one decimal; null when nothing was measured (DESIGN.md's rule for every KPI
    percentage)."""
    return fields.Float(
        allow_none=True, metadata={"description": "Percentage, one decimal; null when nothing was measured."},
        **options)
