"""A worker that stalls while sending past its lease (a frozen process, a stalled database) finds
on its return that another worker took the message over and sent it: it records nothing, so the
mail is captured and counted (`notification.sent`) once.

The service's delivery code on a migrated SQLite database; only the mail transport is a stand-in
(the local capture's: it hands back the raw message), the stall played by the first worker's send."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

from nameko.testing.services import worker_factory
from sqlalchemy import select, update

from kernel.db import ServiceDatabase
from kernel.tables import outbox, utcnow
from services.notifications import domain, rendering
from services.notifications.delivery import Settings
from services.notifications.models import captured_mail, messages
from services.notifications.sending import Job
from services.notifications.service import NotificationsService

TEMPLATE = "registration_confirmed"


class CapturingTransport:
    """The capture's `send_email` (the raw message back), with something done during the first."""

    def __init__(self, while_sending=None):
        self.settings = Settings.from_config({"NOTIFICATIONS": {"SMTP_TIMEOUT_SECONDS": 1}})
        self.attempt, self.max_attempts = 1, 4
        self.while_sending = while_sending
        self.sent = 0

    def send_email(self, message, to: str) -> bytes:
        self.sent += 1
        if self.while_sending is not None:
            self.while_sending, stall = None, self.while_sending
            stall()
        return message.as_bytes()


def worker(db, transport):
    return worker_factory(NotificationsService, db=db, delivery=transport, config={})


def test_a_worker_back_after_its_lease_ran_out_records_nothing(migrated_templates, tmp_path):
    url = migrated_templates.sqlite_copy("notifications", tmp_path / "notifications.db")
    db = ServiceDatabase(url, "notifications")
    cause = {"event_id": str(uuid.uuid4()), "event_type": "registration.created"}
    people = [domain.Recipient(f"person:p{n}", "email", f"p{n}@example.org", "nl",
                               rendering.sample_context(TEMPLATE), f"p{n}") for n in range(3)]
    single_cause = {"event_id": str(uuid.uuid4()), "event_type": "registration.created"}
    # the two paths: one event at a time (_deliver), a batch (_deliver_many)
    paths = [
        (lambda w: w._deliver(single_cause, TEMPLATE, people[:1]), [(single_cause, people[0])]),
        (lambda w: w._deliver_many([Job(cause, TEMPLATE, people[1:])]), [(cause, person) for person in people[1:]]),
    ]
    for stalled_path, jobs in paths:
        successor = CapturingTransport()

        def lease_runs_out_and_another_worker_takes_over(jobs=jobs, successor=successor):
            with db.unit_of_work() as uow:  # as if the lease had passed long ago
                uow.session.execute(update(messages).where(messages.c.status == domain.SENDING)
                                    .values(updated_at=utcnow() - timedelta(hours=1)))
            (job_cause,) = {job_cause["event_id"]: job_cause for job_cause, _ in jobs}.values()
            worker(db, successor)._deliver(job_cause, TEMPLATE, [person for _, person in jobs])

        stalled = CapturingTransport(while_sending=lease_runs_out_and_another_worker_takes_over)
        stalled_path(worker(db, stalled))
        assert successor.sent == len(jobs)  # the takeover did send

    with db.read() as session:
        statuses = session.execute(select(messages.c.recipient, messages.c.status, messages.c.claim)).all()
        captured = session.execute(select(captured_mail.c.recipient)).scalars().all()
        told = [json.loads(payload)["data"]["notification_id"] for payload in session.execute(
            select(outbox.c.payload).where(outbox.c.event_type == "notification.sent")).scalars()]
    db.dispose()
    assert sorted(statuses) == [(f"person:p{n}", "sent", None) for n in range(3)]
    assert sorted(captured) == ["p0@example.org", "p1@example.org", "p2@example.org"]  # once each
    assert len(told) == len(set(told)) == 3
