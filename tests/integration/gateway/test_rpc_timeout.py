"""A stopped service makes the gateway answer 503 instead of hanging. (How soon:
benchmarks/responsiveness_bench.py.)"""
import requests

from tests.helpers import wait_for
from tests.integration.gateway.support import all_services


def test_api_answers_503_when_a_service_does_not_answer(gateway_config, runner_factory, gateway_url):
    gateway_config["RPC_TIMEOUT_SECONDS"] = 1
    runner = runner_factory(gateway_config, *all_services())
    runner.start()
    wait_for(lambda: requests.get(f"{gateway_url}/health", timeout=5).status_code == 200, message="platform up")
    assert requests.get(f"{gateway_url}/api/activities", timeout=10).status_code == 200

    next(c for c in runner.containers if c.service_name == "registration").stop()
    # an answer, not a hang: far within the client's patience, whatever the machine's load
    answer = requests.get(f"{gateway_url}/api/activities", timeout=60)
    assert answer.status_code == 503
    assert answer.json()["error"] == "service_unavailable"
