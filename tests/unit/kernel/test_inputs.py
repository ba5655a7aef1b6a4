"""Input loading refuses text no database should hold, field by field."""
import pytest
from marshmallow import Schema, fields

from kernel.errors import ValidationFailed
from kernel.inputs import load


class Contact(Schema):
    name = fields.String(required=True)
    needs = fields.Dict()
    tags = fields.List(fields.String())


def test_nul_characters_are_field_errors():
    with pytest.raises(ValidationFailed) as caught:
        load(Contact(), {"name": "An\x00na", "needs": {"other": "x\x00"}, "tags": ["ok", "b\x00d"]})
    assert caught.value.details == {
        "name": ["Must not contain NUL characters."],
        "needs.other": ["Must not contain NUL characters."],
        "tags.1": ["Must not contain NUL characters."],
    }


def test_ordinary_text_loads():
    assert load(Contact(), {"name": "Anna\tJansens\n"}) == {"name": "Anna\tJansens\n"}
