"""marshmallow fields shared by the services' schemas and the gateway's OpenAPI description."""
from __future__ import annotations

from marshmallow import fields

PERCENTAGE = {"description": "Percentage, one decimal; null when nothing was measured."}


def percentage(**options) -> fields.Float:
    """A percentage with one decimal, None when nothing was measured (`options`: e.g. required)."""
    return fields.Float(allow_none=True, metadata=PERCENTAGE, **options)
