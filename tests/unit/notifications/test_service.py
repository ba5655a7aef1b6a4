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

    def __init__(self, attempt: int = 1, failures=(), refuse=()):
        self.settings = Settings.from_config({"NOTIFICATIONS": {"FROM": "Steunpunt <noreply@steunpunt.test>"}})
        self.attempt, self.max_attempts = attempt, MAX_ATTEMPTS
        self.failures = list(failures)
        self.refuse = set(refuse)  # addresses refused for good
        self.sent: list[tuple[str, str]] = []

    def send_email(self, message, to: str) -> bytes:
        if self.failures:
            raise self.failures.pop(0)
        if to in self.refuse:
            raise PermanentFailure("recipient refused: 550 no such user")
        self.sent.append((to, str(message["Subject"])))
        return message.as_bytes()


class FakeRegistration:
    """Registration's RPC as the handlers ask it: the contact details of registrations (`contacts`:
    the active ones; `cancelled`: those only given with include_cancelled). `asked` keeps each call."""

    def __init__(self, *contacts: dict, cancelled=()):
        self.contacts = {contact["registration_id"]: contact for contact in contacts}
        self.cancelled = {contact["registration_id"]: contact for contact in cancelled}
        self.asked: list[tuple[list, bool]] = []

    def contacts_for_registrations(self, registration_ids, include_cancelled=False):
        self.asked.append((list(registration_ids), include_cancelled))
        known = {**self.contacts, **(self.cancelled if include_cancelled else {})}
        return {registration_id: known.get(registration_id) for registration_id in registration_ids}


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


def worker(database, transport, registration=None):
    return worker_factory(NotificationsService, db=WorkerDatabase(database, "notifications.on_registration_confirmed"),
                          delivery=transport, registration=registration or FakeRegistration(CONTACT),
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

    worker(database, transport).on_registration_confirmed([event])

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
    worker(database, FakeTransport()).on_registration_confirmed([event])
    again = FakeTransport(attempt=2)

    worker(database, again).on_registration_confirmed([event])

    assert again.sent == []
    assert len(log_of(database)) == 1 and len(committed.of("notification.sent")) == 1


def test_a_temporary_failure_is_retried_and_the_retry_sends_once(database, committed):
    event = confirmed_event()
    failing = FakeTransport(failures=[TemporaryFailure("SMTP 421 try again later")])

    with pytest.raises(TemporaryFailure):  # the kernel retries the event with back-off
        worker(database, failing).on_registration_confirmed([event])

    assert failing.sent == []
    ((_, _, status, attempts, address, error),) = log_of(database)
    assert (status, attempts, address, error) == ("pending", 1, "ann@example.org", "SMTP 421 try again later")
    assert committed.of("notification.sent") == committed.of("notification.failed") == []

    retry = FakeTransport(attempt=2)
    worker(database, retry).on_registration_confirmed([event])

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
        worker(database, transport).on_registration_confirmed([event])

    ((_, _, status, _, address, error),) = log_of(database)
    assert (status, address) == ("failed", None) and error
    (failed,) = committed.of("notification.failed")
    assert (failed["template"], failed["cause_event_id"]) == ("promoted", event["event_id"])
    assert committed.of("notification.sent") == []

    later = FakeTransport()
    worker(database, later).on_registration_confirmed([event])  # a replay finds it failed: nothing goes
    assert later.sent == []


def test_a_walk_in_is_told_nothing_about_a_registration(database, committed):
    transport = FakeTransport()
    created = {**confirmed_event(), "event_type": "registration.created",
               "data": {"registration_id": "reg-1", "activity_id": "act-1", "person_id": "person-1",
                        "organisation_id": None, "org_type": "individu", "recognised": False,
                        "target_group": "secondary", "role": None, "status": "confirmed", "walk_in": True}}

    worker(database, transport).on_registration_created([created])
    assert transport.sent == [] and log_of(database) == []

    worker(database, transport).on_registration_created([{**created, "event_id": str(uuid.uuid4()),
                                                          "data": {**created["data"], "walk_in": False}}])
    assert [to for to, _ in transport.sent] == ["ann@example.org"]  # the same event of a registration is told


# --- batches: a registration opening -----------------------------------------------------------------------


def contact(n: int, status: str = "confirmed", position: int | None = None) -> dict:
    return {**CONTACT, "registration_id": f"reg-{n}", "person_id": f"person-{n}", "email": f"p{n}@example.org",
            "status": status, "waitlist_position": position}


def registration_event(event_type: str, n: int, **data) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "occurred_at": datetime.now(UTC).isoformat(),
            "producer": "registration", "schema_version": 1,
            "data": {"registration_id": f"reg-{n}", "activity_id": "act-1", **data}}


def created(n: int, status: str = "confirmed", walk_in: bool = False) -> dict:
    return registration_event("registration.created", n, status=status, walk_in=walk_in)


def templates_sent(database) -> list[tuple[str, str]]:
    return sorted((row.recipient, row.template) for row in log_of(database) if row.status == "sent")


def test_a_batch_asks_one_rpc_and_sends_each_its_template_once(database, committed):
    registration = FakeRegistration(contact(1), contact(2, "waitlisted", 1), contact(3))
    batch = [created(1), created(2, "waitlisted"), created(3, walk_in=True), created(4)]  # 4: cancelled since
    transport = FakeTransport()

    worker(database, transport, registration).on_registration_created(batch)

    assert registration.asked == [(["reg-1", "reg-2", "reg-4"], False)]  # a walk-in is not even asked about
    assert sorted(to for to, _ in transport.sent) == ["p1@example.org", "p2@example.org"]
    assert templates_sent(database) == [("person:person-1", "registration_confirmed"),
                                        ("person:person-2", "waitlisted")]
    assert sorted(e["template"] for e in committed.of("notification.sent")) == ["registration_confirmed",
                                                                                "waitlisted"]
    assert {row.attempts for row in log_of(database)} == {1}

    again = FakeTransport(attempt=2)
    worker(database, again, registration).on_registration_created(batch)  # the batch redelivered
    assert again.sent == [] and len(log_of(database)) == 2 and len(committed.of("notification.sent")) == 2


def test_a_batch_of_cancellations_asks_for_cancelled_registrations_and_skips_the_systems(database, committed):
    registration = FakeRegistration(cancelled=[contact(1), contact(2)])
    transport = FakeTransport()

    worker(database, transport, registration).on_registration_cancelled([
        registration_event("registration.cancelled", 1, cancelled_by="participant"),
        registration_event("registration.cancelled", 2, cancelled_by="system")])

    assert registration.asked == [(["reg-1"], True)]
    assert templates_sent(database) == [("person:person-1", "registration_cancelled")]
    assert [e["template"] for e in committed.of("notification.sent")] == ["registration_cancelled"]


def test_a_failure_in_a_batch_is_left_to_the_one_event_handover(database, committed):
    """The batch sends what it can and hands the rest back untouched; the kernel then calls the handler
    with each event alone and its attempt number: the refused one fails for good there, once."""
    registration = FakeRegistration(contact(1), contact(2), contact(3))
    batch = [created(1), created(2), created(3)]

    with pytest.raises(TemporaryFailure):
        worker(database, FakeTransport(refuse={"p2@example.org"}), registration).on_registration_created(batch)

    rows = {row.recipient: row for row in log_of(database)}
    assert (rows["person:person-2"].status, rows["person:person-2"].attempts) == ("pending", 0)
    assert templates_sent(database) == [("person:person-1", "registration_confirmed"),
                                        ("person:person-3", "registration_confirmed")]
    assert committed.of("notification.failed") == []

    handover = FakeTransport(refuse={"p2@example.org"})
    for event in batch:
        if event is batch[1]:
            with pytest.raises(GaveUp):
                worker(database, handover, registration).on_registration_created([event])
        else:
            worker(database, handover, registration).on_registration_created([event])

    assert handover.sent == []
    rows = {row.recipient: row for row in log_of(database)}
    assert (rows["person:person-2"].status, rows["person:person-2"].attempts) == ("failed", 1)
    assert len(committed.of("notification.sent")) == 2 and len(committed.of("notification.failed")) == 1


def test_a_batch_drops_what_was_begun_for_a_registration_cancelled_since(database, committed):
    late = created(9)
    with pytest.raises(TemporaryFailure):  # its first try: left pending, with the address
        worker(database, FakeTransport(failures=[TemporaryFailure("SMTP 421")]),
               FakeRegistration(contact(9))).on_registration_created([late])
    transport = FakeTransport(attempt=2)

    worker(database, transport, FakeRegistration(contact(1))).on_registration_created([late, created(1)])

    assert [to for to, _ in transport.sent] == ["p1@example.org"]
    rows = {row.recipient: row for row in log_of(database)}
    assert (rows["person:person-9"].status, rows["person:person-9"].email) == ("dropped", None)
    assert [e["template"] for e in committed.of("notification.sent")] == ["registration_confirmed"]
