"""A registration opening's mails in batches, over the real RabbitMQ, the real registration service and a
real SMTP server: registrations that were queued before notifications ran (confirmed, waitlisted, a
walk-in) are handled in batches, one `contacts_for_registrations` call for many, and give each exactly
one mail with its template and its own details; later the cancellations (by participants and by the
system), the promotions and every registration.created delivered again, queued while notifications was
stopped, give the mails they call for and nothing twice."""
from __future__ import annotations

import functools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select

from kernel.tables import outbox
from kernel.topology import consumers_of, delay_queue
from services.notifications.service import NotificationsService
from services.registration.service import RegistrationService
from tests.helpers import broker_idle, drain_queue, queue_depth, wait_for
from tests.integration.notifications.conftest import publish
from tests.integration.notifications.test_delivery import text_of
from tests.integration.registration.conftest import activity_payload, registration_payload

QUEUE = "evt-registration-registration.{}--notifications.on_registration_{}"
CREATED, CONFIRMED, CANCELLED = (QUEUE.format(kind, kind) for kind in ("created", "confirmed", "cancelled"))


@pytest.fixture
def contact_requests(monkeypatch) -> list[tuple[list[str], bool]]:
    """Each `contacts_for_registrations` call the registration service answers: (ids, include_cancelled)."""
    calls = []
    answer = RegistrationService.contacts_for_registrations

    def recorded(self, registration_ids, include_cancelled=False):
        calls.append((list(registration_ids), include_cancelled))
        return answer(self, registration_ids, include_cancelled)

    monkeypatch.setattr(RegistrationService, "contacts_for_registrations", functools.wraps(answer)(recorded))
    return calls


def settled(config: dict) -> None:
    """Every delivery to notifications (and every retry) handled and acknowledged."""
    queues = [f"evt-{spec.bindings[0][0]}-{spec.bindings[0][1]}--notifications.{spec.method_name}"
              for spec in consumers_of(NotificationsService)]
    queues += [delay_queue(ms).name for ms in config["EVENTS"]["RETRY_DELAYS_MS"]]
    wait_for(lambda: broker_idle(config["AMQP_URI"], queues), timeout=60, interval=0.2,
             message="notifications' queues empty and every delivery acknowledged")


def created_events(config: dict) -> list[dict]:
    """Every registration.created in the registration service's outbox."""
    engine = create_engine(config["DATABASES"]["registration"])
    with engine.connect() as connection:
        payloads = connection.execute(
            select(outbox.c.payload).where(outbox.c.event_type == "registration.created")).scalars().all()
    engine.dispose()
    return [json.loads(payload) for payload in payloads]


def mails(smtp) -> list[tuple[str, str]]:
    return sorted((str(m["To"]), str(m["Subject"])) for m in smtp.messages())


def address(n: int) -> str:
    return f"deelnemer{n}@example.org"


def test_a_registration_opening_is_told_in_batches_once_each_and_a_redelivered_batch_sends_nothing_twice(
        smtp_factory, notif_config, container_factory, registration, notifications, spy, contact_requests):
    smtp = smtp_factory()
    notif_config["NOTIFICATIONS"]["SMTP_PORT"] = smtp.port
    amqp = notif_config["AMQP_URI"]
    container_factory(RegistrationService, notif_config).start()  # declares notifications' queues too
    trefdag = registration.create_activity(activity_payload(title="Trefdag", capacity=3))
    studiedag = registration.create_activity(activity_payload(title="Studiedag"))
    now = datetime.now(UTC)
    under_way = registration.create_activity(activity_payload(  # walk-ins come once it has started
        title="Vorming", starts_at=(now - timedelta(hours=1)).isoformat(),
        ends_at=(now + timedelta(hours=5)).isoformat()))
    people = {n: registration.register(trefdag["activity_id"], registration_payload(n)) for n in range(1, 9)}
    people[9] = registration.register(studiedag["activity_id"], registration_payload(9))
    registration.register_walk_in(under_way["activity_id"], {"name": "Wim", "email": "wim@example.org",
                                                             "days_attended": 1})
    assert [people[n]["status"] for n in range(1, 9)] == ["confirmed"] * 3 + ["waitlisted"] * 5
    ids = {n: people[n]["registration_id"] for n in people}
    wait_for(lambda: queue_depth(amqp, CREATED) == 10, message="the ten registration.created queued")

    first = container_factory(NotificationsService, notif_config)
    first.start()
    smtp.wait(9)
    spy.wait("notification.sent", 9)
    settled(notif_config)

    confirmed = [(address(n), "Je bent ingeschreven: Trefdag") for n in (1, 2, 3)]
    waitlisted = [(address(n), "Je staat op de wachtlijst: Trefdag") for n in range(4, 9)]
    assert mails(smtp) == sorted([*confirmed, *waitlisted, (address(9), "Je bent ingeschreven: Studiedag")])
    by_address = {str(m["To"]): text_of(m) for m in smtp.messages()}
    for n in (1, 2, 3, 9):  # each mail with its own registration's details
        assert f"/registrations/{people[n]['cancel_token']}/cancel" in by_address[address(n)]
    for n in range(4, 9):
        assert f"Je plaats op de wachtlijst: {n - 3}." in by_address[address(n)]
    # asked in batches (the walk-in not at all), each registration once
    assert Counter(i for asked, _ in contact_requests for i in asked) == Counter(ids.values())
    assert {include_cancelled for _, include_cancelled in contact_requests} == {False}
    assert max(len(asked) for asked, _ in contact_requests) > 1, contact_requests

    first.stop()
    del contact_requests[:]
    for n in (1, 2):  # their seats go to the first two on the waitlist
        registration.cancel_registration_by_token(people[n]["cancel_token"])
    registration.cancel_activity(studiedag["activity_id"], "te weinig inschrijvingen")  # a system cancellation
    for envelope in created_events(notif_config):  # delivered again
        publish(amqp, envelope)
    for queue, count in ((CANCELLED, 3), (CONFIRMED, 2), (CREATED, 10)):
        wait_for(lambda queue=queue, count=count: queue_depth(amqp, queue) == count, message=f"{count} in {queue}")

    container_factory(NotificationsService, notif_config).start()
    smtp.wait(14)
    spy.wait("notification.sent", 14)
    settled(notif_config)

    assert mails(smtp) == sorted([
        *confirmed, *waitlisted, (address(9), "Je bent ingeschreven: Studiedag"),
        *((address(n), "Je inschrijving is geannuleerd: Trefdag") for n in (1, 2)),
        *((address(n), "Er is een plaats vrij: je bent ingeschreven voor Trefdag") for n in (4, 5)),
        (address(9), "Afgelast: Studiedag"),
    ])
    assert len(spy.of_type("notification.sent")) == 14 and spy.of_type("notification.failed") == []
    rows = notifications.list_notifications(limit=1000)
    assert len(rows) == 14 and {(row["status"], row["attempts"]) for row in rows} == {("sent", 1)}
    # the participants' cancellations asked for together (cancelled ones included), the system's not at all
    assert [(sorted(asked), True) for asked, include_cancelled in contact_requests if include_cancelled] == [
        (sorted([ids[1], ids[2]]), True)]
    asked_again = Counter(i for asked, include_cancelled in contact_requests if not include_cancelled for i in asked)
    assert asked_again == Counter([*ids.values(), ids[4], ids[5]])  # every registration.created, two promotions
    assert max(len(asked) for asked, _ in contact_requests) > 2, contact_requests  # the redelivered ones together
    assert drain_queue(amqp, "platform.dead-letter") == []
