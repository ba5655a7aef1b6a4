"""marshmallow schemas of the requests service: every RPC input is loaded (and
refused field by field) here; outputs are dumped to JSON-able dicts.

Unknown input fields are refused: nothing can slip in unnoticed (no ID document).
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kernel.contract import DECLINE_REASONS, ORG_TYPES, TARGET_GROUPS
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
from kernel.rules import LANGUAGES
from services.requests.domain import CHANNELS, DELIVERY_FORMS, STATUSES

PHONE_PATTERN = r"^\+?[0-9 ()./-]{6,40}$"


def form_key():
    """A key of the form that sent the input (a uuid4): the same key again changes nothing twice."""
    return fields.UUID(allow_none=True, load_default=None,
                       metadata={"description": "a key of the form that sent it: sent again, nothing is done twice"})


# --- intake --------------------------------------------------------------------------------------------------


class _IntakeSchema(StrictSchema):
    name = required_text(200, metadata={"description": "the contact person"})
    phone = NullableTrimmed(
        allow_none=True, load_default=None,
        validate=[validate.Length(max=40), validate.Regexp(PHONE_PATTERN, error="Not a valid phone number.")],
    )
    language = fields.String(load_default="nl", validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "the language to answer in"})
    organisation_id = fields.String(
        allow_none=True, load_default=None, validate=validate.Length(min=1, max=64),
        metadata={"description": "an organisation of the registration directory"},
    )
    org_type = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(ORG_TYPES),
        metadata={"description": "without organisation_id: the kind of requester (default `individu`; "
                                 "an informal initiative without legal entity is `civiel_scw`)"},
    )
    organisation_name = optional_text(200, metadata={"description": "e.g. the name of an informal initiative"})
    question = required_text(5000)
    theme = required_text(80)
    preferred_timing = optional_text(500)

    @validates_schema
    def _one_organisation(self, data, **kwargs):
        if data.get("organisation_id") and data.get("org_type"):
            raise ValidationError("Give either organisation_id or org_type, not both.", "org_type")


class PublicIntakeSchema(_IntakeSchema):
    """The public request form (`POST /api/requests`): an email address is required."""

    email = EmailAddress(required=True, validate=validate.Length(max=254))
    privacy_consent = fields.Boolean(
        required=True, validate=validate.Equal(True, error="You must agree to the privacy notice.")
    )


class StaffIntakeSchema(_IntakeSchema):
    """A request taken by phone (or mail) by a staff member: the email address may be left out (a phone
    number instead, or nothing); without one the requester gets no acknowledgement by mail."""

    email = EmailAddress(allow_none=True, load_default=None, validate=validate.Length(max=254),
                         metadata={"description": "optional for staff intake (a phone request may have none)"})
    goal = goal_code(load_default=None)
    channel = fields.String(load_default="phone", validate=validate.OneOf(CHANNELS))
    idempotency_key = form_key()


class ReceiptSchema(Schema):
    request_id = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    message = fields.String()


# --- lifecycle -----------------------------------------------------------------------------------------------


class ExploreSchema(StrictSchema):
    notes = optional_text(10000)
    staff_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64),
                             metadata={"description": "the colleague who explores (becomes the assignee)"})


class NoteSchema(StrictSchema):
    text = required_text(10000)
    staff_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64))
    idempotency_key = form_key()


class AcceptSchema(StrictSchema):
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "staff_id of the colleague who takes it"})
    notes = optional_text(10000)


class DeclineSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.OneOf(DECLINE_REASONS))
    referred_to = optional_text(200, metadata={"description": "the named partner the requester is referred to"})
    notes = optional_text(10000)
    staff_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64))


def _count(**kwargs):
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100000), **kwargs)


class DeliverySchema(StrictSchema):
    date = fields.Date(required=True, metadata={"description": "when it was delivered (not in the future)"})
    form = fields.String(required=True, validate=validate.OneOf(DELIVERY_FORMS))
    dagdelen = _count()
    participants = _count()
    participations = _count(metadata={"description": "person-dagdelen or person-days; at least participants"})
    description = optional_text(2000)
    idempotency_key = form_key()


class TagsSchema(NotEmpty, StrictSchema):
    """Theme and/or goal (goal null clears it)."""

    EMPTY_MESSAGE = "Give theme and/or goal."

    theme = Trimmed(validate=validate.Length(min=1, max=80))
    goal = goal_code()


FILTER_QUEUES = ("new", "mine", "overdue")


PAGE_SIZE = 50  # requests per page of the staff desk's list
MAX_PAGE_SIZE = 200


class RequestFiltersSchema(StrictSchema):
    """Query of the staff desk: a queue and/or filters (all optional)."""

    queue = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(FILTER_QUEUES),
                          metadata={"description": "new (received), mine (open, by assignee), overdue"})
    status = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(STATUSES))
    theme = optional_text(80)
    goal = optional_text(40)
    assignee = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64))
    target_group = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(TARGET_GROUPS))
    q = optional_text(200, metadata={"description": "text in the question, contact or organisation name"})
    # one page of the list (the CSV export takes the whole selection)
    limit = fields.Integer(load_default=PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))

    @validates_schema
    def _mine_needs_assignee(self, data, **kwargs):
        if data.get("queue") == "mine" and not data.get("assignee"):
            raise ValidationError("The mine queue needs assignee (your staff_id).", "assignee")


# --- staff directory -----------------------------------------------------------------------------------------


class StaffInputSchema(StrictSchema):
    name = required_text(200)
    email = EmailAddress(allow_none=True, load_default=None, validate=validate.Length(max=254))
    themes = fields.List(Trimmed(validate=validate.Length(min=1, max=80)), required=True,
                         validate=validate.Length(max=50), metadata={"description": "expertise themes"})
    idempotency_key = form_key()


class StaffUpdateSchema(NotEmpty, StrictSchema):
    """Any of the input fields, and `active` (at least one)."""

    name = Trimmed(validate=validate.Length(min=1, max=200))
    email = EmailAddress(allow_none=True, validate=validate.Length(max=254))
    themes = fields.List(Trimmed(validate=validate.Length(min=1, max=80)), validate=validate.Length(max=50))
    active = fields.Boolean()


class StaffViewSchema(Schema):
    staff_id = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    themes = fields.List(fields.String())
    active = fields.Boolean()
    open_load = fields.Integer(metadata={"description": "requests exploring, accepted or delivered, not closed"})


class SuggestionSchema(Schema):
    staff_id = fields.String()
    name = fields.String()
    themes = fields.List(fields.String())
    overlap = fields.Integer(metadata={"description": "expertise themes shared with the request"})
    open_load = fields.Integer()


# --- views ---------------------------------------------------------------------------------------------------


class NoteViewSchema(Schema):
    note_id = fields.String()
    text = fields.String()
    author = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(format="iso")


class DeliveryViewSchema(Schema):
    delivery_id = fields.String()
    date = fields.Date(attribute="delivered_on")
    form = fields.String()
    dagdelen = fields.Integer()
    participants = fields.Integer()
    participations = fields.Integer()
    description = fields.String(allow_none=True)
    recorded_at = fields.AwareDateTime(format="iso")


class TotalsSchema(Schema):
    deliveries = fields.Integer()
    dagdelen = fields.Integer()
    participants = fields.Integer()
    participations = fields.Integer()


class RequestViewSchema(Schema):
    """The staff view of a request."""

    request_id = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    name = fields.String(attribute="contact_name")
    email = fields.String(attribute="contact_email", allow_none=True)
    phone = fields.String(attribute="contact_phone", allow_none=True)
    language = fields.String()
    organisation_id = fields.String(allow_none=True)
    organisation_name = fields.String(allow_none=True)
    org_type = fields.String()
    recognised = fields.Boolean()
    target_group = fields.String()
    question = fields.String()
    theme = fields.String()
    goal = fields.String(allow_none=True)
    preferred_timing = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    received_at = fields.AwareDateTime(format="iso")
    answer_due_at = fields.AwareDateTime(format="iso")
    answered_at = fields.AwareDateTime(format="iso", allow_none=True)
    overdue = fields.Boolean()
    overdue_marked_at = fields.AwareDateTime(format="iso", allow_none=True)
    decline_reason = fields.String(allow_none=True)
    referred_to = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(format="iso", allow_none=True)
    closed_at = fields.AwareDateTime(format="iso", allow_none=True)
    updated_at = fields.AwareDateTime(format="iso")
    allowed_actions = fields.List(fields.String())
    notes = fields.List(fields.Nested(NoteViewSchema))
    deliveries = fields.List(fields.Nested(DeliveryViewSchema))
    totals = fields.Nested(TotalsSchema)


class ContactSchema(Schema):
    """Who to write to about a request (for the notifications service)."""

    name = fields.String()
    email = fields.String(allow_none=True, metadata={"description": "none: a request taken without an address"})
    language = fields.String()
