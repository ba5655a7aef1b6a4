"""The gateway's Alertmanager webhook without a broker: the payload schema (version 4, field errors),
its own bearer token (never a staff token), and what is handed to notifications.relay_ops_alerts."""
from __future__ import annotations

import copy
import hashlib
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from kernel.errors import ValidationFailed
from kernel.inputs import load
from services.gateway.ops import alertmanager
from services.gateway.ops.alertmanager import AlertmanagerWebhookSchema

TOKEN = "alertmanager-token"
STAFF = "staff-token"
CONFIG = {"AUTH": {"ALERTMANAGER_TOKEN_SHA256": hashlib.sha256(TOKEN.encode()).hexdigest(),
                   "STAFF_TOKEN_SHA256": hashlib.sha256(STAFF.encode()).hexdigest()}}

PAYLOAD = {
    "version": "4", "groupKey": "{}:{alertname=\"PlatformTargetDown\"}", "truncatedAlerts": 0,
    "status": "firing", "receiver": "notifications", "groupLabels": {"alertname": "PlatformTargetDown"},
    "commonLabels": {"alertname": "PlatformTargetDown", "severity": "critical"}, "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [{
        "status": "firing", "labels": {"alertname": "PlatformTargetDown", "severity": "critical", "job": "reporting"},
        "annotations": {"summary": "reporting is down"}, "startsAt": "2026-03-02T09:30:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "A1B2c3d4e5f60718", "someFutureField": True,
    }],
}


def payload(**changes):
    body = copy.deepcopy(PAYLOAD)
    body.update(changes)
    return body


def alert(**changes):
    return {**PAYLOAD["alerts"][0], **changes}


def test_a_valid_payload_is_handed_over_as_plain_json():
    data = load(AlertmanagerWebhookSchema(), payload())
    (handed,) = [alertmanager._alert_for_rpc(a) for a in data["alerts"]]
    assert handed == {
        "status": "firing", "labels": PAYLOAD["alerts"][0]["labels"], "annotations": {"summary": "reporting is down"},
        "startsAt": "2026-03-02T09:30:00.123456+00:00", "endsAt": None, "fingerprint": "a1b2c3d4e5f60718",
    }
    json.dumps(handed)
    resolved = load(AlertmanagerWebhookSchema(), payload(alerts=[alert(status="resolved",
                                                                       endsAt="2026-03-02T10:00:00Z")]))
    assert alertmanager._alert_for_rpc(resolved["alerts"][0])["endsAt"] == "2026-03-02T10:00:00+00:00"


@pytest.mark.parametrize("body, fields", [
    (payload(version="3"), {"version"}),
    (payload(status="pending"), {"status"}),
    (payload(alerts=[]), {"alerts"}),
    ({k: v for k, v in PAYLOAD.items() if k != "alerts"}, {"alerts"}),
    (payload(alerts=[alert(fingerprint="not hex!")]), {"alerts.0.fingerprint"}),
    (payload(alerts=[alert(labels={"severity": "critical"})]), {"alerts.0.labels"}),
    (payload(alerts=[alert(startsAt="yesterday", status="gone")]), {"alerts.0.startsAt", "alerts.0.status"}),
    (payload(alerts=[alert(startsAt="2026-03-02T09:30:00")]), {"alerts.0.startsAt"}),  # no time zone
    (payload(alerts=[{k: v for k, v in PAYLOAD["alerts"][0].items() if k != "fingerprint"}]),
     {"alerts.0.fingerprint"}),
    (payload(alerts="everything"), {"alerts"}),
])
def test_bad_payloads_are_refused_field_by_field(body, fields):
    with pytest.raises(ValidationFailed) as refused:
        load(AlertmanagerWebhookSchema(), body)
    assert set(refused.value.details) == fields


def request_with(authorization=None) -> Request:
    headers = {"Authorization": authorization} if authorization else {}
    return Request(EnvironBuilder(method="POST", path="/api/alerts/alertmanager", headers=headers).get_environ())


def test_only_alertmanagers_token_is_accepted():
    assert alertmanager._alertmanager_refused(request_with(f"Bearer {TOKEN}"), CONFIG) is None
    for header in (None, f"Bearer {STAFF}", "Bearer nope", f"Basic {TOKEN}"):
        refused = alertmanager._alertmanager_refused(request_with(header), CONFIG)
        assert refused.status_code == 401, header
        assert json.loads(refused.get_data())["error"] == "unauthorized"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    # no token configured (or a malformed one): everything is refused
    for auth in ({}, {"ALERTMANAGER_TOKEN_SHA256": ""}, {"ALERTMANAGER_TOKEN_SHA256": "not-a-digest"}):
        refused = alertmanager._alertmanager_refused(request_with(f"Bearer {TOKEN}"), {"AUTH": auth})
        assert refused.status_code == 401
