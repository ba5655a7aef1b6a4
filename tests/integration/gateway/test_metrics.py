"""GET /metrics on the gateway, and a service's metrics port, after real traffic:
counters moved, and no email or name in any label."""
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for
from tests.integration.gateway.support import activity_payload, registration_payload


def samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_move_with_traffic_and_hold_no_personal_data(gateway_config, free_port, runner_factory,
                                                               gateway_url, staff_headers):
    from tests.integration.gateway.support import all_services

    gateway_config["METRICS"]["PORTS"] = {"registration": free_port}
    runner = runner_factory(gateway_config, *all_services())
    runner.start()
    wait_for(lambda: requests.get(f"{gateway_url}/health", timeout=5).status_code == 200, message="platform up")

    register_rpc = ("platform_entrypoint_duration_seconds_count",
                    (("entrypoint", "register"), ("kind", "rpc"), ("service", "registration")))
    confirmed = ("platform_business_outcomes_total", (("outcome", "confirmed"), ("subject", "registration")))
    # one metrics registry per process, shared by every container of this test run: compare differences
    initial = samples(requests.get(f"http://127.0.0.1:{free_port}/metrics", timeout=5).text)
    before = initial.get(register_rpc, 0)

    activity = requests.post(f"{gateway_url}/api/staff/activities", json=activity_payload(),
                             headers=staff_headers, timeout=30).json()
    answer = requests.post(f"{gateway_url}/api/activities/{activity['activity_id']}/registrations",
                           json=registration_payload(name="Zoë Vermeulen", email="zoe.vermeulen@example.org"),
                           timeout=30)
    assert answer.status_code == 201

    gateway_text = requests.get(f"{gateway_url}/metrics", timeout=5).text
    gateway = samples(gateway_text)
    http_counts = sum(value for (name, labels), value in gateway.items()
                      if name == "platform_entrypoint_duration_seconds_count"
                      and ("kind", "http") in labels and ("service", "gateway") in labels)
    assert http_counts >= 3  # health, create activity, register

    def registration_metrics():
        return requests.get(f"http://127.0.0.1:{free_port}/metrics", timeout=5).text

    wait_for(lambda: 'event_type="registration.created"' in registration_metrics(), message="published counted")
    service_text = registration_metrics()
    service = samples(service_text)
    assert service[register_rpc] - before == 1
    wait_for(lambda: samples(registration_metrics()).get(confirmed, 0) - initial.get(confirmed, 0) == 1,
             message="business counter: one confirmed registration")
    for text in (gateway_text, service_text):
        assert "@" not in text
        assert "zoe" not in text.lower() and "vermeulen" not in text.lower()
