"""marshmallow schemas of the accounts service: RPC inputs are loaded (refused field by field)
here, outputs dumped to JSON-able dicts. No output carries a password hash or a token digest."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from kernel.fields import EmailAddress, StrictSchema, Trimmed, required_text
from services.accounts.domain import AUDIT_ACTIONS, AUDIT_SUBJECTS, ROLES, password_problems

MAX_AUDIT_PAGE = 200


def strong_password(value: str) -> None:
    """The domain's password rules, so a form shows them with the other fields' errors."""
    problems = password_problems(value)
    if problems:
        raise ValidationError(problems)


class AccountInputSchema(StrictSchema):
    """A new account (`POST /api/admin/accounts`)."""

    email = EmailAddress(required=True, validate=validate.Length(max=254))
    name = required_text(200)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(required=True, validate=strong_password, load_only=True,
                             metadata={"description": "at least 12 characters, not too simple, not the email"})


class PasswordSchema(StrictSchema):
    password = fields.String(required=True, validate=strong_password, load_only=True)


class AccountUpdateSchema(StrictSchema):
    name = required_text(200)
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()


class AccountViewSchema(StrictSchema):
    account_id = fields.String(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ApiTokenViewSchema(StrictSchema):
    token_id = fields.String(required=True)
    label = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenLabelSchema(StrictSchema):
    label = Trimmed(load_default="", validate=validate.Length(max=100))


class ActorSchema(StrictSchema):
    """Who did something: an account (id and name), or a machine token of a role."""

    account_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=36))
    name = Trimmed(required=True, validate=validate.Length(min=1, max=200))


class AuditInputSchema(StrictSchema):
    actor = fields.Nested(ActorSchema, required=True)
    action = fields.String(required=True, validate=validate.OneOf(AUDIT_ACTIONS))
    subject_type = fields.String(required=True, validate=validate.OneOf(AUDIT_SUBJECTS))
    subject_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))
    details = fields.Dict(keys=fields.String(), load_default=dict)


class AuditEntrySchema(StrictSchema):
    audit_id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    actor_account_id = fields.String(allow_none=True)
    action = fields.String(required=True)
    subject_type = fields.String(required=True)
    subject_id = fields.String(allow_none=True)
    details = fields.Dict(required=True)


class AuditFiltersSchema(StrictSchema):
    account_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=36))
    action_kind = fields.String(allow_none=True, load_default=None, validate=validate.Regexp(r"^[a-z_]{1,40}$"))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_AUDIT_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
