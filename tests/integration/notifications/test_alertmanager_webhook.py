"""Alertmanager's webhook end to end: the gateway's POST /api/alerts/alertmanager (its own bearer
token) hands the alerts to the notifications service over the real RabbitMQ, which tells on-call by a
real SMTP server and a webhook receiver: once per alert and status however often Alertmanager repeats
it, a flapping alert not again, the resolution once; a message that cannot go yet answers 503 (so
Alertmanager sends again) and goes on the repeat; bad payloads 400, no token 401."""
from __future__ import annotations

import copy
import hashlib

import pytest
import requests

from services.gateway.service import GatewayService
from services.notifications.service import NotificationsService
from tests.conftest import STAFF_TOKEN
from tests.helpers import drain_queue, wait_for

TOKEN = "alertmanager-test-token"
FIRING = {
    "version": "4", "groupKey": '{}/{severity="critical"}:{alertname="DeadLetterQueueNotEmpty"}',
    "truncatedAlerts": 0, "status": "firing", "receiver": "notifications",
    "groupLabels": {"alertname": "DeadLetterQueueNotEmpty"},
    "commonLabels": {"alertname": "DeadLetterQueueNotEmpty", "severity": "critical", "vhost": "/"},
    "commonAnnotations": {"summary": "3 message(s) in the dead-letter queue (vhost /)"},
    "externalURL": "http://alertmanager:9093",
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "DeadLetterQueueNotEmpty", "severity": "critical", "vhost": "/"},
        "annotations": {"summary": "3 message(s) in the dead-letter queue (vhost /)",
                        "description": "Events failed every retry and are parked in platform.dead-letter."},
        "startsAt": "2026-03-02T09:30:00.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x", "fingerprint": "4f2a9c0e5b7d1e33",
    }],
}


def resolved_payload() -> dict:
    body = copy.deepcopy(FIRING)
    body["status"] = body["alerts"][0]["status"] = "resolved"
    body["alerts"][0]["endsAt"] = "2026-03-02T09:45:00Z"
    return body


@pytest.fixture
def alert_gateway(notif_config, smtp_factory, webhook, container_factory, gateway_url):
    """notifications (on-call: a mailbox and a chat webhook, in English) and the gateway."""
    smtp = smtp_factory()
    notif_config["AUTH"]["ALERTMANAGER_TOKEN_SHA256"] = hashlib.sha256(TOKEN.encode()).hexdigest()
    notif_config["NOTIFICATIONS"].update(
        SMTP_PORT=smtp.port, ALERT_EMAILS="oncall@steunpunt.example", ALERT_WEBHOOK_URLS=webhook.url,
        ALERT_DEDUP_SECONDS=600, ALERT_LANGUAGE="en",
    )
    for cls in (NotificationsService, GatewayService):
        container_factory(cls, notif_config).start()
    return smtp


def post(gateway_url, body, token=TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{gateway_url}/api/alerts/alertmanager", json=body, headers=headers, timeout=15, **kwargs)


def test_a_firing_alert_once_then_its_resolution_once(alert_gateway, gateway_url, webhook, notif_config, spy):
    smtp = alert_gateway
    first = post(gateway_url, FIRING)
    assert first.status_code == 200, first.text
    assert first.json() == {"alerts": 1, "notified": 1, "repeated": 0, "suppressed": 0, "failed": 0,
                            "retry_later": 0, "no_recipients": 0}
    again = post(gateway_url, FIRING)  # Alertmanager's group_interval / repeat_interval
    assert again.status_code == 200 and again.json()["repeated"] == 1 and again.json()["notified"] == 0
    (mail,) = smtp.wait(1)
    assert mail["To"] == "oncall@steunpunt.example"
    assert mail["Subject"] == "[critical] Alert: DeadLetterQueueNotEmpty"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "3 message(s) in the dead-letter queue (vhost /)" in text and "vhost=/" in text
    wait_for(lambda: webhook.received, message="the chat webhook")
    assert webhook.received[0]["text"].startswith("**[critical] Alert: DeadLetterQueueNotEmpty**")
    assert webhook.received[0]["props"]["fingerprint"] == "4f2a9c0e5b7d1e33"

    resolved = post(gateway_url, resolved_payload())
    assert resolved.status_code == 200 and resolved.json()["notified"] == 1
    assert post(gateway_url, resolved_payload()).json()["repeated"] == 1
    mails = smtp.wait(2)
    assert mails[1]["Subject"] == "Resolved: DeadLetterQueueNotEmpty"
    assert "is resolved" in mails[1].get_body(preferencelist=("plain",)).get_content()
    wait_for(lambda: len(webhook.received) >= 2, message="the resolution on the chat webhook")

    # it fires again a minute later (a new episode, within ALERT_DEDUP_SECONDS): flapping, nobody is woken
    flapping = copy.deepcopy(FIRING)
    flapping["alerts"][0]["startsAt"] = "2026-03-02T09:46:00Z"
    assert post(gateway_url, flapping).json()["suppressed"] == 1
    flapped = resolved_payload()
    flapped["alerts"][0]["startsAt"] = "2026-03-02T09:46:00Z"
    assert post(gateway_url, flapped).json()["suppressed"] == 1  # its resolution: nobody heard it fire
    eventlet_quiet()
    assert len(smtp.messages()) == 2 and len(webhook.received) == 2
    sent = spy.wait("notification.sent", 4)
    assert sorted((e["data"]["template"], e["data"]["channel"]) for e in sent) == [
        ("ops_alert", "email"), ("ops_alert", "email"), ("ops_alert", "webhook"), ("ops_alert", "webhook")]
    assert drain_queue(notif_config["AMQP_URI"], "platform.dead-letter") == []


def test_a_message_that_could_not_go_out_yet_asks_alertmanager_to_send_again(
        notif_config, smtp_factory, webhook, container_factory, gateway_url):
    smtp = smtp_factory(fail_first=1)  # the mail server says 451 once
    notif_config["AUTH"]["ALERTMANAGER_TOKEN_SHA256"] = hashlib.sha256(TOKEN.encode()).hexdigest()
    notif_config["NOTIFICATIONS"].update(SMTP_PORT=smtp.port, ALERT_EMAILS="oncall@steunpunt.example",
                                         ALERT_WEBHOOK_URLS=webhook.url)
    for cls in (NotificationsService, GatewayService):
        container_factory(cls, notif_config).start()
    first = post(gateway_url, FIRING)
    assert first.status_code == 503, first.text  # Alertmanager retries a 5xx
    assert first.json()["details"]["retry_later"] == 1
    wait_for(lambda: webhook.received, message="the chat webhook")  # that one went
    again = post(gateway_url, FIRING)
    assert again.status_code == 200 and again.json()["repeated"] == 1
    (mail,) = smtp.wait(1)
    assert mail["Subject"] == "[critical] Alarm: DeadLetterQueueNotEmpty"  # ALERT_LANGUAGE nl
    eventlet_quiet()
    assert len(smtp.messages()) == 1 and len(webhook.received) == 1


def test_bad_payloads_and_missing_tokens_are_refused(alert_gateway, gateway_url):
    smtp = alert_gateway
    bad = copy.deepcopy(FIRING)
    bad["version"] = "3"
    bad["alerts"][0].pop("fingerprint")
    bad["alerts"][0]["labels"].pop("alertname")
    response = post(gateway_url, bad)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_failed"
    assert set(body["details"]) == {"version", "alerts.0.fingerprint", "alerts.0.labels"}
    response = requests.post(f"{gateway_url}/api/alerts/alertmanager", data=b"not json", timeout=15,
                             headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert response.status_code == 400 and "_body" in response.json()["details"]
    for token in (None, STAFF_TOKEN, "wrong"):  # a staff token is not Alertmanager's
        response = post(gateway_url, FIRING, token=token)
        assert response.status_code == 401, token
        assert response.json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    eventlet_quiet()
    assert smtp.messages() == []


def eventlet_quiet(seconds: float = 1.0):
    import eventlet

    eventlet.sleep(seconds)
