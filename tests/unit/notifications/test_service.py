"""The notifications service's event handlers in a worker of their own (nameko's worker_factory): the
message log on a migrated SQLite database, registration's RPC, the mail transport and the outbox
replaced by fakes.

No broker, no SMTP server: which mails go out, how often, and what the log and the committed events
say about them, also when sending fails."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from kernel.dependencies import WorkerDatabase
from services.notifications.delivery import PermanentFailure, Settings, TemporaryFailure
from services.notifications.models import captured_mail, messages
from services.notifications.sending import GaveUp
from services.notifications.service import NotificationsService

MAX_ATTEMPTS = 4
STARTS = datetime(2026, 6, 1, 8, tzinfo=UTC)


class FakeTransport:
    """The worker's `delivery`: records each mail (or raises the failure it is told to), and keeps the
    raw message as the local capture does. `attempt`: which delivery of the event this worker handles."""

    def __init__(self, attempt: int = 1, failures=()):
        self.settings = Settings.from_config({"NOTIFICATIONS": {"FROM": "Steunpunt <noreply@steunpunt.test>"}})
        self.attempt, self.max_attempts = attempt, MAX_ATTEMPTS
        self.failures = list(failures)
        self.sent: list[tuple[str, str]] = []

    def send_email(self, message, to: str) -> bytes:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((to, str(message["Subject"])))
        return message.as_bytes()


class FakeRegistration:
    """Registration's RPC as the handlers ask it: the contact details of one registration."""

    def __init__(self, contact: dict):
        self.contact = contact

    def contact_for_registration(self, registration_id, include_cancelled=False):
        return self.contact if registration_id == self.contact["registration_id"] else None


CONTACT = {
    "registration_id": "reg-1", "person_id": "person-1", "name": "Ann Peeters", "email": "ann@example.org",
    "language": "en", "status": "confirmed", "waitlist_position": None, "cancel_token": "token-1",
    "activity": {"activity_id": "act-1", "title": "Volunteers: finding and keeping them",
                 "starts_at": STARTS.isoformat(), "ends_at": (STARTS + timedelta(hours=7)).isoformat(),
                 "location": "Brussel", "online_link": None, "status": "scheduled", "cancel_reason": None},
}


@pytest.fixture
def service_name():
    return "notifications"


def worker(database, transport):
    return worker_factory(NotificationsService, db=WorkerDatabase(database, "notifications.on_registration_confirmed"),
                          delivery=transport, registration=FakeRegistration(CONTACT),
                          config={"PUBLIC_BASE_URL": "https://steunpunt.test"})


def confirmed_event() -> dict:
    return {"event_id": str(uuid.uuid4()), "event_type": "registration.confirmed",
            "occurred_at": datetime.now(UTC).isoformat(), "producer": "registration", "schema_version": 1,
            "data": {"registration_id": "reg-1", "activity_id": "act-1"}}


def log_of(database) -> list:
    with database.read() as session:
        return session.execute(select(messages.c.template, messages.c.recipient, messages.c.status,
                                      messages.c.attempts, messages.c.email, messages.c.error)).all()


def test_a_confirmed_registration_sends_one_mail_and_records_it(database, committed):
    transport = FakeTransport()
    event = confirmed_event()

    worker(database, transport).on_registration_confirmed(event)

    assert [to for to, _ in transport.sent] == ["ann@example.org"]
    ((template, recipient, status, attempts, address, error),) = log_of(database)
    assert (template, recipient, status, attempts, address, error) == ("promoted", "person:person-1", "sent", 1,
                                                                       None, None)
    (told,) = committed.of("notification.sent")
    assert (told["template"], told["channel"], told["cause_event_id"]) == ("promoted", "email", event["event_id"])
    with database.read() as session:
        assert session.execute(select(captured_mail.c.recipient)).scalars().all() == ["ann@example.org"]


def test_the_same_event_again_sends_nothing(database, committed):
    event = confirmed_event()
    worker(database, FakeTransport()).on_registration_confirmed(event)
    again = FakeTransport(attempt=2)

    worker(database, again).on_registration_confirmed(event)

    assert again.sent == []
    assert len(log_of(database)) == 1 and len(committed.of("notification.sent")) == 1


def test_a_temporary_failure_is_retried_and_the_retry_sends_once(database, committed):
    event = confirmed_event()
    failing = FakeTransport(failures=[TemporaryFailure("SMTP 421 try again later")])

    with pytest.raises(TemporaryFailure):  # the kernel retries the event with back-off
        worker(database, failing).on_registration_confirmed(event)

    assert failing.sent == []
    ((_, _, status, attempts, address, error),) = log_of(database)
    assert (status, attempts, address, error) == ("pending", 1, "ann@example.org", "SMTP 421 try again later")
    assert committed.of("notification.sent") == committed.of("notification.failed") == []

    retry = FakeTransport(attempt=2)
    worker(database, retry).on_registration_confirmed(event)

    assert [to for to, _ in retry.sent] == ["ann@example.org"]
    assert [row.status for row in log_of(database)] == ["sent"]
    assert len(committed.of("notification.sent")) == 1


@pytest.mark.parametrize("attempt, failure", [
    (1, PermanentFailure("recipient refused: 550 no such user")),
    (MAX_ATTEMPTS, TemporaryFailure("SMTP 421 try again later")),
], ids=["permanent", "temporary-on-the-last-attempt"])
def test_a_failure_for_good_marks_the_message_failed_and_dead_letters_the_event(database, committed, attempt,
                                                                                failure):
    event = confirmed_event()
    transport = FakeTransport(attempt=attempt, failures=[failure])

    with pytest.raises(GaveUp):
        worker(database, transport).on_registration_confirmed(event)

    ((_, _, status, _, address, error),) = log_of(database)
    assert (status, address) == ("failed", None) and error
    (failed,) = committed.of("notification.failed")
    assert (failed["template"], failed["cause_event_id"]) == ("promoted", event["event_id"])
    assert committed.of("notification.sent") == []

    later = FakeTransport()
    worker(database, later).on_registration_confirmed(event)  # a replay finds it failed: nothing goes
    assert later.sent == []


def test_a_walk_in_is_told_nothing_about_a_registration(database, committed):
    transport = FakeTransport()
    created = {**confirmed_event(), "event_type": "registration.created",
               "data": {"registration_id": "reg-1", "activity_id": "act-1", "person_id": "person-1",
                        "organisation_id": None, "org_type": "individu", "recognised": False,
                        "target_group": "secondary", "role": None, "status": "confirmed", "walk_in": True}}

    worker(database, transport).on_registration_created(created)
    assert transport.sent == [] and log_of(database) == []

    worker(database, transport).on_registration_created({**created, "event_id": str(uuid.uuid4()),
                                                         "data": {**created["data"], "walk_in": False}})
    assert [to for to, _ in transport.sent] == ["ann@example.org"]  # the same event of a registration is told
