"""The ops routes' part of the OpenAPI description: the components their operations name (the
routes declare their operations, services.gateway.ops.routes)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.gateway.ops.alertmanager import (
    AlertmanagerAlertSchema,
    AlertmanagerWebhookSchema,
    AlertRelayResultSchema,
)


class HealthSchema(Schema):
    status = fields.String(validate=validate.OneOf(["ok", "unavailable"]))
    broker = fields.Dict()
    services = fields.Dict(keys=fields.String(), values=fields.Dict())
    failed = fields.List(fields.String())


COMPONENTS = {
    "Health": HealthSchema,
    "AlertmanagerAlert": AlertmanagerAlertSchema,  # before the webhook, which nests it
    "AlertmanagerWebhook": AlertmanagerWebhookSchema,
    "AlertRelayResult": AlertRelayResultSchema,
}
