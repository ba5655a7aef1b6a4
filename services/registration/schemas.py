"""marshmallow schemas of the registration service: every RPC input is loaded
(and refused field by field) here; outputs are dumped to JSON-able dicts.

Unknown input fields are refused (RAISE): nothing can slip in unnoticed, such
as an ID document number.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kernel.contract import FORMATS, ORG_TYPES, ROLES, TARGET_GROUPS
from kernel.fields import (
    EmailAddress,
    NotEmpty,
    NullableTrimmed,
    StrictSchema,
    Trimmed,
    goal_code,
    optional_text,
    required_text,
)
from kernel.inputs import INVITATION_CODE_PATTERN
from kernel.rules import LANGUAGES
from services.registration.domain import KINDS, ORGANISATION_KINDS, STAGED_ORG_TYPES


def _one_of(choices, **kwargs):
    return fields.String(validate=validate.OneOf(tuple(choices)), **kwargs)


# --- organisations -----------------------------------------------------------------------------------------


class OrganisationInputSchema(StrictSchema):
    name = required_text(200)
    org_type = _one_of(ORG_TYPES, required=True)
    recognised = fields.Boolean(required=True)


class OrganisationUpdateSchema(NotEmpty, OrganisationInputSchema):
    """Partial: any subset of the input fields (at least one); `confirmed: true` confirms an
    organisation a participant named on the public form."""

    confirmed = fields.Boolean(validate=validate.Equal(True, error="Only true: a confirmed organisation stays so."))


class NewOrganisationSchema(StrictSchema):
    """An organisation the participant did not find in the list."""

    name = required_text(200)
    org_type = _one_of(STAGED_ORG_TYPES, required=True)


class OrganisationViewSchema(Schema):
    organisation_id = fields.String()
    name = fields.String()
    org_type = fields.String(validate=validate.OneOf(ORG_TYPES))
    recognised = fields.Boolean()
    target_group = fields.String(validate=validate.OneOf(TARGET_GROUPS))
    confirmed = fields.Boolean(metadata={"description": "false: named by a participant, not yet confirmed by staff"})
    created_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso")


# --- activities --------------------------------------------------------------------------------------------


def _when(**kwargs):
    return fields.AwareDateTime(format="iso", **kwargs)


def _money(**kwargs):
    return fields.Decimal(places=2, allow_nan=False, validate=validate.Range(min=0), **kwargs)


class ActivityInputSchema(StrictSchema):
    title = required_text(200)
    description = Trimmed(load_default="", validate=validate.Length(max=10000))
    kind = _one_of(KINDS, required=True)
    theme = required_text(80)
    goal = goal_code(load_default=None)
    format = _one_of(FORMATS, required=True)
    starts_at = _when(required=True)
    ends_at = _when(required=True)
    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=366))
    dagdelen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    capacity = fields.Integer(strict=True, allow_none=True, load_default=None, validate=validate.Range(min=0))
    location = optional_text(300)
    online_link = NullableTrimmed(
        allow_none=True, load_default=None,
        validate=[validate.Length(max=500), validate.URL(schemes={"http", "https"})],
    )
    language = _one_of(LANGUAGES, load_default="nl")
    price_eur = _money(load_default=0)
    reduced_price_eur = _money(allow_none=True, load_default=None)
    registration_opens_at = _when(allow_none=True, load_default=None)
    registration_closes_at = _when(allow_none=True, load_default=None)
    invitation_only = fields.Boolean(load_default=False)
    min_participants = fields.Integer(strict=True, allow_none=True, load_default=None,
                                      validate=validate.Range(min=1))
    repeat_of = NullableTrimmed(allow_none=True, load_default=None, validate=validate.Length(max=36))


class ActivityUpdateSchema(NotEmpty, ActivityInputSchema):
    """Partial: any subset of the input fields (load with partial=True); at least one."""


class CancelActivitySchema(StrictSchema):
    reason = required_text(200)


class PostponeActivitySchema(StrictSchema):
    """Verdaagd: the new dates and why."""

    starts_at = _when(required=True)
    ends_at = _when(required=True)
    reason = required_text(200)


class SeatsSchema(Schema):
    confirmed = fields.Integer()
    waitlisted = fields.Integer()
    available = fields.Integer(allow_none=True)


class PublicActivitySchema(Schema):
    """What anyone may see: no invitation code, no online link (participants get it)."""

    activity_id = fields.String()
    title = fields.String()
    description = fields.String()
    kind = fields.String()
    theme = fields.String()
    goal = fields.String(allow_none=True)
    format = fields.String()
    starts_at = fields.AwareDateTime(format="iso")
    ends_at = fields.AwareDateTime(format="iso")
    days = fields.Integer()
    dagdelen = fields.Integer()
    capacity = fields.Integer(allow_none=True)
    location = fields.String(allow_none=True)
    language = fields.String()
    price_eur = fields.Float()
    reduced_price_eur = fields.Float(allow_none=True)
    registration_opens_at = fields.AwareDateTime(format="iso", allow_none=True)
    registration_closes_at = fields.AwareDateTime(
        format="iso", allow_none=True, metadata={"description": "when registration closes (the start when not set)"}
    )
    invitation_only = fields.Boolean()
    status = fields.String(validate=validate.OneOf(("scheduled", "cancelled", "completed")))
    seats = fields.Nested(SeatsSchema)
    full = fields.Boolean()
    registration_open = fields.Boolean()


class ActivityViewSchema(PublicActivitySchema):
    """The staff view: every field, the invitation code of an invitation-only activity."""

    online_link = fields.String(allow_none=True)
    registration_closes_at = fields.AwareDateTime(format="iso", allow_none=True)
    registration_closes_at_effective = fields.AwareDateTime(format="iso")
    invitation_code = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    min_participants = fields.Integer(allow_none=True)
    repeat_of = fields.String(allow_none=True)
    postponed_at = fields.AwareDateTime(format="iso", allow_none=True)
    postponed_from = fields.AwareDateTime(format="iso", allow_none=True)
    postpone_reason = fields.String(allow_none=True)
    attention = fields.List(fields.String(), metadata={
        "description": "why staff should look at it: full, minimum_not_reached (before the start), "
                       "not_completed (ended, still scheduled)"})
    created_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso")


# --- registrations -----------------------------------------------------------------------------------------


class NeedsSchema(StrictSchema):
    accessibility = fields.Boolean(load_default=False)
    sign_language_interpreter = fields.Boolean(load_default=False)
    childcare = fields.Boolean(load_default=False)
    dietary = optional_text(500)
    other = optional_text(2000)


class BegeleiderSchema(StrictSchema):
    name = required_text(200)
    email = EmailAddress(required=True, validate=validate.Length(max=254))


class RegistrationRequestSchema(StrictSchema):
    name = required_text(200)
    email = EmailAddress(allow_none=True, load_default=None, validate=validate.Length(max=254))
    organisation_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))
    organisation_kind = _one_of(ORGANISATION_KINDS, load_default="individual")
    role = _one_of(ROLES, allow_none=True, load_default=None)
    language = _one_of(LANGUAGES, load_default="nl")
    needs = fields.Nested(NeedsSchema, load_default=dict)
    privacy_consent = fields.Boolean(
        required=True, validate=validate.Equal(True, error="You must agree to the privacy notice.")
    )
    invitation_code = fields.String(allow_none=True, load_default=None, validate=validate.Regexp(
        INVITATION_CODE_PATTERN, error="Not an invitation code: letters, digits, - and _ only."))
    begeleider = fields.Nested(BegeleiderSchema, allow_none=True, load_default=None)
    new_organisation = fields.Nested(NewOrganisationSchema, allow_none=True, load_default=None, metadata={
        "description": "an organisation not in the directory: kept for staff to confirm"})

    @validates_schema
    def _email_or_begeleider(self, data, **kwargs):
        if not data.get("email") and not data.get("begeleider"):
            raise ValidationError("Required unless a begeleider registers on your behalf.", "email")

    @validates_schema
    def _one_organisation(self, data, **kwargs):
        if data.get("organisation_id") and data.get("new_organisation"):
            raise ValidationError("Give an organisation from the directory or a new one, not both.", "new_organisation")


class RegistrationResultSchema(Schema):
    registration_id = fields.String()
    activity_id = fields.String()
    status = fields.String(validate=validate.OneOf(("confirmed", "waitlisted")))
    waitlist_position = fields.Integer(allow_none=True)
    cancel_token = fields.String()
    message = fields.String()


class PublicRegistrationSchema(Schema):
    """What the holder of the cancel link sees."""

    registration_id = fields.String()
    activity_id = fields.String()
    activity_title = fields.String()
    status = fields.String(validate=validate.OneOf(("confirmed", "waitlisted", "cancelled")))
    waitlist_position = fields.Integer(allow_none=True)
    starts_at = fields.AwareDateTime(format="iso")


class NeedsViewSchema(Schema):
    accessibility = fields.Boolean()
    sign_language_interpreter = fields.Boolean()
    childcare = fields.Boolean()
    dietary = fields.String(allow_none=True)
    other = fields.String(allow_none=True)


class BegeleiderViewSchema(Schema):
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class StaffRegistrationSchema(Schema):
    registration_id = fields.String()
    activity_id = fields.String()
    person_id = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)
    org_type = fields.String()
    recognised = fields.Boolean()
    target_group = fields.String()
    role = fields.String(allow_none=True)
    language = fields.String()
    needs = fields.Nested(NeedsViewSchema)
    begeleider = fields.Nested(BegeleiderViewSchema, allow_none=True)
    status = fields.String(validate=validate.OneOf(("confirmed", "waitlisted", "cancelled")))
    waitlist_position = fields.Integer(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    cancelled_at = fields.AwareDateTime(format="iso", allow_none=True)
    days_attended = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime(format="iso")


class AttendanceSchema(StrictSchema):
    days_attended = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
