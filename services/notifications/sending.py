"""Sending a template to its recipients, each message once: the service's `Delivery` dependency
(SMTP or the local capture, webhooks, the send rate) and the per-message round of claim, render,
send and record.

`deliver` claims one log row per (cause event, recipient, template) in its own transaction, sends,
and records the outcome with `notification.sent` / `notification.failed` in the outbox, in one
transaction. A temporary failure (SMTP down, 4xx) raises, so the kernel retries the event with
back-off; the rows already sent are skipped on the retry. A permanent failure (address refused) or
the last attempt marks the row failed, emits `notification.failed` and dead-letters the event (GaveUp).
A row begun for someone who is no longer a recipient when the event comes back (the registration
cancelled meanwhile) ends "dropped", without a mail or an event.

`deliver_many` does the same for a batch of events (the participants' registration and survey mails),
each with its own template and recipients, with one claiming and one recording transaction and the
mails sent in parallel; whatever it cannot finish it leaves to `deliver`, event by event.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import NamedTuple

from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider

from kernel.config import retry_delays_ms
from kernel.consumer import DoNotRetry
from kernel.tables import utcnow
from services.notifications import domain, rendering, repository
from services.notifications.delivery import (
    DeliveryFailure,
    PermanentFailure,
    RateLimiter,
    Settings,
    SmtpMailer,
    TemporaryFailure,
    post_webhook,
)

log = logging.getLogger(__name__)


class GaveUp(DoNotRetry):
    """Some message of this event failed for good: the event goes to the dead-letter queue now."""


class Delivery(DependencyProvider):
    """SMTP (or the local capture), webhooks and the send rate, shared by the service's workers."""

    def setup(self):
        config = self.container.config
        self.settings = Settings.from_config(config)
        self.limiter = RateLimiter(self.settings.send_rate_per_second)
        self.mailer = None if self.settings.mail_capture else SmtpMailer(self.settings)
        self.max_attempts = len(retry_delays_ms(config)) + 1

    def stop(self):
        if self.mailer is not None:
            self.mailer.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return WorkerDelivery(self, int(worker_ctx.data.get("x-attempt", 0) or 0) + 1)


class WorkerDelivery:
    """What a worker sees as `self.delivery`: the transport, and which attempt at its event this is."""

    def __init__(self, provider: Delivery, attempt: int):
        self.settings = provider.settings
        self.capture = provider.mailer is None
        self.max_attempts = provider.max_attempts
        self.attempt = attempt
        self._provider = provider

    def send_email(self, message, to: str) -> bytes | None:
        """Send (or, capturing, return the raw message to keep)."""
        self._provider.limiter.wait()
        if self.capture:
            return message.as_bytes()
        self._provider.mailer.send(message, to)
        return None

    def post_webhook(self, url: str, body: dict) -> None:
        self._provider.limiter.wait()
        post_webhook(url, body, self.settings.webhook_timeout)


def _lease(transport) -> timedelta:
    """How long a message stays with the worker sending it: longer than the slowest SMTP exchange."""
    return timedelta(seconds=3 * transport.settings.smtp_timeout + 5)


def _send(transport, rendered: rendering.Rendered, cause: dict, recipient: domain.Recipient,
          notification_id: str) -> bytes | None:
    """One rendered message out by its recipient's channel; the raw mail when the transport keeps it."""
    if recipient.channel == "email":
        message = rendering.email_message(rendered, transport.settings.mail_from, recipient.address,
                                          notification_id)
        return transport.send_email(message, recipient.address)
    transport.post_webhook(
        recipient.address, domain.webhook_body(rendered.subject, rendered.text, recipient.context, cause["event_id"]))
    return None


def deliver(db, transport, cause: dict, template: str, recipients: list[domain.Recipient],
            create: bool = True) -> None:
    """Send `template` to each recipient once; raise if some message must be retried (TemporaryFailure)
    or failed for good (GaveUp). `create=False`: only the messages whose log rows exist already."""
    temporary, permanent = [], []
    for recipient in recipients:
        failure = _deliver_one(db, transport, cause, template, recipient, create)
        if failure is None:
            continue
        exc, final = failure
        (permanent if final else temporary).append(f"{recipient.ref}: {exc}")
    _drop_former_recipients(db, cause, template, {recipient.ref for recipient in recipients})
    if temporary:
        raise TemporaryFailure(f"{len(temporary)} message(s) to retry: {'; '.join(temporary)[:400]}")
    if permanent:
        raise GaveUp(f"{len(permanent)} message(s) failed: {'; '.join(permanent)[:400]}")


def _deliver_one(db, transport, cause: dict, template: str, recipient: domain.Recipient, create: bool):
    claim = str(uuid.uuid4())
    with db.unit_of_work() as uow:
        row = repository.message_row(uow.session, cause, template, recipient, create=False)
        made_here = row is None and create
        if made_here:  # made already taken by this worker (status "sending"): one transaction less
            row = repository.message_row(uow.session, cause, template, recipient, claim=claim)
    if row is None or row.status in domain.FINAL:
        return None  # sent (or given up) before: a redelivered event sends nothing twice
    notification_id = row.notification_id
    if not made_here:
        now = utcnow()
        with db.unit_of_work() as uow:
            taken = repository.take(uow.session, notification_id, claim, now, _lease(transport))
        if not taken:
            # another worker is sending it right now (the same event delivered twice at once), or died
            # while sending; past the last attempt the event is dead-lettered, never acked: a replay
            # after the lease sends it, or finds it sent
            held = TemporaryFailure("being sent by another worker")
            return held, transport.attempt >= transport.max_attempts
    rendered = rendering.render(template, recipient.language, recipient.context)
    try:
        raw = _send(transport, rendered, cause, recipient, notification_id)
    except DeliveryFailure as exc:
        attempt = max(transport.attempt, row.attempts + 1)
        final = isinstance(exc, PermanentFailure) or attempt >= transport.max_attempts
        _record(db, row, claim, rendered.subject, failure=str(exc), final=final)
        log.warning("%s %s to %s failed (%s, attempt %d%s)", template, notification_id, recipient.ref, exc,
                    attempt, ", giving up" if final else "")
        return exc, final
    _record(db, row, claim, rendered.subject, raw=raw, recipient=recipient)
    return None


def _record(db, row, claim: str, subject: str, **outcome) -> None:
    now = utcnow()
    with db.unit_of_work() as uow:
        repository.record(uow, row, claim, subject, now, **outcome)


def _drop_former_recipients(db, cause: dict, template: str, recipients: set[str]) -> None:
    """Close the unfinished messages of this cause to people who are recipients no longer: a worker
    that died while sending one left it "sending", and by the event's redelivery the registration was
    cancelled (or the person erased), so nothing else would ever finish it. Looked for on a read
    session first: almost always there is none, and every event goes through here."""
    with db.read() as session:
        if not repository.has_former_recipients(session, cause["event_id"], template, recipients):
            return
    with db.unit_of_work() as uow:
        repository.drop_former_recipients(uow.session, cause["event_id"], template, recipients)


class Job(NamedTuple):
    """`deliver`'s arguments for one cause in a batch: its template to its recipients (none: whatever
    was begun for someone is dropped)."""

    cause: dict
    template: str
    recipients: list[domain.Recipient]


def deliver_many(db, transport, jobs: list[Job]) -> None:
    """`deliver` for a batch of jobs (a cause event, its template, its recipients): one transaction
    claims every log row and drops the unfinished ones of former recipients, the messages go out in
    parallel over the pooled SMTP connections (the send rate still holds), one transaction records
    every outcome with its `notification.sent`.

    A message that fails (or whose row another worker holds) is left pending, uncounted, and the
    batch raises: the kernel then handles each event of the batch on its own (`deliver`), which
    skips what was sent here and retries, fails or dead-letters the rest as it always does."""
    wanted: dict[str, tuple[dict, str, domain.Recipient]] = {}
    for cause, template, recipients in jobs:
        for recipient in recipients:
            key = domain.dedup_key(cause["event_id"], recipient.ref, template)
            wanted.setdefault(key, (cause, template, recipient))
    asked = {(cause["event_id"], template) for cause, template, _ in jobs}
    now, claim = utcnow(), str(uuid.uuid4())
    with db.unit_of_work() as uow:
        claimed, busy = repository.claim_messages(uow.session, wanted, asked, claim, now, _lease(transport))
    if not claimed and not busy:
        return  # nothing (left) to send: all sent before, or nobody to write to
    outcomes = list(GreenPool(max(1, transport.settings.smtp_connections)).imap(
        lambda item: _send_claimed(transport, *item), claimed))
    sent = [outcome for outcome in outcomes if outcome[1] is None]
    failed = [(outcome[0], outcome[1]) for outcome in outcomes if outcome[1] is not None]
    now = utcnow()
    with db.unit_of_work() as uow:  # the failed ones handed back untouched: the one-event path sends and counts them
        repository.record_batch(uow, claim, sent, failed, now)
    if failed or busy:
        reasons = [f"{row.recipient}: {exc}" for row, exc in failed] + [f"{ref}: being sent by another worker"
                                                                        for ref in busy]
        raise TemporaryFailure(f"{len(reasons)} message(s) to hand over one event at a time: "
                               f"{'; '.join(reasons)[:400]}")


def _send_claimed(transport, row, cause: dict, recipient: domain.Recipient):
    """Render and send one claimed message: (row, None, subject, raw, recipient) or (row, failure)."""
    try:
        rendered = rendering.render(row.template, recipient.language, recipient.context)
        raw = _send(transport, rendered, cause, recipient, row.notification_id)
    except Exception as exc:  # noqa: BLE001 - handed over to the one-event path, which sorts it out
        log.warning("%s %s to %s not sent in its batch (%s); handed over", row.template, row.notification_id,
                    recipient.ref, type(exc).__name__)
        return row, exc
    return row, None, rendered.subject, raw, recipient
