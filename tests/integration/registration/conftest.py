"""The registration service on the test's own RabbitMQ vhost, with a spy queue on its events."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine

from services.registration.service import RegistrationService
from tests.helpers import EventSpy


@pytest.fixture
def reg_config(platform_config):
    platform_config["max_workers"] = 25
    return platform_config


@pytest.fixture
def events(reg_config):
    """Declared before the service starts, so it sees every event."""
    return EventSpy(reg_config["AMQP_URI"], "registration")


@pytest.fixture
def service(reg_config, events, container_factory):
    container = container_factory(RegistrationService, reg_config)
    container.start()
    return container


@pytest.fixture
def rpc(reg_config, service):
    with ServiceRpcProxy("registration", reg_config, timeout=30) as proxy:
        yield proxy


@pytest.fixture
def db_engine(reg_config):
    engine = create_engine(reg_config["DATABASES"]["registration"])
    yield engine
    engine.dispose()


def iso(moment: datetime) -> str:
    return moment.isoformat()


def activity_payload(**overrides) -> dict:
    now = datetime.now(UTC)
    payload = {
        "title": "Vorming vrijwilligersbeleid",
        "description": "Twee dagen over vrijwilligers.",
        "kind": "vorming",
        "theme": "vrijwilligers",
        "goal": "SD1.OD4",
        "format": "offline",
        "starts_at": iso(now + timedelta(days=10)),
        "ends_at": iso(now + timedelta(days=11)),
        "days": 2,
        "dagdelen": 4,
        "capacity": 30,
        "location": "Brussel",
        "online_link": None,
        "language": "nl",
        "price_eur": 40,
        "reduced_price_eur": 20,
        "registration_opens_at": None,
        "registration_closes_at": None,
        "invitation_only": False,
    }
    payload.update(overrides)
    return payload


def registration_payload(n: int | str = 1, **overrides) -> dict:
    payload = {
        "name": f"Deelnemer {n}",
        "email": f"deelnemer{n}@example.org",
        "organisation_id": None,
        "role": "vrijwilliger",
        "language": "nl",
        "needs": {"accessibility": False, "sign_language_interpreter": True, "childcare": False,
                  "dietary": "vegetarisch", "other": None},
        "privacy_consent": True,
    }
    payload.update(overrides)
    return payload
