"""deploy/kubernetes keeps the services apart: each Deployment sees only its own secret keys (as
config.yml assigns them: a service's section, its own database URL, the gateway's AUTH), and the
NetworkPolicies (validated against the Kubernetes schemas with the other manifests in
test_deploy_config.py) let only the gateway be reached from outside and only the services reach
RabbitMQ and PostgreSQL. The policies are evaluated here as Kubernetes does: a pod that some policy
selects takes only what one of those policies' rules allows."""
from __future__ import annotations

import copy
import re

import pytest

from kernel.config import ROOT, SERVICES
from tests.integration.test_deploy_config import NAMESPACE, by_name, kubernetes_documents, of_kind, validate_builtin

SECTION_OWNERS = {"AUTH": "gateway", "GATEWAY": "gateway", **{service.upper(): service for service in SERVICES}}


def secret_owners() -> dict[str, str]:
    """Environment variable -> the one service whose configuration reads it (config.yml's section;
    under DATABASES, the service named by the key)."""
    owners, section = {}, None
    for line in (ROOT / "config.yml").read_text().splitlines():
        if re.match(r"^[A-Z_]+:", line):
            section = line.split(":", 1)[0]
        for name in re.findall(r"\$\{([A-Z0-9_]+):", line):
            if section == "DATABASES":
                owners[name] = line.strip().split(":", 1)[0]
            elif section in SECTION_OWNERS:
                owners[name] = SECTION_OWNERS[section]
    return owners


@pytest.fixture(scope="module")
def manifests():
    return kubernetes_documents()


def secrets_read(manifests, pod_spec) -> tuple[set[str], set[str]]:
    """The Secrets we ship that a container reads, and the environment variables it gets from them
    (all of a Secret's keys through envFrom, one through secretKeyRef) or that hold a database URL."""
    (container,) = pod_spec["containers"]
    ours = {s["metadata"]["name"]: set(s["stringData"]) for s in of_kind(manifests, "Secret")}
    read, variables = set(), set()
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            read.add(source["secretRef"]["name"])
            variables |= ours[source["secretRef"]["name"]]
    for variable in container.get("env", []):
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if ref and ref["name"] in ours:
            read.add(ref["name"])
        if variable["name"].endswith("_DB_URL"):
            variables.add(variable["name"])
    return read, variables


def test_every_deployment_reads_only_its_own_secrets_and_keys_and_all_of_them(manifests):
    owners = secret_owners()
    shipped = {key for s in of_kind(manifests, "Secret") if s["type"] == "Opaque" for key in s["stringData"]} | {
        f"{service.upper()}_DB_URL" for service in SERVICES}
    assert {"STAFF_TOKEN_SHA256", "CSRF_SECRET", "CANCEL_LINK_SECRET", "SMTP_PASSWORD"} <= shipped
    for deployment in of_kind(manifests, "Deployment"):
        name = deployment["metadata"]["name"]
        read, variables = secrets_read(manifests, deployment["spec"]["template"]["spec"])
        assert read <= {f"{name}-secrets", f"{name}-database"}, (name, read)
        assert (f"{name}-database" in read) == (name in SERVICES), name  # its own database login, if it has one
        assert {key for key in variables if owners.get(key) != name} == set(), name
        assert variables == {key for key in shipped if owners.get(key) == name}, name


def test_the_ownership_rule_tells_services_apart():
    owners = secret_owners()
    assert owners["REGISTRATION_DB_URL"] == "registration" and owners["CANCEL_LINK_SECRET"] == "registration"
    assert owners["ADMIN_TOKEN_SHA256"] == "gateway" and owners["SMTP_PASSWORD"] == "notifications"


# --- NetworkPolicies, evaluated ---------------------------------------------------------------------------


def selects(selector: dict, labels: dict) -> bool:
    if not all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
    return True


def port_matches(rule_ports, port: int, port_names: dict) -> bool:
    if not rule_ports:
        return True
    return any(p.get("port") in (port, port_names.get(port)) for p in rule_ports)


def peer_matches(peers, namespace: str, labels: dict) -> bool:
    if not peers:
        return True
    for peer in peers:
        namespace_ok = selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace}) \
            if "namespaceSelector" in peer else namespace == NAMESPACE
        pod_ok = selects(peer["podSelector"], labels) if "podSelector" in peer else True
        if namespace_ok and pod_ok:
            return True
    return False


def may_connect(policies, target: dict, port: int, source_namespace: str, source_labels: dict,
                port_names: dict | None = None) -> bool:
    applying = [p for p in policies if selects(p["spec"]["podSelector"], target)
                and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
    if not applying:
        return True
    return any(port_matches(rule.get("ports"), port, port_names or {})
               and peer_matches(rule.get("from"), source_namespace, source_labels)
               for policy in applying for rule in policy["spec"].get("ingress") or [])


def pod(name: str) -> dict:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": NAMESPACE}


RABBITMQ = {"app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/component": "rabbitmq"}
POSTGRES = {"cnpg.io/cluster": "postgres", "cnpg.io/instanceRole": "primary"}
OUTSIDER = ("elsewhere", {"app": "anything"})
NEIGHBOUR = (NAMESPACE, {"app": "debug-shell"})


def test_only_the_gateway_is_reachable_from_outside(manifests):
    policies = of_kind(manifests, "NetworkPolicy")
    assert may_connect(policies, pod("gateway"), 8000, *OUTSIDER)
    for service in SERVICES:
        metrics = int(by_name(manifests, "Deployment", service)["spec"]["template"]["metadata"]["annotations"][
            "prometheus.io/port"])
        assert not may_connect(policies, pod(service), metrics, *OUTSIDER, {metrics: "metrics"}), service
        assert may_connect(policies, pod(service), metrics, "monitoring", {}, {metrics: "metrics"}), service
    for target, port in ((RABBITMQ, 5672), (RABBITMQ, 15672), (POSTGRES, 5432)):
        assert not may_connect(policies, target, port, *OUTSIDER)
        assert not may_connect(policies, target, port, *NEIGHBOUR)


def test_only_the_services_reach_rabbitmq_and_only_those_with_a_database_reach_postgresql(manifests):
    policies = of_kind(manifests, "NetworkPolicy")
    for service in (*SERVICES, "gateway", "migrate"):
        assert may_connect(policies, RABBITMQ, 5672, NAMESPACE, pod(service)), service
        assert may_connect(policies, POSTGRES, 5432, NAMESPACE, pod(service)) == (service != "gateway"), service
    assert may_connect(policies, RABBITMQ, 25672, NAMESPACE, RABBITMQ)  # the cluster's own nodes
    assert not may_connect(policies, RABBITMQ, 15672, NAMESPACE, pod("gateway"))  # no management UI for services


def test_a_malformed_network_policy_is_rejected_by_the_schema(manifests):
    from kubernetes_validate import utils

    policy = copy.deepcopy(by_name(manifests, "NetworkPolicy", "gateway-from-anywhere"))
    policy["spec"]["podSelector"] = "gateway"
    with pytest.raises(utils.ValidationError):
        validate_builtin(policy)


# --- docker-compose ---------------------------------------------------------------------------------------

MANAGEMENT_UIS = ("rabbitmq", "mailpit", "prometheus", "alertmanager", "grafana")


def test_compose_management_uis_listen_on_this_machine_only_and_no_password_has_a_default():
    import yaml

    text = (ROOT / "docker-compose.yml").read_text()
    services = yaml.safe_load(text)["services"]
    for name in MANAGEMENT_UIS:
        ports = [str(port) for port in services[name].get("ports", [])]
        assert ports and all(port.startswith("127.0.0.1:") for port in ports), (name, ports)
    # a password is only ever a required variable (${NAME:?...}): compose refuses to start without it
    for match in re.finditer(r"^\s*[A-Z_]*(PASSWORD|PASS|SECRET)[A-Z_]*:\s*(\S+)", text, re.M):
        value = match.group(2).strip('"')
        assert value.startswith("${"), match.group(0)
        assert ":-" not in value or value.endswith(":-}"), match.group(0)  # an empty default at most
    for url in re.findall(r"://platform:([^@]+)@", text):
        assert url.startswith("${") and ":?" in url, url
