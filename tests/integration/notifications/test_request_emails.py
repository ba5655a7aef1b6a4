"""The request desk's emails over the real RabbitMQ, with the real requests service and a real SMTP
server: the acknowledgement of a request (once, also when request.received is redelivered) and the
decline with its referral, in the requester's language; no address, no message and no failure; the
staff reminder of an overdue request (its assignee, else the desk), once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import eventlet
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, update

from services.requests.models import requests as requests_table
from tests.helpers import EventSpy, drain_queue, wait_for
from tests.integration.notifications.conftest import event, publish
from tests.integration.requests.conftest import intake_payload


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def quiet(seconds: float = 1.0):
    eventlet.sleep(seconds)


def declines_consumed(outcome: str) -> float:
    return REGISTRY.get_sample_value("platform_events_consumed_total", {
        "consumer": "notifications.on_request_declined", "event_type": "request.declined", "outcome": outcome,
    }) or 0.0


def sent_templates(spy) -> list[str]:
    return sorted(e["data"]["template"] for e in spy.of_type("notification.sent"))


def test_acknowledgement_once_in_the_requesters_language(smtp_factory, start_platform, requests_rpc,
                                                         notif_config, spy):
    notif_config["REQUESTS"]["ANSWER_WITHIN_WORKING_DAYS"] = 3
    request_events = EventSpy(notif_config["AMQP_URI"], "requests")
    smtp = smtp_factory()
    start_platform(smtp, with_requests=True)
    receipt = requests_rpc.submit_request(intake_payload(language="en", name="An Peeters",
                                                         email="an@example.org"))
    (mail,) = smtp.wait(1)
    assert mail["To"] == "an@example.org"
    assert mail["Subject"] == "We have received your request"
    assert mail["Content-Language"] == "en"
    text = text_of(mail)
    assert text.startswith("Hello An Peeters,")
    assert "Thank you for your request to the Support Centre" in text
    assert "within 3 working days" in text
    assert "within 3 working days" in html_of(mail)
    assert list(mail.iter_attachments()) == []
    (sent,) = spy.wait("notification.sent")
    assert sent["data"]["template"] == "request_acknowledgement"

    # the same request.received again (a redelivery): nothing more
    (received,) = request_events.wait("request.received")
    assert received["data"]["request_id"] == receipt["request_id"]
    assert sent["data"]["cause_event_id"] == received["event_id"]
    publish(notif_config["AMQP_URI"], received)
    publish(notif_config["AMQP_URI"], received)
    quiet(2)
    assert len(smtp.messages()) == 1
    assert sent_templates(spy) == ["request_acknowledgement"]


def test_decline_with_a_referral_in_the_requesters_language(smtp_factory, start_platform, requests_rpc, spy):
    smtp = smtp_factory()
    start_platform(smtp, with_requests=True)
    receipt = requests_rpc.submit_request(intake_payload(language="fr", name="Luc Dubois",
                                                         email="luc@example.org"))
    (acknowledgement,) = smtp.wait(1)
    assert acknowledgement["Subject"] == "Nous avons bien reçu votre demande"
    requests_rpc.explore(receipt["request_id"], {"notes": "Gesprek: vraag naar langdurige begeleiding."})
    requests_rpc.decline(receipt["request_id"], {"reason": "long_term_coaching",
                                                 "referred_to": "Vrijwilligerspunt Brussel"})
    mails = smtp.wait(2)
    declined = mails[1]
    assert declined["To"] == "luc@example.org"
    assert declined["Subject"] == "Notre réponse à votre demande au Centre d'appui"
    assert declined["Content-Language"] == "fr"
    text = text_of(declined)
    assert text.startswith("Bonjour Luc Dubois,")
    assert "Votre question demande un accompagnement de longue durée." in text
    assert "Nous vous orientons vers Vrijwilligerspunt Brussel." in text
    assert "Vrijwilligerspunt Brussel" in html_of(declined)
    assert "long_term_coaching" not in text
    spy.wait("notification.sent", 2)
    quiet()
    assert len(smtp.messages()) == 2
    assert sent_templates(spy) == ["request_acknowledgement", "request_declined"]


def test_decline_without_referral_names_no_partner(smtp_factory, start_platform, requests_rpc):
    smtp = smtp_factory()
    start_platform(smtp, with_requests=True)
    receipt = requests_rpc.submit_request(intake_payload(language="nl", email="jan@example.org"))
    smtp.wait(1)
    requests_rpc.explore(receipt["request_id"])
    requests_rpc.decline(receipt["request_id"], {"reason": "no_capacity", "referred_to": None})
    declined = smtp.wait(2)[1]
    assert declined["Subject"] == "Antwoord op je vraag aan het Steunpunt"
    text = text_of(declined)
    assert "We hebben nu niet genoeg tijd of mensen om je goed te helpen." in text
    assert "verwijzen" not in text


def test_no_address_or_unknown_request_sends_nothing_and_fails_nothing(smtp_factory, start_platform, requests_rpc,
                                                                        notifications, notif_config, spy):
    smtp = smtp_factory()
    start_platform(smtp, with_requests=True)
    # a request staff took by phone; its requester has no address (any more)
    payload = intake_payload(email="tel@example.org")
    del payload["privacy_consent"]  # the public form's, not the staff's
    request = requests_rpc.record_request({**payload, "channel": "phone"})
    smtp.wait(1)
    handled, retried = declines_consumed("handled"), declines_consumed("retried")
    engine = create_engine(notif_config["DATABASES"]["requests"])
    with engine.begin() as connection:
        connection.execute(update(requests_table).where(requests_table.c.request_id == request["request_id"])
                           .values(contact_email=""))
    engine.dispose()
    requests_rpc.explore(request["request_id"])
    requests_rpc.decline(request["request_id"], {"reason": "out_of_scope", "referred_to": "Buurtwerk Noord"})
    # and a decline of a request the requests service does not know
    publish(notif_config["AMQP_URI"], event("requests", "request.declined", {
        "request_id": "no-such-request", "reason": "other", "referred_to": None}))
    wait_for(lambda: declines_consumed("handled") >= handled + 2, message="both declines handled")
    quiet()
    assert declines_consumed("retried") == retried  # handled at the first attempt: no failure
    assert len(smtp.messages()) == 1
    assert sent_templates(spy) == ["request_acknowledgement"]
    assert spy.of_type("notification.failed") == []
    assert drain_queue(notif_config["AMQP_URI"], "platform.dead-letter") == []
    assert [n["template"] for n in notifications.list_notifications()] == ["request_acknowledgement"]


def consumed(consumer: str, event_type: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("platform_events_consumed_total", {
        "consumer": f"notifications.{consumer}", "event_type": event_type, "outcome": outcome}) or 0.0


def test_phone_intake_without_an_address_is_acknowledged_to_nobody_and_fails_nothing(
        smtp_factory, start_platform, requests_rpc, notifications, notif_config, spy):
    request_events = EventSpy(notif_config["AMQP_URI"], "requests")
    smtp = smtp_factory()
    start_platform(smtp, with_requests=True)
    handled = consumed("on_request_received", "request.received", "handled")
    retried = consumed("on_request_received", "request.received", "retried")
    payload = intake_payload(email=None, phone="+32 470 12 34 56")
    del payload["privacy_consent"]
    request = requests_rpc.record_request(payload)
    assert request["email"] is None
    (received,) = request_events.wait("request.received")
    assert received["data"]["request_id"] == request["request_id"]
    wait_for(lambda: consumed("on_request_received", "request.received", "handled") >= handled + 1,
             message="request.received handled")
    quiet()
    assert consumed("on_request_received", "request.received", "retried") == retried
    assert smtp.messages() == [] and spy.poll() == []
    assert notifications.list_notifications() == []
    assert drain_queue(notif_config["AMQP_URI"], "platform.dead-letter") == []


def test_an_overdue_request_reminds_its_assignee_or_else_the_desk_once(smtp_factory, start_platform, requests_rpc,
                                                                        notifications, notif_config, spy):
    request_events = EventSpy(notif_config["AMQP_URI"], "requests")
    smtp = smtp_factory()
    start_platform(smtp, with_requests=True, REQUEST_DESK_EMAILS="balie@steunpunt.example",
                   ALERT_EMAILS="oncall@steunpunt.example", ALERT_LANGUAGE="en")
    bram = requests_rpc.create_staff({"name": "Bram Claes", "email": "bram@steunpunt.example", "themes": []})
    nobodys = requests_rpc.submit_request(intake_payload(name="An Peeters", email="an@example.org"))["request_id"]
    assigned = requests_rpc.submit_request(intake_payload(name="Jan Smet", email="jan@example.org"))["request_id"]
    on_time = requests_rpc.submit_request(intake_payload(name="Piet", email="piet@example.org"))["request_id"]
    smtp.wait(3)  # the acknowledgements
    # the clock: these two got no answer within their term (and one is on a colleague's name already)
    engine = create_engine(notif_config["DATABASES"]["requests"])
    with engine.begin() as connection:
        connection.execute(update(requests_table).where(requests_table.c.request_id.in_([nobodys, assigned]))
                           .values(answer_due_at=datetime.now(UTC) - timedelta(minutes=1)))
        connection.execute(update(requests_table).where(requests_table.c.request_id == assigned)
                           .values(assignee=bram["staff_id"]))
    engine.dispose()
    assert requests_rpc.mark_overdue() == 2
    assert requests_rpc.mark_overdue() == 0
    overdue = request_events.wait("request.overdue", 2)
    reminders = {m["To"]: m for m in smtp.wait(5)[3:]}
    assert set(reminders) == {"balie@steunpunt.example", "bram@steunpunt.example"}  # not on-call, not requesters
    desk, bram_mail = reminders["balie@steunpunt.example"], reminders["bram@steunpunt.example"]
    assert desk["Subject"].startswith("Request without an answer: received on ")
    assert nobodys in text_of(desk) and "Nobody has taken the request yet." in text_of(desk)
    assert f"/api/staff/requests/{nobodys}" in html_of(desk)
    assert text_of(bram_mail).startswith("Hello Bram Claes,") and assigned in text_of(bram_mail)
    assert "The request is assigned to you." in text_of(bram_mail)
    for mail in reminders.values():  # nothing about the requester
        assert not any(word in text_of(mail) for word in ("An Peeters", "Jan Smet", "example.org", "vrijwilligers"))
    assert on_time not in str([text_of(m) for m in reminders.values()])

    # redelivered: nothing more
    for envelope in overdue:
        publish(notif_config["AMQP_URI"], envelope)
    quiet(2)
    assert len(smtp.messages()) == 5
    assert sent_templates(spy).count("request_overdue") == 2
    assert drain_queue(notif_config["AMQP_URI"], "platform.dead-letter") == []
    log = [n for n in notifications.list_notifications() if n["template"] == "request_overdue"]
    assert sorted(n["recipient"] for n in log) == ["staff:balie@steunpunt.example", "staff:bram@steunpunt.example"]
    assert {n["cause_event_id"] for n in log} == {e["event_id"] for e in overdue}
