"""nameko dependency providers that plug the kernel into a service container."""
from __future__ import annotations

from contextlib import AbstractContextManager

from nameko.extensions import DependencyProvider
from sqlalchemy import text
from sqlalchemy.orm import Session

from kernel.config import database_url, events_setting
from kernel.db import ServiceDatabase, UnitOfWork
from kernel.outbox import OutboxRelay
from kernel.topology import PlatformTopology, consumed_event_types


class Database(DependencyProvider):
    """The service's own database, plus the relay that publishes its outbox.

    In a worker: `with self.db.unit_of_work() as uow:` — inside an event
    handler, `uow.claim(event)` makes the handler idempotent.
    """

    topology = PlatformTopology()  # queues exist before the relay publishes anything

    def setup(self):
        config = self.container.config
        name = self.container.service_name
        self.database = ServiceDatabase(database_url(config, name), producer=name)
        self.relay = OutboxRelay(
            self.database,
            config["AMQP_URI"],
            batch_size=int(events_setting(config, "RELAY_BATCH_SIZE", 500)),
            consumed=consumed_event_types(name, self.container.service_cls),
        )
        self.database.on_commit.append(self.relay.wake)
        self.poll_seconds = float(events_setting(config, "RELAY_POLL_SECONDS", 1.0))

    def start(self):
        self.container.spawn_managed_thread(
            lambda: self.relay.run(self.poll_seconds), identifier=f"{self.container.service_name}.outbox_relay"
        )

    def stop(self):
        self.relay.stop()
        self.database.dispose()

    def kill(self):
        self.relay.stop()

    def get_dependency(self, worker_ctx):
        consumer = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        return WorkerDatabase(self.database, consumer)


class WorkerDatabase:
    """What a worker sees as `self.db`."""

    def __init__(self, database: ServiceDatabase, consumer: str):
        self._database = database
        self._consumer = consumer

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return self._database.unit_of_work(consumer=self._consumer)

    def read(self) -> AbstractContextManager[Session]:
        """For queries only: no write lock, no outbox, no claims."""
        return self._database.read()

    def ping(self) -> bool:
        with self.unit_of_work() as uow:
            uow.session.execute(text("SELECT 1"))
        return True
