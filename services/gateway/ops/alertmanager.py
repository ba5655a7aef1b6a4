"""Alertmanager's webhook (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config):
the JSON it posts, the token it must carry (AUTH.ALERTMANAGER_TOKEN_SHA256, not a staff token) and
the alerts as notifications.relay_ops_alerts takes them (services.gateway.ops.routes serves it)."""
from __future__ import annotations

import logging

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates
from werkzeug.wrappers import Response

from kernel.inputs import load
from services.gateway.core.auth import InvalidTokenConfig, is_staff, parse_digests
from services.gateway.core.errors import error_body
from services.gateway.core.http import json_response, read_json_object

log = logging.getLogger(__name__)

ALERT_STATUSES = ("firing", "resolved")
_LABELS = {"keys": fields.String(validate=validate.Length(min=1, max=200)),
           "values": fields.String(validate=validate.Length(max=2000))}


class AlertmanagerAlertSchema(Schema):
    """One alert of the webhook (fields Alertmanager may add later are ignored)."""

    class Meta:
        unknown = EXCLUDE

    status = fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    labels = fields.Dict(required=True, validate=validate.Length(max=100), **_LABELS,
                         metadata={"description": "must hold alertname"})
    annotations = fields.Dict(load_default=dict, validate=validate.Length(max=100), **_LABELS)
    startsAt = fields.AwareDateTime(required=True, format="iso")
    endsAt = fields.AwareDateTime(load_default=None, allow_none=True, format="iso",
                                  metadata={"description": "0001-01-01T00:00:00Z while it fires"})
    generatorURL = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    fingerprint = fields.String(required=True, validate=validate.Regexp(
        r"^[0-9a-fA-F]{1,32}$", error="Must be Alertmanager's hexadecimal fingerprint."))

    @validates("labels")
    def _names_the_alert(self, labels, **kwargs):
        if not str(labels.get("alertname") or "").strip():
            raise ValidationError("Must hold the alertname label.")


class AlertmanagerWebhookSchema(Schema):
    """The JSON Alertmanager POSTs (payload version 4)."""

    class Meta:
        unknown = EXCLUDE

    version = fields.String(required=True, validate=validate.Equal("4", error="Only version 4 is understood."))
    groupKey = fields.String(load_default=None, allow_none=True)
    truncatedAlerts = fields.Integer(load_default=0, validate=validate.Range(min=0))
    status = fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    receiver = fields.String(load_default=None, allow_none=True)
    groupLabels = fields.Dict(load_default=dict, **_LABELS)
    commonLabels = fields.Dict(load_default=dict, **_LABELS)
    commonAnnotations = fields.Dict(load_default=dict, **_LABELS)
    externalURL = fields.String(load_default=None, allow_none=True)
    alerts = fields.List(fields.Nested(AlertmanagerAlertSchema), required=True,
                         validate=validate.Length(min=1, max=1000))


class AlertRelayResultSchema(Schema):
    """What became of the alerts (notifications.relay_ops_alerts)."""

    alerts = fields.Integer(required=True)
    notified = fields.Integer(required=True, metadata={"description": "sent now to on-call"})
    repeated = fields.Integer(required=True, metadata={"description": "sent before (Alertmanager repeating)"})
    suppressed = fields.Integer(required=True, metadata={"description": "flapping, or resolved nobody was told of"})
    failed = fields.Integer(required=True)
    retry_later = fields.Integer(required=True, metadata={"description": "> 0: answered 503, to be sent again"})
    no_recipients = fields.Integer(required=True)


_webhook = AlertmanagerWebhookSchema()
ALERTMANAGER_SECURITY_SCHEME = {
    "type": "http", "scheme": "bearer",
    "description": "Alertmanager's token (http_config.authorization); its sha256 digest is "
                   "AUTH.ALERTMANAGER_TOKEN_SHA256. Not a staff token.",
}


def _alert_for_rpc(alert: dict) -> dict:
    return {
        "status": alert["status"], "labels": alert["labels"], "annotations": alert["annotations"],
        "startsAt": alert["startsAt"].isoformat(),
        "endsAt": alert["endsAt"].isoformat() if alert["endsAt"] is not None and alert["endsAt"].year > 1 else None,
        "fingerprint": alert["fingerprint"].lower(),
    }


def _alertmanager_refused(request, config) -> Response | None:
    """None when the request carries Alertmanager's token; else the 401 answer."""
    try:
        digests = parse_digests((config.get("AUTH") or {}).get("ALERTMANAGER_TOKEN_SHA256"))
    except InvalidTokenConfig:
        log.error("AUTH.ALERTMANAGER_TOKEN_SHA256 is malformed: every alert is refused")
        digests = ()
    if not digests:
        log.warning("no Alertmanager token configured (AUTH.ALERTMANAGER_TOKEN_SHA256): alerts refused")
        message = "Alert delivery is not available."
    elif not request.headers.get("Authorization"):
        message = "This endpoint needs Alertmanager's token: Authorization: Bearer <token>."
    elif not is_staff(request.headers.get("Authorization"), digests):
        message = "The token is not valid."
    else:
        return None
    return json_response(error_body("unauthorized", message), 401,
                         headers={"WWW-Authenticate": 'Bearer realm="alertmanager", error="invalid_token"'})


def relay(request, config, notifications):
    """The webhook's answer: the alerts handed to `notifications` (its RPC proxy), or the refusal;
    503 while some alert could not go out yet, so that Alertmanager sends them again."""
    refused = _alertmanager_refused(request, config)
    if refused is not None:
        return refused
    data = load(_webhook, read_json_object(request))
    result = notifications.relay_ops_alerts([_alert_for_rpc(alert) for alert in data["alerts"]])
    if result.get("retry_later"):  # Alertmanager sends the notification again after a 5xx
        return json_response(error_body("retry_later", "Some alert could not be sent yet.", result), 503)
    return result
