"""The outbox relay: publishes committed events with publisher confirms and
mandatory routing, oldest first, and marks them sent.

A crash between publishing and marking means the event goes out again after a
restart; consumers are idempotent on `event_id`, so that is harmless.

An event that no queue is bound for although a platform consumer wants its type
(`consumed`) means a queue is missing: it stays in the outbox and is tried again
with back-off, never marked sent unseen. An event type that no consumer in the
platform wants (say `notification.sent`) is marked published all the same: the
outbox keeps it as the producer's event log, and nothing is stuck.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta

from kombu import Exchange
from sqlalchemy import bindparam, func, or_, select, update

from kernel.db import ServiceDatabase
from kernel.metrics import (
    BUSINESS_OUTCOMES,
    EVENTS_PUBLISHED,
    EVENTS_UNROUTABLE,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PENDING,
    business_outcome,
)
from kernel.publisher import ConfirmingPublisher
from kernel.tables import outbox, utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60
# Under a burst every commit wakes the relay: waiting this long after a wake lets the commits of the
# next few milliseconds go out in the same batch (one read, one round of confirms, one write each).
GATHER_SECONDS = 0.01
# The backlog gauges are scraped every few seconds; counting the outbox after every small batch of a
# burst cost the service more than publishing did.
MEASURE_EVERY_SECONDS = 1.0


# The relay's two statements, built once (under a burst it runs after nearly every commit)
_DUE = (
    select(outbox.c.id, outbox.c.event_id, outbox.c.event_type, outbox.c.payload, outbox.c.attempts)
    .where(outbox.c.published_at.is_(None))
    .where(or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= bindparam("b_now")))
    .order_by(outbox.c.id)
    .limit(bindparam("b_limit"))
)
_MARK_PUBLISHED = (
    update(outbox).where(outbox.c.event_id.in_(bindparam("b_ids", expanding=True)))
    .values(published_at=bindparam("b_now"))
)


def event_exchange(service: str) -> Exchange:
    """The exchange nameko's event dispatcher uses for `service`."""
    return Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False)


class OutboxRelay:
    def __init__(
        self, database: ServiceDatabase, amqp_uri: str, batch_size: int = 500, consumed: set[str] | None = None
    ):
        """`consumed`: the event types of this producer some platform consumer is bound to
        (None: assume every type is wanted, so every unroutable event waits)."""
        self.database = database
        self.consumed = consumed
        self.exchange = event_exchange(database.producer)
        self.batch_size = batch_size
        self.publisher = ConfirmingPublisher(amqp_uri, self.exchange)
        self._wake = threading.Event()
        self._stopped = False
        self._measured_at = float("-inf")

    def wake(self, *_args) -> None:
        self._wake.set()

    def publish_pending(self) -> int:
        """Publish one batch of due events; returns how many were taken from the outbox."""
        now = utcnow()
        # a snapshot is enough: what commits after it was taken wakes the relay again. (Reading in a
        # write transaction would queue behind, and hold up, the service's own writers on SQLite.)
        with self.database.read() as session:
            rows = session.execute(_DUE, {"b_now": now, "b_limit": self.batch_size}).all()
        if not rows:
            return 0
        payloads = {row.event_id: json.loads(row.payload) for row in rows}
        result = self.publisher.publish([(row.event_id, row.event_type, payloads[row.event_id]) for row in rows])
        unwanted = {row.event_id for row in rows if self.consumed is not None and row.event_type not in self.consumed}
        unroutable = set(result.unroutable) - unwanted
        confirmed = set(result.confirmed) | (set(result.unroutable) & unwanted)
        self._record(list(confirmed), [row for row in rows if row.event_id in unroutable])
        for row in rows:
            if row.event_id in confirmed:
                EVENTS_PUBLISHED.labels(self.database.producer, row.event_type).inc()
                outcome = business_outcome(row.event_type, payloads[row.event_id].get("data") or {})
                if outcome is not None:
                    BUSINESS_OUTCOMES.labels(*outcome).inc()
            elif row.event_id in unroutable:
                EVENTS_UNROUTABLE.labels(self.database.producer, row.event_type).inc()
        if result.failed:
            raise RuntimeError(f"broker did not confirm {len(result.failed)} events; they stay in the outbox")
        return len(rows)

    def _record(self, published: list[str], unroutable: list) -> None:
        if not published and not unroutable:
            return
        now = utcnow()
        with self.database.unit_of_work() as uow:
            if published:
                uow.session.execute(_MARK_PUBLISHED, {"b_ids": published, "b_now": now})
            for row in unroutable:
                delay = min(MAX_BACKOFF_SECONDS, 2 ** row.attempts)
                uow.session.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(
                        attempts=row.attempts + 1,
                        next_attempt_at=now + timedelta(seconds=delay),
                        last_error="unroutable: no queue bound for this event type",
                    )
                )
        for row in unroutable:
            log.warning("event %s (outbox id %s) is unroutable; retrying later", row.event_type, row.id)

    def run(self, poll_seconds: float) -> None:
        """Publish until stopped: at once after a commit, else every `poll_seconds`."""
        failures = 0
        while not self._stopped:
            self._wake.clear()
            try:
                taken = self.publish_pending()
                failures = 0
            except Exception:  # broker or database away: keep the events, try again
                failures += 1
                log.exception("outbox relay failed; retrying")
                self._measure_backlog_if_possible()  # so a stuck relay shows as a growing age
                self._wake.wait(min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** failures))
                continue
            if taken < self.batch_size:
                # guarded too: the database going away just now must not end the relay's thread
                # (nameko would kill the whole service with it)
                if time.monotonic() >= self._measured_at + MEASURE_EVERY_SECONDS:
                    self._measure_backlog_if_possible()
                if self._wake.wait(poll_seconds) and not self._stopped:
                    time.sleep(GATHER_SECONDS)

    def _measure_backlog(self) -> None:
        self._measured_at = time.monotonic()
        with self.database.read() as session:
            pending, oldest = session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
            ).one()
        OUTBOX_PENDING.labels(self.database.producer).set(pending)
        age = 0.0 if oldest is None else (utcnow() - oldest).total_seconds()
        OUTBOX_OLDEST_AGE.labels(self.database.producer).set(age)

    def _measure_backlog_if_possible(self) -> None:
        try:
            self._measure_backlog()
        except Exception:  # the database is what failed: nothing to measure
            log.debug("could not measure the outbox backlog", exc_info=True)

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        self.publisher.close()
