"""The notifications service over the real RabbitMQ, with a real SMTP server and webhook receiver:
one message per triggering event (language, content, attachment), nothing twice on redelivery,
retry until an SMTP server recovers, notification.failed and the dead letter for a refused address,
de-duplicated staff alerts by mail and webhook."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import eventlet
from sqlalchemy import create_engine, select

from kernel.tables import outbox
from tests.helpers import drain_queue, wait_for
from tests.integration.notifications.conftest import event, publish
from tests.integration.registration.conftest import activity_payload, registration_payload


def ics_fields(part) -> dict:
    text = part.get_content() if isinstance(part.get_content(), str) else part.get_content().decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    unfolded = text.replace("\r\n ", "")
    return dict(line.split(":", 1) for line in unfolded.split("\r\n") if line)


def attachments(message) -> dict:
    return {part.get_filename(): part for part in message.iter_attachments()}


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def registration_created(config) -> dict:
    """The one registration.created event in the registration service's outbox."""
    engine = create_engine(config["DATABASES"]["registration"])
    with engine.connect() as connection:
        (payload,) = connection.execute(
            select(outbox.c.payload).where(outbox.c.event_type == "registration.created")).scalars()
    engine.dispose()
    return json.loads(payload)


def quiet(seconds: float = 1.0):
    eventlet.sleep(seconds)


def test_registration_messages_in_the_participants_language(smtp_factory, start_platform, registration, spy):
    smtp = smtp_factory()
    start_platform(smtp)
    activity = registration.create_activity(activity_payload(capacity=1, title="Vorming: samen sterk"))
    first = registration.register(activity["activity_id"], registration_payload(1, language="en"))
    second = registration.register(activity["activity_id"], registration_payload(2, language="fr"))
    mails = smtp.wait(2)
    by_to = {m["To"]: m for m in mails}
    confirmed, waitlisted = by_to["deelnemer1@example.org"], by_to["deelnemer2@example.org"]

    assert confirmed["Subject"] == "You are registered: Vorming: samen sterk"
    assert confirmed["Content-Language"] == "en"
    assert f"/registrations/{first['cancel_token']}/cancel" in text_of(confirmed)
    ics = ics_fields(attachments(confirmed)["activity.ics"])
    starts = datetime.fromisoformat(activity["starts_at"]).astimezone(UTC)
    assert ics["DTSTART"] == starts.strftime("%Y%m%dT%H%M%SZ")
    assert ics["SUMMARY"] == "Vorming: samen sterk"

    assert waitlisted["Subject"] == "Vous êtes sur la liste d'attente : Vorming: samen sterk"
    assert "liste d'attente : 1" in text_of(waitlisted)
    assert attachments(waitlisted) == {}

    registration.cancel_registration_by_token(first["cancel_token"])
    mails = smtp.wait(4)
    subjects = sorted(m["Subject"] for m in mails[2:])
    assert subjects == [
        "Une place s'est libérée : vous êtes inscrit(e) à Vorming: samen sterk",
        "Your registration is cancelled: Vorming: samen sterk",
    ]
    promoted = next(m for m in mails[2:] if m["To"] == "deelnemer2@example.org")
    assert f"/registrations/{second['cancel_token']}/cancel" in text_of(promoted)
    assert "activity.ics" in attachments(promoted)
    sent = spy.wait("notification.sent", 4)
    assert {e["data"]["template"] for e in sent} == {
        "registration_confirmed", "waitlisted", "promoted", "registration_cancelled"}
    assert all(set(e["data"]) == {"notification_id", "channel", "template", "cause_event_id"} for e in sent)
    quiet()
    assert len(smtp.messages()) == 4


def test_redelivered_events_send_nothing_twice(smtp_factory, start_platform, registration, notif_config, spy):
    smtp = smtp_factory()
    start_platform(smtp)
    activity = registration.create_activity(activity_payload())
    registration.register(activity["activity_id"], registration_payload(1))
    smtp.wait(1)
    created = registration_created(notif_config)
    publish(notif_config["AMQP_URI"], created)
    publish(notif_config["AMQP_URI"], created)
    quiet(2)
    (mail,) = smtp.messages()
    assert mail["Subject"].startswith("Je bent ingeschreven")
    assert len(spy.of_type("notification.sent")) == 1


def test_a_postponement_reaches_everyone_registered_with_the_new_dates(smtp_factory, start_platform, registration):
    smtp = smtp_factory()
    start_platform(smtp)
    activity = registration.create_activity(activity_payload(title="Vorming"))
    for n, lang in ((1, "nl"), (2, "en")):
        registration.register(activity["activity_id"], registration_payload(n, language=lang))
    smtp.wait(2)
    new_start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=45)
    postponed = registration.postpone_activity(activity["activity_id"], {
        "starts_at": new_start.isoformat(), "ends_at": (new_start + timedelta(hours=6)).isoformat(),
        "reason": "De lesgever is ziek."})
    assert postponed["postponed_from"] == activity["starts_at"] and postponed["seats"]["confirmed"] == 2
    moved = smtp.wait(4)[2:]
    assert sorted(m["Subject"] for m in moved) == ["New date: Vorming", "Nieuwe datum: Vorming"]
    for mail in moved:
        assert ics_fields(attachments(mail)["activity.ics"])["DTSTART"] == new_start.strftime("%Y%m%dT%H%M%SZ")


def test_activity_moved_and_cancelled_reach_everyone_registered(smtp_factory, start_platform, registration):
    smtp = smtp_factory()
    start_platform(smtp)
    activity = registration.create_activity(activity_payload(title="Studiedag"))
    for n, lang in ((1, "nl"), (2, "en")):
        registration.register(activity["activity_id"], registration_payload(n, language=lang))
    smtp.wait(2)
    quiet(0.5)  # activity.scheduled is known to notifications before the move
    new_start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
    registration.update_activity(activity["activity_id"], {
        "starts_at": new_start.isoformat(), "ends_at": (new_start + timedelta(hours=6)).isoformat()})
    moved = smtp.wait(4)[2:]
    assert sorted(m["Subject"] for m in moved) == ["New date: Studiedag", "Nieuwe datum: Studiedag"]
    for mail in moved:
        ics = ics_fields(attachments(mail)["activity.ics"])
        assert ics["DTSTART"] == new_start.strftime("%Y%m%dT%H%M%SZ") and ics["SEQUENCE"] == "1"
    registration.update_activity(activity["activity_id"], {"title": "Studiedag (nieuw)"})  # no move
    registration.cancel_activity(activity["activity_id"], "te weinig inschrijvingen")
    cancelled = smtp.wait(6)[4:]
    assert sorted(m["Subject"] for m in cancelled) == ["Afgelast: Studiedag (nieuw)", "Cancelled: Studiedag (nieuw)"]
    assert all("te weinig inschrijvingen" in text_of(m) for m in cancelled)
    quiet()
    assert len(smtp.messages()) == 6  # no "registration cancelled" mail for the system's cancellations


def test_smtp_refusing_then_recovering_is_retried_until_delivered(smtp_factory, start_platform, registration,
                                                                  notifications, spy):
    smtp = smtp_factory(fail_first=2)  # 451 twice; the third attempt (last retry) gets through
    start_platform(smtp)
    activity = registration.create_activity(activity_payload())
    registration.register(activity["activity_id"], registration_payload(1))
    (mail,) = smtp.wait(1)
    assert mail["Subject"].startswith("Je bent ingeschreven")
    (sent,) = spy.wait("notification.sent")
    (row,) = notifications.list_notifications()
    assert (row["status"], row["attempts"], row["notification_id"]) == ("sent", 3, sent["data"]["notification_id"])
    assert spy.of_type("notification.failed") == []


def test_refused_address_ends_as_failed_and_dead_lettered(smtp_factory, start_platform, registration,
                                                          notifications, notif_config, spy):
    smtp = smtp_factory(refuse=["deelnemer1@example.org"])
    start_platform(smtp)
    activity = registration.create_activity(activity_payload())
    registration.register(activity["activity_id"], registration_payload(1))
    (failed,) = spy.wait("notification.failed")
    assert failed["data"]["template"] == "registration_confirmed" and failed["data"]["channel"] == "email"
    dead = wait_for(lambda: drain_queue(notif_config["AMQP_URI"], "platform.dead-letter"), timeout=10,
                    message="the dead letter")
    assert dead[0].headers["x-original-queue"].endswith("notifications.on_registration_created")
    assert dead[0].headers["x-error-type"] == "GaveUp"
    (row,) = notifications.list_notifications()
    assert row["status"] == "failed" and "550" in row["error"] and row["attempts"] == 1
    assert smtp.messages() == [] and spy.of_type("notification.sent") == []


def test_kpi_alerts_by_mail_and_webhook_de_duplicated(smtp_factory, start_platform, notif_config, webhook, spy):
    smtp = smtp_factory()
    start_platform(smtp, ALERT_EMAILS="oncall@steunpunt.example", ALERT_WEBHOOK_URLS=webhook.url,
                   ALERT_DEDUP_SECONDS=600, ALERT_LANGUAGE="en")
    data = {"kpi": "satisfaction_pct", "scope": "year:2026", "value": 64.5, "threshold": 70.0}
    breached = event("reporting", "kpi.threshold_breached", data)
    publish(notif_config["AMQP_URI"], breached)
    publish(notif_config["AMQP_URI"], breached)  # redelivered
    publish(notif_config["AMQP_URI"], event("reporting", "kpi.threshold_breached", data))  # flapping
    wait_for(lambda: webhook.received, timeout=10, message="the webhook")
    mails = smtp.wait(1)
    assert [m["Subject"] for m in mails] == ["Alert: KPI satisfaction_pct (year:2026) crossed its threshold"]
    (mail,) = mails
    assert mail["To"] == "oncall@steunpunt.example"
    assert mail["Subject"] == "Alert: KPI satisfaction_pct (year:2026) crossed its threshold"
    publish(notif_config["AMQP_URI"], event("reporting", "kpi.threshold_recovered", {**data, "value": 72.0}))
    wait_for(lambda: len(webhook.received) >= 2, timeout=10, message="the recovery webhook")
    quiet()
    assert len(webhook.received) == 2 and len(smtp.messages()) == 2
    first, second = webhook.received
    assert "satisfaction_pct" in first["text"] and "64.5" in first["text"] and "70.0" in first["text"]
    assert "back to normal" in second["text"]
    assert {e["data"]["channel"] for e in spy.wait("notification.sent", 4)} == {"email", "webhook"}


def test_reminder_days_before_the_start_once(smtp_factory, start_platform, registration):
    """The reminder goes to whoever is registered when the activity enters the reminder window
    (someone registering later has the details in their confirmation). The near activity enters the
    window a few seconds after the registrations: a round between its creation and the registration
    would otherwise find nobody to remind."""
    smtp = smtp_factory()
    start_platform(smtp, REMINDER_DAYS_BEFORE=3, REMINDER_CHECK_SECONDS=0.3)
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, seconds=8)
    later = soon + timedelta(days=10)
    near = registration.create_activity(activity_payload(title="Infosessie", starts_at=soon.isoformat(),
                                                         ends_at=(soon + timedelta(hours=2)).isoformat()))
    far = registration.create_activity(activity_payload(title="Leertraject", starts_at=later.isoformat(),
                                                        ends_at=(later + timedelta(hours=2)).isoformat()))
    registration.register(near["activity_id"], registration_payload(1, language="en"))
    registration.register(far["activity_id"], registration_payload(1, language="en"))
    mails = smtp.wait(3, timeout=30)
    quiet(1.5)  # several timer rounds
    reminders = [m for m in smtp.messages() if m["Subject"].startswith("Reminder")]
    assert [m["Subject"].split(" starts")[0] for m in reminders] == ["Reminder: Infosessie"]
    assert len(smtp.messages()) == 3 and len(mails) == 3


def test_capture_log_and_erasure(start_platform, registration, notifications, notif_config):
    start_platform(None, MAIL_CAPTURE=True)
    activity = registration.create_activity(activity_payload(title="Workshop"))
    result = registration.register(activity["activity_id"], registration_payload(1, language="nl"))
    captured = wait_for(lambda: notifications.list_captured_mail(), timeout=10, message="captured mail")
    mail = notifications.get_captured_mail(captured[0]["id"])
    assert mail["recipient"] == "deelnemer1@example.org" and mail["subject"] == "Je bent ingeschreven: Workshop"
    assert mail["attachments"] == ["activity.ics"] and result["cancel_token"] in mail["text"]
    (row,) = notifications.list_notifications()
    assert row["status"] == "sent" and row["template"] == "registration_confirmed"
    publish(notif_config["AMQP_URI"], event("registration", "person.erased", {"person_id": row["person_id"]}))
    wait_for(lambda: notifications.list_notifications() == [], timeout=10, message="the purge")
    assert notifications.list_captured_mail() == []


def confirmation_left_sending(notif_config, container_factory, registration, updated_at, cancel=False):
    """A registration whose confirmation a dead worker left "sending" (last touched `updated_at`;
    with `cancel`, the registration was cancelled since): (registration.created, the row, log engine)."""
    from services.notifications import domain as notifications_domain
    from services.notifications.models import messages
    from services.registration.service import RegistrationService

    container_factory(RegistrationService, notif_config).start()  # declares notifications' queues too
    activity = registration.create_activity(activity_payload())
    registered = registration.register(activity["activity_id"], registration_payload(1))
    person_id = registration.contact_for_registration(registered["registration_id"])["person_id"]
    if cancel:
        registration.cancel_registration(registered["registration_id"])
    created = registration_created(notif_config)
    row = {"notification_id": str(uuid.uuid4()), "template": "registration_confirmed", "channel": "email",
           "recipient": f"person:{person_id}", "person_id": person_id, "language": "nl",
           "cause_event_id": created["event_id"], "cause_event_type": "registration.created",
           "status": "sending", "attempts": 0, "email": None, "created_at": updated_at, "updated_at": updated_at,
           "dedup_key": notifications_domain.dedup_key(created["event_id"], f"person:{person_id}",
                                                       "registration_confirmed")}
    log = create_engine(notif_config["DATABASES"]["notifications"])
    with log.begin() as connection:
        connection.execute(messages.insert().values(**row))
    return created, row, log


def test_a_message_held_by_a_dead_worker_is_dead_lettered_then_sent_on_replay(
        smtp_factory, notif_config, container_factory, registration, spy):
    """A worker that died while sending leaves its row "sending" (a lease). The event's attempts run out
    before the lease does: the event goes to the dead-letter queue (never acked and dropped), and a
    replay once the lease has passed sends the message, once."""
    from services.notifications.models import messages
    from services.notifications.service import NotificationsService

    smtp = smtp_factory()
    notif_config["NOTIFICATIONS"]["SMTP_PORT"] = smtp.port
    now = datetime.now(UTC)
    created, _, log = confirmation_left_sending(notif_config, container_factory, registration, now)

    container_factory(NotificationsService, notif_config).start()
    dead = wait_for(lambda: drain_queue(notif_config["AMQP_URI"], "platform.dead-letter"), timeout=15,
                    message="the dead letter")
    assert dead[0].headers["x-original-queue"].endswith("notifications.on_registration_created")
    assert dead[0].headers["x-error-type"] == "GaveUp"
    assert smtp.messages() == [] and spy.of_type("notification.failed") == []

    with log.begin() as connection:  # the lease has passed
        connection.execute(messages.update().values(updated_at=now - timedelta(hours=1)))
    publish(notif_config["AMQP_URI"], created)  # the replay
    (mail,) = smtp.wait(1)
    assert mail["Subject"].startswith("Je bent ingeschreven")
    spy.wait("notification.sent")
    with log.connect() as connection:
        assert connection.execute(select(messages.c.status)).scalars().all() == ["sent"]
    log.dispose()


def test_a_message_begun_for_a_registration_cancelled_since_is_dropped_not_left_sending(
        smtp_factory, notif_config, container_factory, registration, spy):
    """A worker died while sending a confirmation; by the event's redelivery the registration was
    cancelled. The confirmation is not sent, and its row ends "dropped" rather than "sending" for
    ever; the cancellation is still told."""
    from services.notifications.models import messages
    from services.notifications.service import NotificationsService

    smtp = smtp_factory()
    notif_config["NOTIFICATIONS"]["SMTP_PORT"] = smtp.port
    long_ago = datetime.now(UTC) - timedelta(hours=1)  # its lease is long over
    _, begun, log = confirmation_left_sending(notif_config, container_factory, registration, long_ago, cancel=True)

    container_factory(NotificationsService, notif_config).start()
    (mail,) = smtp.wait(1)  # the cancellation
    assert not mail["Subject"].startswith("Je bent ingeschreven")

    def status_of_the_confirmation():
        with log.connect() as connection:
            return connection.execute(select(messages.c.status).where(
                messages.c.notification_id == begun["notification_id"])).scalar()

    wait_for(lambda: status_of_the_confirmation() == "dropped", message="the confirmation dropped")
    quiet()
    assert len(smtp.messages()) == 1
    assert drain_queue(notif_config["AMQP_URI"], "platform.dead-letter") == []
    log.dispose()
