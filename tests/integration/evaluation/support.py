"""Shared by the evaluation tests (integration and end-to-end): a clock the tests move forward, and
registration's events as registration would publish them."""
from __future__ import annotations

from datetime import datetime, timedelta

from kombu import Connection, Exchange, Producer
from nameko.testing.services import replace_dependencies

from kernel.envelope import new_event
from kernel.tables import utcnow


class MovableClock:
    """The evaluation service's `clock` in tests: the real time plus an offset the test sets."""

    def __init__(self):
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta) -> datetime:
        self.offset += timedelta(**delta)
        return self.now()

    def set(self, moment: datetime) -> None:
        self.offset = moment - utcnow()


def with_clock(container, clock: MovableClock):
    """Give an evaluation container (not started yet) the test's clock."""
    replace_dependencies(container, clock=clock)
    return container


def publish(amqp_uri: str, envelope: dict) -> None:
    """Publish an envelope as its producer's relay would (also to redeliver the very same event)."""
    with Connection(amqp_uri) as connection:
        Producer(connection.channel()).publish(
            envelope, exchange=Exchange(f"{envelope['producer']}.events", type="topic", durable=True),
            routing_key=envelope["event_type"], serializer="json", delivery_mode=2,
        )


def registration_event(event_type: str, occurred_at: datetime | None = None, **data) -> dict:
    return new_event("registration", event_type, data, occurred_at=occurred_at)


def scheduled(activity_id: str, starts_at: datetime, ends_at: datetime, kind: str = "vorming",
              event_type: str = "activity.scheduled", occurred_at: datetime | None = None) -> dict:
    return registration_event(
        event_type, occurred_at, activity_id=activity_id, kind=kind, theme="samenwerking", goal="SD1.OD4",
        format="offline", starts_at=starts_at, ends_at=ends_at, days=1, dagdelen=2, capacity=20,
    )


def attended(registration_id: str, activity_id: str, person_id: str) -> dict:
    return registration_event(
        "attendance.recorded", registration_id=registration_id, activity_id=activity_id, person_id=person_id,
        organisation_id=None, org_type="individu", recognised=False, target_group="secondary", role=None,
        days_attended=1,
    )
