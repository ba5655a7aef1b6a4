"""The whole platform (gateway and every service) on a test vhost, for HTTP tests."""
from __future__ import annotations

import pytest
import requests

from tests.helpers import wait_for
from tests.integration.gateway.support import all_services, answers


@pytest.fixture
def gateway_config(platform_config):
    platform_config.setdefault("GATEWAY", {})["HEALTH_TIMEOUT_SECONDS"] = 1
    return platform_config


@pytest.fixture
def platform(runner_factory, gateway_config, gateway_url):
    runner = runner_factory(gateway_config, *all_services())
    runner.start()
    wait_for(lambda: answers(gateway_url), timeout=15, message="the gateway to answer")
    return runner


@pytest.fixture
def gateway_alone(runner_factory, gateway_config, gateway_url):
    """The gateway without any service (pages and limits that need none): its (host, port)."""
    from services.gateway.service import GatewayService

    runner = runner_factory(gateway_config, GatewayService)
    runner.start()
    wait_for(lambda: answers(gateway_url, "/privacy"), timeout=15, message="the gateway to answer")
    host, _, port = gateway_config["WEB_SERVER_ADDRESS"].rpartition(":")
    return host, int(port)


@pytest.fixture
def api(gateway_url, staff_headers):
    """A small client: api.get("/api/..."), api.staff.post(...)."""
    return Client(gateway_url), Client(gateway_url, staff_headers)


class Client:
    def __init__(self, base, headers=None):
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(headers or {})

    def __getattr__(self, method):
        def call(path, **kwargs):
            kwargs.setdefault("timeout", 10)
            return self.session.request(method.upper(), f"{self.base}{path}", **kwargs)

        return call
