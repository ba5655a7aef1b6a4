"""Limits on what one client can make the gateway do, on a running gateway: /health answers from
a short cache and has its own rate limit; wrong bearer tokens use up the sign-in bucket like failed
sign-ins; IPv6 clients share a bucket per /64."""
from __future__ import annotations

import pytest
import requests

from services.accounts.service import AccountsService
from services.gateway.service import GatewayService
from tests.helpers import wait_for
from tests.integration.gateway.support import answers

OPS_ONLY = "/metrics"  # with AUTH.METRICS_PUBLIC false: a token-protected route that needs no other service


@pytest.fixture
def limited(gateway_config, runner_factory, gateway_url):
    """The gateway with tight buckets, and the accounts service that says a token is no one's."""
    gateway_config["GATEWAY"]["RATE_LIMIT"] = {
        "PER_MINUTE": 0, "BURST": 0, "LOGIN_PER_MINUTE": 1, "LOGIN_BURST": 2,
        "HEALTH_PER_MINUTE": 1, "HEALTH_BURST": 3, "TRUSTED_PROXIES": 1}
    gateway_config["GATEWAY"]["HEALTH_CACHE_SECONDS"] = 600
    gateway_config["AUTH"]["METRICS_PUBLIC"] = False
    runner_factory(gateway_config, GatewayService, AccountsService).start()
    wait_for(lambda: answers(gateway_url, "/privacy"), timeout=15, message="the gateway to answer")
    return gateway_config


def get(gateway_url, path, client, **headers):
    return requests.get(f"{gateway_url}{path}", headers={"X-Forwarded-For": client, **headers}, timeout=30)


def test_health_answers_from_its_cache_and_is_rate_limited(limited, gateway_url):
    # the gateway runs without the services it probes: the first probe finds them away, and that answer is reused
    first = get(gateway_url, "/health", "203.0.113.7")
    assert first.status_code == 503
    again = get(gateway_url, "/health", "203.0.113.8")
    assert again.status_code == 503 and again.json() == first.json()
    # a client that asks over and over is refused once its bucket is empty; another is not
    answers = [get(gateway_url, "/health", "203.0.113.7").status_code for _ in range(3)]
    assert answers == [503, 503, 429], answers
    refused = get(gateway_url, "/health", "203.0.113.7")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "rate_limited"
    assert get(gateway_url, "/health", "203.0.113.9").status_code == 503


def test_wrong_bearer_tokens_use_up_the_sign_in_bucket(limited, gateway_url, ops_headers):
    wrong = {"Authorization": "Bearer guessed-token"}
    assert [get(gateway_url, OPS_ONLY, "198.51.100.1", **wrong).status_code for _ in range(2)] == [401, 401]
    refused = get(gateway_url, OPS_ONLY, "198.51.100.1", **wrong)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    # while refused, not even a valid token is looked at from there: guessing cannot go on
    assert get(gateway_url, OPS_ONLY, "198.51.100.1", **ops_headers).status_code == 429
    # another client, and valid tokens that never fail, are unaffected
    for _ in range(3):
        assert get(gateway_url, OPS_ONLY, "198.51.100.2", **ops_headers).status_code == 200


def test_ipv6_clients_of_one_64_share_a_bucket(limited, gateway_url):
    wrong = {"Authorization": "Bearer guessed-token"}
    same_network = ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9")
    assert [get(gateway_url, OPS_ONLY, client, **wrong).status_code for client in same_network] == [401, 401]
    assert get(gateway_url, OPS_ONLY, "2001:db8:1:2:abcd::3", **wrong).status_code == 429
    assert get(gateway_url, OPS_ONLY, "2001:db8:1:3::1", **wrong).status_code == 401  # the next /64
