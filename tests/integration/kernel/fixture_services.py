"""Small services that exercise the kernel over a real broker: a producer that
writes events through the outbox, consumers that count what they see, and the database they count in."""
from __future__ import annotations

import json

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, insert, select

from kernel.consumer import DoNotRetry, batch_event_handler, event_handler
from kernel.dependencies import Database
from kernel.metrics import EntrypointMetrics
from kernel.rpc import rpc
from kernel.tables import kernel_metadata, outbox

counter_metadata = MetaData()

# One row per handled event, deliberately without a unique key: a double count would show.
seen = Table(
    "seen",
    counter_metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("activity_id", String(64), nullable=False),
)
batches = Table(
    "batches",
    counter_metadata,
    Column("id", Integer, primary_key=True),
    Column("size", Integer, nullable=False),
)
repairs = Table("repairs", counter_metadata, Column("id", Integer, primary_key=True))
attempts = Table(
    "attempts",
    counter_metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(36), nullable=False),
)


def counter_database(request, config: dict, tmp_path) -> str:
    """The URL of a new database for the counter services, on the test's backend (PostgreSQL when
    `config`'s services use it), with the kernel's tables and the counter's."""
    if config["DATABASES"]["registration"].startswith("postgresql"):
        url = request.getfixturevalue("postgres_database")()
    else:
        url = f"sqlite:///{tmp_path}/counter.db"
    engine = create_engine(url)
    kernel_metadata.create_all(engine)
    counter_metadata.create_all(engine)
    engine.dispose()
    return url


class Producer:
    name = "registration"
    db = Database()
    metrics = EntrypointMetrics()

    @rpc
    def emit(self, count: int, prefix: str = "a") -> list[str]:
        """Commit `count` activity.completed events in one transaction."""
        with self.db.unit_of_work() as uow:
            return [
                uow.emit("activity.completed", {"activity_id": f"{prefix}{i}"})["event_id"]
                for i in range(count)
            ]

    @rpc
    def outbox_state(self) -> dict:
        with self.db.unit_of_work() as uow:
            rows = uow.session.execute(select(outbox.c.payload, outbox.c.published_at)).all()
        return {
            "event_ids": [json.loads(row.payload)["event_id"] for row in rows],
            "published": sum(row.published_at is not None for row in rows),
        }


class Counter:
    name = "counter"
    db = Database()

    @event_handler("registration", "activity.completed")
    def count(self, event):
        with self.db.unit_of_work() as uow:
            if not uow.claim(event):
                return
            uow.session.execute(
                insert(seen).values(event_id=event["event_id"], activity_id=event["data"]["activity_id"])
            )


class FailingCounter:
    """Fails on activities whose id starts with "poison"; "flaky" ones fail twice, then succeed."""

    name = "counter"
    db = Database()
    metrics = EntrypointMetrics()

    @event_handler("registration", "activity.completed")
    def count(self, event):
        activity_id = event["data"]["activity_id"]
        with self.db.unit_of_work() as uow:
            uow.session.execute(insert(attempts).values(event_id=event["event_id"]))
        if activity_id.startswith("poison"):
            raise RuntimeError("cannot handle this one")
        if activity_id.startswith("hopeless"):
            raise DoNotRetry("retrying cannot fix this one")
        if activity_id.startswith("flaky"):
            with self.db.unit_of_work() as uow:
                tries = uow.session.scalar(
                    select(func.count()).select_from(attempts).where(attempts.c.event_id == event["event_id"])
                )
            if tries <= 2:
                raise RuntimeError("not yet")
        with self.db.unit_of_work() as uow:
            if uow.claim(event):
                uow.session.execute(insert(seen).values(event_id=event["event_id"], activity_id=activity_id))


class BatchCounter:
    """Counts activity.completed and activity.cancelled events in batches; "poison" ids fail."""

    name = "counter"
    db = Database()

    @batch_event_handler(
        [("registration", "activity.completed"), ("registration", "activity.cancelled")], max_batch=100
    )
    def ingest(self, events):
        with self.db.unit_of_work() as uow:
            fresh = uow.claim_many(events)
            if any(event["data"]["activity_id"].startswith("poison") for event in fresh):
                raise RuntimeError("cannot handle this one")
            uow.session.execute(insert(batches).values(size=len(events)))
            if fresh:
                uow.session.execute(
                    insert(seen),
                    [{"event_id": e["event_id"], "activity_id": e["data"]["activity_id"]} for e in fresh],
                )


class RepairableCounter:
    """Fails on "broken" activities until a row in `repairs` says the cause is fixed."""

    name = "counter"
    db = Database()

    @event_handler("registration", "activity.completed")
    def count(self, event):
        with self.db.unit_of_work() as uow:
            repaired = uow.session.scalar(select(func.count()).select_from(repairs))
            if event["data"]["activity_id"].startswith("broken") and not repaired:
                raise RuntimeError("the cause is not fixed yet")
            if uow.claim(event):
                uow.session.execute(
                    insert(seen).values(event_id=event["event_id"], activity_id=event["data"]["activity_id"])
                )
