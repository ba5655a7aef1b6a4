"""The evaluation service on the test's own RabbitMQ vhost with a clock the test moves, a spy on
its events, and registration's events published as registration would."""
from __future__ import annotations

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, func, select

from kernel.tables import outbox, processed_events
from services.evaluation.models import attendance, evaluations
from services.evaluation.service import EvaluationService
from tests.helpers import EventSpy, wait_for
from tests.integration.evaluation.support import MovableClock, publish, with_clock

LINK_SECRET = "integration-test-link-secret"


@pytest.fixture
def ev_config(platform_config):
    platform_config["EVALUATION"].update(
        LINK_SECRET=LINK_SECRET, INVITE_DELAY_HOURS=2, REMINDER_AFTER_DAYS=7, CLOSE_AFTER_DAYS=21,
        MIDWAY_FOR_TRACKS=False, DUE_CHECK_SECONDS=3600,
    )
    return platform_config


@pytest.fixture
def clock():
    return MovableClock()


@pytest.fixture
def events(ev_config):
    return EventSpy(ev_config["AMQP_URI"], "evaluation")


@pytest.fixture
def start(ev_config, events, clock, container_factory):
    """start(*other service classes): the evaluation service (with the test's clock) and those."""

    def run(*others):
        with_clock(container_factory(EvaluationService, ev_config), clock).start()
        for cls in others:
            container_factory(cls, ev_config).start()

    return run


@pytest.fixture
def rpc(ev_config):
    with ServiceRpcProxy("evaluation", ev_config, timeout=30) as proxy:
        yield proxy


@pytest.fixture
def send(ev_config):
    return lambda envelope: publish(ev_config["AMQP_URI"], envelope)


@pytest.fixture
def db(ev_config):
    engine = create_engine(ev_config["DATABASES"]["evaluation"])
    yield Db(engine)
    engine.dispose()


class Db:
    def __init__(self, engine):
        self.engine = engine

    def count(self, table, *where) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table).where(*where)).scalar()

    def rows(self, table, *where) -> list[dict]:
        with self.engine.connect() as connection:
            return [dict(r) for r in connection.execute(select(table).where(*where)).mappings()]

    def processed(self, consumer: str) -> int:
        return self.count(processed_events, processed_events.c.consumer == consumer)

    def snapshot(self) -> tuple:
        """What a refused request must leave as it was."""
        return (self.rows(evaluations), self.count(outbox))

    def wait_attendance(self, count: int):
        wait_for(lambda: self.count(attendance) >= count, message=f"{count} attendance row(s)")
