"""The requests service (and the registration directory it asks) on the test's own RabbitMQ
vhost, with a spy queue on the requests service's events."""
from __future__ import annotations

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine

from services.registration.service import RegistrationService
from services.requests.service import RequestsService
from tests.helpers import EventSpy


@pytest.fixture
def events(platform_config):
    return EventSpy(platform_config["AMQP_URI"], "requests")


@pytest.fixture
def services(platform_config, events, runner_factory):
    runner = runner_factory(platform_config, RegistrationService, RequestsService)
    runner.start()
    return runner


@pytest.fixture
def rpc(platform_config, services):
    with ServiceRpcProxy("requests", platform_config, timeout=30) as proxy:
        yield proxy


@pytest.fixture
def registration_rpc(platform_config, services):
    with ServiceRpcProxy("registration", platform_config, timeout=30) as proxy:
        yield proxy


@pytest.fixture
def db_engine(platform_config):
    engine = create_engine(platform_config["DATABASES"]["requests"])
    yield engine
    engine.dispose()


def intake_payload(**overrides) -> dict:
    payload = {
        "name": "An Peeters",
        "email": "an@example.org",
        "phone": "+32 2 123 45 67",
        "language": "nl",
        "organisation_id": None,
        "org_type": "civiel_scw",
        "organisation_name": "Buurtinitiatief De Kaai",
        "question": "Hoe betrekken we nieuwe vrijwilligers bij ons buurtwerk?",
        "theme": "vrijwilligers",
        "preferred_timing": "in het najaar, liefst op een zaterdag",
        "privacy_consent": True,
    }
    payload.update(overrides)
    return payload


def staff_payload(name="Bram Claes", themes=("vrijwilligers", "bestuur"), **overrides) -> dict:
    payload = {"name": name, "email": f"{name.split()[0].lower()}@steunpunt.example", "themes": list(themes)}
    payload.update(overrides)
    return payload
