"""The accounts service on the test's own RabbitMQ vhost."""
from __future__ import annotations

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.accounts.service import AccountsService

ADMIN = {"account_id": None, "name": "machine:admin"}
PASSWORD = "een lange zin als wachtwoord"


@pytest.fixture
def rpc(platform_config, runner_factory):
    runner = runner_factory(platform_config, AccountsService)
    runner.start()
    with ServiceRpcProxy("accounts", platform_config, timeout=30) as proxy:
        yield proxy


def account_payload(**overrides) -> dict:
    payload = {"email": "An@Steunpunt.example", "name": "An Peeters", "role": "staff", "password": PASSWORD}
    payload.update(overrides)
    return payload
