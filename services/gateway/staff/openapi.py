"""The staff routes' part of the OpenAPI description: the components their operations name (the
routes declare their operations, services.gateway.staff.routes): the registration desk's, from
the schemas the registration service loads and dumps with, and the message log's entry."""
from __future__ import annotations

from marshmallow import Schema, fields

from services.registration import api as registration


class NotificationLogEntrySchema(Schema):
    """One outgoing message (notifications.list_notifications); no address once it went out."""

    notification_id = fields.String(required=True)
    template = fields.String(required=True)
    channel = fields.String(required=True, metadata={"enum": ["email", "webhook"]})
    recipient = fields.String(required=True,
                              metadata={"description": "person:<id>, staff:<address> or webhook:<digest>"})
    person_id = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    cause_event_id = fields.String(allow_none=True)
    cause_event_type = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "sending", "sent", "failed", "dropped"]})
    attempts = fields.Integer(required=True)
    subject = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    sent_at = fields.String(allow_none=True)


COMPONENTS = {
    "StaffRegistration": registration.StaffRegistrationSchema,
    "OrganisationInput": registration.OrganisationInputSchema,
    # PATCH bodies are partial: any subset of the fields (none required)
    "OrganisationUpdate": registration.OrganisationUpdateSchema(partial=True),
    "Organisation": registration.OrganisationViewSchema,
    "ActivityInput": registration.ActivityInputSchema,
    "ActivityUpdate": registration.ActivityUpdateSchema(partial=True),
    "Activity": registration.ActivityViewSchema,
    "CancelActivity": registration.CancelActivitySchema,
    "PostponeActivity": registration.PostponeActivitySchema,
    "Attendance": registration.AttendanceSchema,
    "NotificationLogEntry": NotificationLogEntrySchema,
}
