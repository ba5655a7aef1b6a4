"""activity.scheduled and activity.updated reach the notifications service on two queues, so after an
outage they are handled in any order: the newest times are kept (by occurred_at, then event id), the
registrants hear of a move once, never of a move back to older times, and the reminder follows the
newest times. Real RabbitMQ, real SMTP; registration's own events are taken off the queues and
published again in the order the test wants."""
from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select

from kernel.envelope import new_event
from kernel.tables import processed_events
from kernel.topology import delay_queue
from services.notifications.models import activity_schedule
from services.notifications.service import NotificationsService
from services.registration.service import RegistrationService
from tests.helpers import broker_idle, drain_queue, queue_depth, wait_for
from tests.integration.notifications.conftest import publish
from tests.integration.notifications.test_delivery import attachments, ics_fields
from tests.integration.registration.conftest import activity_payload, registration_payload

CREATED_QUEUE = "evt-registration-registration.created--notifications.on_registration_created"
SCHEDULED_QUEUE = "evt-registration-activity.scheduled--notifications.on_activity_scheduled"
UPDATED_QUEUE = "evt-registration-activity.updated--notifications.on_activity_updated"


class NotificationsDb:
    def __init__(self, url: str):
        self.engine = create_engine(url)

    def schedule(self, activity_id: str) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(activity_schedule).where(activity_schedule.c.activity_id == activity_id)).first()
        return dict(row._mapping) if row is not None else None

    def processed(self, event_id: str) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(
                select(processed_events.c.event_id).where(processed_events.c.event_id == event_id)).first() is not None


@pytest.fixture
def notifications_db(notif_config):
    db = NotificationsDb(notif_config["DATABASES"]["notifications"])
    yield db
    db.engine.dispose()


def relayed(amqp_uri: str, queue: str, count: int) -> list[dict]:
    """The `count` events registration's relay published to `queue`, taken off it, oldest first."""
    wait_for(lambda: queue_depth(amqp_uri, queue) >= count, message=f"{count} event(s) in {queue}")
    envelopes = [json.loads(message.body) for message in drain_queue(amqp_uri, queue)]
    assert len(envelopes) == count
    return sorted(envelopes, key=lambda envelope: datetime.fromisoformat(envelope["occurred_at"]))


def handled(db: NotificationsDb, envelope: dict) -> None:
    wait_for(lambda: db.processed(envelope["event_id"]), message=f"{envelope['event_type']} handled")


def settled(config: dict) -> None:
    """Wait until every delivery on the activity queues (and their retries) is handled and acknowledged:
    nothing more reaches notifications then, unless someone publishes."""
    queues = [SCHEDULED_QUEUE, UPDATED_QUEUE, *(delay_queue(ms).name for ms in config["EVENTS"]["RETRY_DELAYS_MS"])]
    wait_for(lambda: broker_idle(config["AMQP_URI"], queues), timeout=60, interval=0.2,
             message="the activity queues empty and every delivery acknowledged")


@pytest.fixture
def reminder_rounds(monkeypatch) -> list:
    """One entry per finished run of notifications' reminder timer (the service itself unchanged)."""
    rounds = []
    send_reminders = NotificationsService.send_reminders

    def counted(self):
        send_reminders(self)
        rounds.append(True)

    monkeypatch.setattr(NotificationsService, "send_reminders", functools.wraps(send_reminders)(counted))
    return rounds


def moved_mails(smtp) -> list:
    return [m for m in smtp.messages() if m["Subject"].startswith("New date")]


def test_an_update_handled_before_its_schedule_is_told_once_and_its_times_kept(
        smtp_factory, notif_config, container_factory, registration, notifications, notifications_db,
        reminder_rounds):
    """The move comes first (nothing to compare it with: no mail yet); the older activity.scheduled then
    shows it was a move (one mail, caused by the update; SMTP refuses it once, so it goes out on the
    activity.scheduled's retry) and does not bring the old times back: no reminder for the old start,
    which is within the reminder window (the new one is not)."""
    smtp = smtp_factory(fail_first=1)
    notif_config["NOTIFICATIONS"].update(SMTP_PORT=smtp.port, REMINDER_DAYS_BEFORE=3, REMINDER_CHECK_SECONDS=0.3)
    amqp = notif_config["AMQP_URI"]
    container_factory(RegistrationService, notif_config).start()  # declares notifications' queues too
    now = datetime.now(UTC).replace(microsecond=0)
    old_start, new_start = now + timedelta(days=2), now + timedelta(days=20)
    activity = registration.create_activity(activity_payload(
        title="Trefdag", starts_at=old_start.isoformat(), ends_at=(old_start + timedelta(hours=6)).isoformat()))
    activity_id = activity["activity_id"]
    registration.register(activity_id, registration_payload(1, language="en"))
    registration.update_activity(activity_id, {
        "starts_at": new_start.isoformat(), "ends_at": (new_start + timedelta(hours=6)).isoformat()})
    relayed(amqp, CREATED_QUEUE, 1)  # no confirmation mail: the move's is the only one
    # the producer's events replaced by the same facts with chosen times: the schedule an hour older
    (relayed_scheduled,) = relayed(amqp, SCHEDULED_QUEUE, 1)
    (relayed_updated,) = relayed(amqp, UPDATED_QUEUE, 1)
    scheduled = new_event("registration", "activity.scheduled", relayed_scheduled["data"],
                          occurred_at=now - timedelta(hours=1))
    updated = new_event("registration", "activity.updated", relayed_updated["data"], occurred_at=now)

    container_factory(NotificationsService, notif_config).start()
    publish(amqp, updated)
    handled(notifications_db, updated)
    assert notifications_db.schedule(activity_id)["starts_at"] == new_start
    publish(amqp, scheduled)
    handled(notifications_db, scheduled)
    smtp.wait(1)
    for envelope in (updated, scheduled):  # redelivered: nothing twice
        publish(amqp, envelope)
    settled(notif_config)
    rounds = len(reminder_rounds)
    wait_for(lambda: len(reminder_rounds) >= rounds + 2, message="two more reminder rounds")

    assert [m["Subject"] for m in smtp.messages()] == ["New date: Trefdag"]
    (mail,) = smtp.messages()
    assert mail["To"] == "deelnemer1@example.org"
    ics = ics_fields(attachments(mail)["activity.ics"])
    assert ics["DTSTART"] == new_start.strftime("%Y%m%dT%H%M%SZ") and ics["SEQUENCE"] == "1"
    (moved_row,) = notifications.list_notifications()
    assert (moved_row["template"], moved_row["cause_event_id"], moved_row["cause_event_type"]) == (
        "activity_moved", updated["event_id"], "activity.updated")
    assert (moved_row["status"], moved_row["attempts"]) == ("sent", 2)
    stored = notifications_db.schedule(activity_id)
    assert (stored["starts_at"], stored["ends_at"]) == (new_start, new_start + timedelta(hours=6))
    assert (stored["times_at"], stored["times_event_id"]) == (now, updated["event_id"])
    assert (stored["sequence"], stored["move_unknown"], stored["reminded_for"]) == (1, False, None)


def test_two_updates_handled_newest_first_keep_the_newest_times_and_never_move_back(
        smtp_factory, notif_config, container_factory, registration, notifications_db):
    smtp = smtp_factory()
    notif_config["NOTIFICATIONS"]["SMTP_PORT"] = smtp.port
    amqp = notif_config["AMQP_URI"]
    container_factory(RegistrationService, notif_config).start()
    now = datetime.now(UTC).replace(microsecond=0)
    activity = registration.create_activity(activity_payload(title="Studiedag"))
    activity_id = activity["activity_id"]
    registration.register(activity_id, registration_payload(1, language="en"))
    first_move, second_move = now + timedelta(days=15), now + timedelta(days=20)
    for start in (first_move, second_move):
        registration.update_activity(activity_id, {
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=6)).isoformat()})
    older, newer = relayed(amqp, UPDATED_QUEUE, 2)  # activity.scheduled stays queued: handled first

    container_factory(NotificationsService, notif_config).start()
    wait_for(lambda: notifications_db.schedule(activity_id), message="the activity.scheduled handled")
    publish(amqp, newer)
    handled(notifications_db, newer)
    publish(amqp, older)
    handled(notifications_db, older)
    smtp.wait(2)  # the confirmation and the move
    for envelope in (newer, older):  # redelivered: nothing twice
        publish(amqp, envelope)
    settled(notif_config)

    assert sorted(m["Subject"] for m in smtp.messages()) == ["New date: Studiedag", "You are registered: Studiedag"]
    (mail,) = moved_mails(smtp)
    assert ics_fields(attachments(mail)["activity.ics"])["DTSTART"] == second_move.strftime("%Y%m%dT%H%M%SZ")
    stored = notifications_db.schedule(activity_id)
    assert (stored["starts_at"], stored["times_event_id"], stored["sequence"]) == (second_move, newer["event_id"], 1)
