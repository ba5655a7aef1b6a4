"""The monitoring and deployment files of deploy/, checked with real validators.

- Prometheus: `promtool check config`, `promtool check rules` and `promtool test rules`
  (deploy/prometheus/alerts_test.yml: every alert fires on synthetic series and stays quiet on
  healthy ones); Alertmanager: `amtool check-config` and its routing (`amtool config routes
  test`). Both tools come from Debian's `prometheus` and `prometheus-alertmanager` packages,
  which `scripts/bootstrap.sh --test` installs.
- Grafana: the provisioning and the dashboards' JSON, their panels, and every metric a panel or
  an alert queries exists (kernel/metrics.py, RabbitMQ's rabbitmq_prometheus plugin, or
  Prometheus itself) with the labels it is filtered on; every query parses as PromQL.
- Runbooks: one per alert, and every command they show exists (the ops command line is parsed
  with its own argument parser).
- Kubernetes: every manifest validated against the Kubernetes schemas (`kubernetes-validate`,
  strict), the operators' resources (RabbitmqCluster, CloudNativePG) checked for their structure.
"""
from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import kernel.metrics
from kernel.config import ROOT, SERVICES

PLATFORM_SERVICES = (*SERVICES, "gateway")
DEPLOY = ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
GRAFANA_DIR = DEPLOY / "grafana"
KUBERNETES_DIR = DEPLOY / "kubernetes"
RUNBOOKS = ROOT / "docs" / "runbooks"
COMPOSE = ROOT / "docker-compose.yml"
KUBERNETES_VERSION = "1.37.0"
NAMESPACE = "steunpunt"

ALERTS = {
    "DeadLetterQueueNotEmpty",
    "OutboxEventsStuck",
    "EventQueueWithoutConsumer",
    "PlatformTargetDown",
    "KpisNotUpdated",
    "HighErrorRate",
}
SEVERITIES = {"critical", "warning"}
WEBHOOK_PATH = "/api/alerts/alertmanager"

# Metrics of RabbitMQ's rabbitmq_prometheus plugin (3.10 and newer; per-object endpoint, labels
# vhost and queue) and of Prometheus itself that the alerts and dashboards may query.
RABBITMQ_METRICS = {
    name: {"vhost", "queue"}
    for name in (
        "rabbitmq_queue_messages",
        "rabbitmq_queue_messages_ready",
        "rabbitmq_queue_messages_unacked",
        "rabbitmq_queue_consumers",
    )
}
PROMETHEUS_METRICS = {"up": set(), "ALERTS": {"alertname", "alertstate", "severity"}}
TARGET_LABELS = {"job", "instance"}

PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "inf", "nan",
}


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, (f"{name} not found: `scripts/bootstrap.sh --test` installs it "
                  "(apt-get install prometheus prometheus-alertmanager)")
    return path


def run(*argv, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def config_default(name: str) -> str:
    """The default config.yml gives the environment variable `name` (`${NAME:default}`)."""
    match = re.search(r"\$\{" + re.escape(name) + r":([^}]*)\}", (ROOT / "config.yml").read_text())
    assert match, f"config.yml reads no {name}"
    return match.group(1)


def config_env_names() -> set[str]:
    return set(re.findall(r"\$\{([A-Z0-9_]+):", (ROOT / "config.yml").read_text()))


# --------------------------------------------------------------------------- metric names


def known_metrics() -> dict[str, set[str]]:
    """Every series name the platform exposes, with its label names."""
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
    known = {}
    for metric in vars(kernel.metrics).values():
        if isinstance(metric, MetricWrapperBase):
            labels = set(metric._labelnames)
            for suffix in suffixes[metric._type]:
                known[metric._name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    assert "platform_events_consumed_total" in known and "platform_entrypoint_duration_seconds_bucket" in known
    known.update(RABBITMQ_METRICS)
    known.update(PROMETHEUS_METRICS)
    return known


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names it is matched on) of every series selector in a PromQL query."""
    found = []
    # label matchers first: {name="value", other=~"regex"}
    for match in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}", expr):
        without_values = re.sub(r'"(?:[^"\\]|\\.)*"', '""', match.group(2))
        labels = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", without_values))
        if match.group(1) and match.group(1) not in PROMQL_WORDS:
            found.append((match.group(1), labels))
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}", " ", bare)  # matchers (their names are in `found` already)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)  # ranges
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    for match in re.finditer(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)\b(?!\s*\()", bare):
        name = match.group(1)
        if name.lower() in PROMQL_WORDS:
            continue
        if not any(name == seen for seen, _ in found) or not re.search(re.escape(name) + r"\s*\{", expr):
            found.append((name, set()))
    return found


def assert_known_metrics(expr: str, where: str) -> None:
    known = known_metrics()
    names = selectors(expr)
    assert names, f"{where}: no metric in {expr!r}"
    for name, labels in names:
        assert name in known, f"{where}: {name} is neither in kernel/metrics.py nor in RabbitMQ's plugin ({expr!r})"
        unknown = labels - known[name] - TARGET_LABELS
        assert not unknown, f"{where}: {name} has no label(s) {unknown} ({expr!r})"


def test_metric_name_extraction_finds_what_a_query_reads():
    expr = 'sum by (producer) (rate(platform_events_published_total{producer=~"a|b"}[5m])) / on () up == 0 or vector(0)'
    assert sorted(name for name, _ in selectors(expr)) == ["platform_events_published_total", "up"]
    with pytest.raises(AssertionError, match="platform_made_up_total"):
        assert_known_metrics("rate(platform_made_up_total[5m])", "test")
    with pytest.raises(AssertionError, match="no label"):
        assert_known_metrics('platform_outbox_pending{email="x"}', "test")


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose():
    return load_yaml(COMPOSE)


def mount_source(service: dict, target: str) -> Path:
    for volume in service.get("volumes", []):
        source, _, rest = str(volume).partition(":")
        if rest.split(":")[0] == target:
            return (ROOT / source).resolve()
    raise AssertionError(f"nothing mounted at {target}: {service.get('volumes')}")


def test_compose_runs_prometheus_alertmanager_and_grafana_on_the_deploy_files(compose):
    services = compose["services"]
    prometheus = services["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert mount_source(prometheus, "/etc/prometheus") == PROMETHEUS_DIR.resolve()
    alertmanager = services["alertmanager"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert mount_source(alertmanager, "/etc/alertmanager") == ALERTMANAGER_CONFIG.parent.resolve()
    grafana = services["grafana"]
    assert mount_source(grafana, "/etc/grafana/provisioning") == (GRAFANA_DIR / "provisioning").resolve()
    dashboards_path = provider()["options"]["path"]
    assert mount_source(grafana, dashboards_path) == (GRAFANA_DIR / "dashboards").resolve()
    home = grafana["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert (GRAFANA_DIR / "dashboards" / Path(home).relative_to(dashboards_path)).is_file(), home
    for name, port in (("prometheus", 9090), ("alertmanager", 9093), ("grafana", 3000)):
        assert f"127.0.0.1:{port}:{port}" in [str(p) for p in services[name]["ports"]], name
        assert "healthcheck" in services[name], name


def test_compose_rabbitmq_enables_its_prometheus_plugin(compose):
    plugins_file = mount_source(compose["services"]["rabbitmq"], "/etc/rabbitmq/enabled_plugins")
    text = plugins_file.read_text()
    match = re.fullmatch(r"\s*\[([a-z_,\s]*)\]\.\s*", text)
    assert match, f"{plugins_file} is not an Erlang list of plugins: {text!r}"
    plugins = {p.strip() for p in match.group(1).split(",")}
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= plugins


def test_compose_services_serve_metrics_on_every_interface(compose):
    assert "${METRICS_ADDRESS:" in (ROOT / "config.yml").read_text(), "config.yml ignores METRICS_ADDRESS"
    for name in PLATFORM_SERVICES:
        assert compose["services"][name]["environment"].get("METRICS_ADDRESS") == "0.0.0.0", name


# --------------------------------------------------------------------------- Prometheus


@pytest.fixture(scope="module")
def prometheus_config():
    return load_yaml(PROMETHEUS_DIR / "prometheus.yml")


@pytest.fixture(scope="module")
def alert_rules():
    rules = [rule for group in load_yaml(PROMETHEUS_DIR / "alerts.yml")["groups"] for rule in group["rules"]]
    return {rule["alert"]: rule for rule in rules if "alert" in rule}


def test_promtool_checks_the_configuration_and_its_rule_files():
    result = run(tool("promtool"), "check", "config", "prometheus.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_promtool_checks_the_rules():
    result = run(tool("promtool"), "check", "rules", "alerts.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(ALERTS)} rules found" in result.stdout + result.stderr


def test_promtool_unit_tests_of_the_rules_pass():
    result = run(tool("promtool"), "test", "rules", "alerts_test.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_unit_tests_catch_a_broken_rule(tmp_path):
    """The unit tests really test the rules: an alert with the wrong threshold fails them."""
    for name in ("alerts.yml", "alerts_test.yml"):
        shutil.copy(PROMETHEUS_DIR / name, tmp_path / name)
    rules = tmp_path / "alerts.yml"
    text = rules.read_text()
    assert "(platform_outbox_oldest_age_seconds) > 60" in text
    rules.write_text(text.replace("(platform_outbox_oldest_age_seconds) > 60",
                                  "(platform_outbox_oldest_age_seconds) > 600"))
    result = run(tool("promtool"), "test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "OutboxEventsStuck" in result.stdout + result.stderr
    rules.write_text(text.replace("expr: up == 0", "expr: up == = 0"))
    result = run(tool("promtool"), "check", "rules", "alerts.yml", cwd=tmp_path)
    assert result.returncode != 0


def test_every_alert_has_severity_summary_and_runbook(alert_rules):
    assert set(alert_rules) == ALERTS
    for name, rule in alert_rules.items():
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert annotations.get("summary"), name
        assert annotations["runbook_url"] == f"docs/runbooks/{name}.md", name
        assert (ROOT / annotations["runbook_url"]).is_file(), f"{name}: no runbook {annotations['runbook_url']}"
        assert_known_metrics(rule["expr"], f"alert {name}")


def test_every_alert_is_unit_tested_firing_and_quiet(alert_rules):
    tests = load_yaml(PROMETHEUS_DIR / "alerts_test.yml")
    assert tests["rule_files"] == ["alerts.yml"]
    firing, quiet = set(), set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
            for alert in check.get("exp_alerts") or []:
                assert alert["exp_annotations"]["runbook_url"] == f"docs/runbooks/{check['alertname']}.md"
    assert firing == set(alert_rules), f"never shown firing: {set(alert_rules) - firing}"
    assert quiet == set(alert_rules), f"never shown quiet: {set(alert_rules) - quiet}"


def test_prometheus_scrapes_every_service_the_gateway_and_rabbitmq(prometheus_config, compose):
    jobs = {job["job_name"]: job for job in prometheus_config["scrape_configs"]}
    assert set(jobs) >= {*PLATFORM_SERVICES, "rabbitmq"}
    for name in SERVICES:
        targets = [t for c in jobs[name]["static_configs"] for t in c["targets"]]
        port = config_default(f"{name.upper()}_METRICS_PORT")
        assert targets == [f"{name}:{port}"], f"{name}: scrape {targets}, config.yml port {port}"
    gateway = jobs["gateway"]
    assert [t for c in gateway["static_configs"] for t in c["targets"]] == ["gateway:8000"]
    assert gateway.get("metrics_path", "/metrics") == "/metrics"
    rabbitmq = jobs["rabbitmq"]
    assert [t for c in rabbitmq["static_configs"] for t in c["targets"]] == ["rabbitmq:15692"]
    assert rabbitmq["metrics_path"] == "/metrics/per-object"  # per-queue series (vhost, queue labels)
    assert prometheus_config["rule_files"] == ["alerts.yml"]
    alertmanagers = [target for alertmanager in prometheus_config["alerting"]["alertmanagers"]
                     for static in alertmanager["static_configs"] for target in static["targets"]]
    assert alertmanagers == ["alertmanager:9093"]
    # every target is a service of docker-compose.yml
    for job in jobs.values():
        for config in job["static_configs"]:
            for target in config["targets"]:
                assert target.split(":")[0] in compose["services"], target


# --------------------------------------------------------------------------- Alertmanager


@pytest.fixture(scope="module")
def alertmanager_config():
    return load_yaml(ALERTMANAGER_CONFIG)


def test_amtool_checks_the_alertmanager_configuration():
    result = run(tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_amtool_rejects_a_broken_configuration(tmp_path):
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(ALERTMANAGER_CONFIG.read_text().replace("receiver: notifications", "receiver: nobody", 1))
    result = run(tool("amtool"), "check-config", str(broken))
    assert result.returncode != 0


@pytest.mark.parametrize("severity", sorted(SEVERITIES))
def test_every_alert_is_routed_to_the_notifications_webhook(alert_rules, alertmanager_config, severity):
    names = [name for name, rule in alert_rules.items() if rule["labels"]["severity"] == severity]
    assert names
    for name in names:
        result = run(tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                     f"alertname={name}", f"severity={severity}")
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.split() == ["notifications"], f"{name}: routed to {result.stdout!r}"
    receiver = next(r for r in alertmanager_config["receivers"] if r["name"] == "notifications")
    (webhook,) = receiver["webhook_configs"]
    url = urlsplit(webhook["url"])
    assert (url.hostname, url.port, url.path) == ("gateway", 8000, WEBHOOK_PATH)
    assert webhook["send_resolved"] is True


def duration_seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", text))


def test_alertmanager_groups_and_does_not_flood(alertmanager_config):
    def walk(route, inherited):
        own = {k: route[k] for k in ("group_by", "group_interval", "repeat_interval") if k in route}
        settings = {**inherited, **own}
        assert "alertname" in settings["group_by"], route
        assert duration_seconds(settings["group_interval"]) >= 60, route
        assert duration_seconds(settings["repeat_interval"]) >= 3600, route
        for child in route.get("routes", []):
            walk(child, settings)

    walk(alertmanager_config["route"], {})


# --------------------------------------------------------------------------- Grafana

PIPELINE_PANELS = {
    "Published per second, by producer",
    "Consumed per second, by outcome",
    "Retried per second, by consumer",
    "Dead-lettered (failed every retry or invalid), by consumer",
    "Outbox backlog (unpublished events)",
    "Outbox oldest unpublished event age",
    "Dead-letter queue depth",
    "Latency p99, by service and kind",
    "Errors per second, by service, entrypoint and error",
}
KPI_PANELS = {
    "Registrations",
    "Evaluations requested and submitted",
    "Demand-driven requests",
    "KPI threshold crossings",
    "Events reporting handled per second",
    "Satisfaction, NPS, reach: not exported yet",
}


def provider() -> dict:
    (provider,) = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "steunpunt.yml")["providers"]
    assert provider["type"] == "file"
    return provider


def datasource() -> dict:
    (source,) = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    return source


def dashboards() -> dict[str, dict]:
    files = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
    assert [f.name for f in files] == ["kpis.json", "pipeline-health.json"]
    return {f.name: json.loads(f.read_text()) for f in files}


def panels(dashboard: dict) -> list[dict]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_grafana_datasource_is_the_compose_prometheus(compose):
    source = datasource()
    assert source["type"] == "prometheus" and source["uid"] == "prometheus"
    url = urlsplit(source["url"])
    assert url.hostname in compose["services"] and url.port == 9090


def test_grafana_dashboards_have_the_expected_panels():
    boards = dashboards()
    titles = {name: {p["title"] for p in panels(board)} for name, board in boards.items()}
    assert PIPELINE_PANELS <= titles["pipeline-health.json"], PIPELINE_PANELS - titles["pipeline-health.json"]
    assert KPI_PANELS <= titles["kpis.json"], KPI_PANELS - titles["kpis.json"]
    uids = [board["uid"] for board in boards.values()]
    assert len(set(uids)) == len(uids)
    for name, board in boards.items():
        ids = [p["id"] for p in panels(board)]
        assert len(set(ids)) == len(ids), f"{name}: duplicate panel ids"
        for panel in panels(board):
            assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), f"{name}: {panel['title']}"
            if panel["type"] in ("row", "text"):
                assert not panel.get("targets"), f"{name}: {panel['title']}"
                continue
            assert panel["datasource"]["uid"] == datasource()["uid"], f"{name}: {panel['title']}"
            assert panel["targets"], f"{name}: {panel['title']} queries nothing"


def dashboard_queries() -> list[tuple[str, str]]:
    return [
        (f"{name}: {panel['title']}", target["expr"])
        for name, board in dashboards().items()
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]


def test_grafana_queries_read_existing_metrics():
    queries = dashboard_queries()
    assert len(queries) >= 20
    for where, expr in queries:
        assert_known_metrics(expr, where)


def test_grafana_queries_are_valid_promql(tmp_path):
    """promtool parses each query (as a recording rule; Grafana's $__rate_interval as 5m)."""
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "5m")}
        for i, (_, expr) in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run(tool("promtool"), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- runbooks


def kubernetes_documents() -> list[dict]:
    kustomization = load_yaml(KUBERNETES_DIR / "kustomization.yaml")
    documents = []
    for resource in kustomization["resources"]:
        documents.extend(d for d in yaml.safe_load_all((KUBERNETES_DIR / resource).read_text()) if d)
    return documents


def deployment_names() -> set[str]:
    return {d["metadata"]["name"] for d in kubernetes_documents() if d["kind"] == "Deployment"}


def check_ops_command(argv: list[str]) -> None:
    from ops import parser

    argv = [{"EVENT_ID": "0b7e6f0e-5a8c-4c1e-9a55-2f8e0f3f6a01"}.get(a, a) for a in argv]
    try:
        parser().parse_args(argv)
    except SystemExit:
        raise AssertionError(f"`python -m ops {' '.join(argv)}` is not a valid ops command") from None


def check_command(argv: list[str], compose: dict) -> None:
    """Fail unless `argv` is a command of this platform's tools as the runbooks may show it."""
    assert argv, "empty command"
    head, rest = argv[0], argv[1:]
    if head in ("python", ".venv/bin/python"):
        if rest[:1] == ["-m"]:
            module = rest[1]
            path = ROOT / module.replace(".", "/")
            assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), f"no module {module}"
            if module == "ops":
                check_ops_command(rest[2:])
            else:
                assert module in ("kernel.topology", "kernel.migrate") and not rest[2:], argv
            return
        assert rest[0] == "deploy/healthcheck.py" and (ROOT / rest[0]).is_file(), argv
        assert (rest[1] == "rpc" and rest[2] in SERVICES) or (rest[1] == "http" and rest[2].startswith("http")), argv
        return
    if head == "docker":
        assert rest[0] == "compose", argv
        verb, args = rest[1], rest[2:]
        assert verb in ("ps", "logs", "exec", "restart", "up"), argv
        if verb == "exec":
            assert args[0] in compose["services"], argv
            return check_command(args[1:], compose)
        names = [a for i, a in enumerate(args) if not a.startswith("-") and not (i and args[i - 1] == "--since")]
        for name in names:
            assert name in compose["services"], f"docker compose: no service {name}"
        return
    if head == "kubectl":
        assert rest[:2] == ["-n", NAMESPACE], f"kubectl outside namespace {NAMESPACE}: {argv}"
        verb, args = rest[2], rest[3:]
        assert verb in ("get", "logs", "describe", "exec", "rollout", "wait", "delete"), argv
        if verb == "exec":
            split = args.index("--")
            return check_command(args[split + 1:], compose)
        for arg in args:
            if arg.startswith("deploy/"):
                assert arg.split("/", 1)[1] in deployment_names(), f"kubectl: no Deployment {arg}"
            if arg.startswith("app.kubernetes.io/name="):
                assert arg.split("=", 1)[1] in deployment_names(), argv
        if verb == "rollout":
            assert args[0] in ("restart", "undo", "status"), argv
        return
    if head in ("rabbitmq-diagnostics", "rabbitmq-plugins"):
        allowed = {"rabbitmq-diagnostics": {"ping", "alarms", "status"}, "rabbitmq-plugins": {"list"}}[head]
        assert [a for a in rest if not a.startswith("-")][0] in allowed, argv
        return
    raise AssertionError(f"runbooks show an unknown command: {' '.join(argv)}")


def runbook_commands(text: str) -> list[list[str]]:
    """The commands in a page's ```sh blocks and in its inline code; `<service>` stands for any
    service (checked as `reporting`), EVENT_ID for an event id."""
    text = text.replace("<service>", "reporting")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(shlex.split(line))
    for span in re.findall(r"`([^`\n]+)`", text):
        if re.match(r"(python|\.venv/bin/python|docker compose|kubectl) ", span):
            commands.append(shlex.split(span))
    return commands


def test_every_alert_has_a_runbook_that_says_what_how_to_look_and_fix():
    pages = {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"}
    assert pages == ALERTS
    index = (RUNBOOKS / "README.md").read_text()
    for name in ALERTS:
        text = (RUNBOOKS / f"{name}.md").read_text()
        assert text.startswith(f"# {name}\n"), name
        for section in ("## What it means", "## How to look", "## How to fix"):
            assert section in text, f"{name}.md has no '{section}'"
        assert f"({name}.md)" in index, f"runbooks/README.md does not list {name}"


def test_runbooks_show_only_commands_that_exist(compose):
    total = 0
    for page in sorted(RUNBOOKS.glob("*.md")):
        text = page.read_text()
        for argv in runbook_commands(text):
            try:
                check_command(argv, compose)
            except (AssertionError, IndexError, ValueError) as error:
                raise AssertionError(f"{page.name}: {' '.join(argv)}: {error}") from None
            total += 1
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (page.parent / link).exists(), f"{page.name} links to {link}, which does not exist"
        for query in re.findall(r"```promql\n(.*?)```", text, re.S):
            assert_known_metrics(query, page.name)
    assert total >= 40


@pytest.mark.parametrize("command", [
    "python -m ops dlq rebuild",
    "python -m ops replay --all",
    "python -m kernel.nothing",
    "docker compose logs worker",
    "kubectl -n steunpunt logs deploy/worker",
    "rabbitmqctl purge_queue platform.dead-letter",
])
def test_runbook_command_check_rejects_made_up_commands(compose, command):
    with pytest.raises(AssertionError):
        check_command(shlex.split(command), compose)


# --------------------------------------------------------------------------- Kubernetes

BUILTIN_KINDS = {"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Job", "NetworkPolicy"}

# The operators' resources, as far as these manifests use them (field names of the RabbitMQ
# Cluster Operator's RabbitmqCluster v1beta1 and CloudNativePG's Cluster and Database v1 CRDs).
_OBJECT = {"type": "object"}
_METADATA = {
    "type": "object", "required": ["name", "namespace"],
    "properties": {"name": {"type": "string"}, "namespace": {"const": NAMESPACE}, "labels": _OBJECT},
    "additionalProperties": False,
}
OPERATOR_SCHEMAS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {}, "kind": {}, "metadata": _METADATA,
            "spec": {
                "type": "object", "required": ["replicas"], "additionalProperties": False,
                "properties": {
                    "replicas": {"type": "integer", "minimum": 1},
                    "image": {"type": "string"},
                    "persistence": {"type": "object", "additionalProperties": False,
                                    "properties": {"storage": {"type": "string"},
                                                   "storageClassName": {"type": "string"}}},
                    "resources": _OBJECT,
                    "rabbitmq": {"type": "object", "additionalProperties": False, "properties": {
                        "additionalPlugins": {"type": "array",
                                              "items": {"type": "string", "pattern": "^rabbitmq_[a-z_]+$"}},
                        "additionalConfig": {"type": "string"},
                        "advancedConfig": {"type": "string"},
                    }},
                },
            },
        },
        "additionalProperties": False,
    },
    ("postgresql.cnpg.io/v1", "Cluster"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {}, "kind": {}, "metadata": _METADATA,
            "spec": {
                "type": "object", "required": ["instances", "storage"], "additionalProperties": False,
                "properties": {
                    "instances": {"type": "integer", "minimum": 1},
                    "imageName": {"type": "string"},
                    "storage": {"type": "object", "required": ["size"], "additionalProperties": False,
                                "properties": {"size": {"type": "string"}, "storageClass": {"type": "string"}}},
                    "bootstrap": {"type": "object", "additionalProperties": False, "properties": {
                        "initdb": {"type": "object", "additionalProperties": False, "properties": {
                            "database": {"type": "string"}, "owner": {"type": "string"},
                            "secret": {"type": "object", "required": ["name"], "additionalProperties": False,
                                       "properties": {"name": {"type": "string"}}},
                        }},
                    }},
                    "monitoring": {"type": "object", "additionalProperties": False,
                                   "properties": {"enablePodMonitor": {"type": "boolean"}}},
                    "managed": {"type": "object", "additionalProperties": False, "properties": {
                        "roles": {"type": "array", "items": {
                            "type": "object", "required": ["name"], "additionalProperties": False,
                            "properties": {
                                "name": {"type": "string"}, "ensure": {"enum": ["present", "absent"]},
                                "login": {"type": "boolean"},
                                "passwordSecret": {"type": "object", "required": ["name"],
                                                   "additionalProperties": False,
                                                   "properties": {"name": {"type": "string"}}},
                            },
                        }},
                    }},
                    "resources": _OBJECT,
                },
            },
        },
        "additionalProperties": False,
    },
    ("postgresql.cnpg.io/v1", "Database"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {}, "kind": {}, "metadata": _METADATA,
            "spec": {
                "type": "object", "required": ["cluster", "name", "owner"], "additionalProperties": False,
                "properties": {
                    "cluster": {"type": "object", "required": ["name"], "additionalProperties": False,
                                "properties": {"name": {"type": "string"}}},
                    "name": {"type": "string"}, "owner": {"type": "string"},
                },
            },
        },
        "additionalProperties": False,
    },
}


@pytest.fixture(scope="module")
def manifests():
    return kubernetes_documents()


def of_kind(manifests, kind):
    return [d for d in manifests if d["kind"] == kind]


def by_name(manifests, kind, name):
    (found,) = [d for d in of_kind(manifests, kind) if d["metadata"]["name"] == name]
    return found


def validate_builtin(document: dict) -> None:
    from kubernetes_validate import utils

    utils.validate(document, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest():
    kustomization = load_yaml(KUBERNETES_DIR / "kustomization.yaml")
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization" and kustomization["namespace"] == NAMESPACE
    on_disk = {p.name for p in KUBERNETES_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk
    (image,) = kustomization["images"]
    for deployment in of_kind(kubernetes_documents(), "Deployment"):
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].split(":")[0] == image["name"]


def test_kubernetes_manifests_pass_the_kubernetes_schemas(manifests):
    kinds = {d["kind"] for d in manifests}
    assert BUILTIN_KINDS <= kinds
    for document in manifests:
        key = (document["apiVersion"], document["kind"])
        where = f"{document['kind']}/{document['metadata']['name']}"
        if document["kind"] in BUILTIN_KINDS:
            validate_builtin(document)
        else:
            assert key in OPERATOR_SCHEMAS, f"{where}: {key} is neither built in nor an operator resource we know"
            try:
                jsonschema.validate(document, OPERATOR_SCHEMAS[key])
            except jsonschema.ValidationError as error:
                raise AssertionError(f"{where}: {error.message} at {list(error.absolute_path)}") from None
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == NAMESPACE, where


def test_kubernetes_validation_rejects_a_broken_manifest(manifests):
    from kubernetes_validate import utils

    deployment = copy.deepcopy(by_name(manifests, "Deployment", "gateway"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/health"}}
    with pytest.raises(utils.ValidationError):
        validate_builtin(deployment)
    deployment = copy.deepcopy(by_name(manifests, "Deployment", "gateway"))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(utils.ValidationError):
        validate_builtin(deployment)
    cluster = copy.deepcopy(of_kind(manifests, "RabbitmqCluster")[0])
    cluster["spec"]["replica"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cluster, OPERATOR_SCHEMAS[("rabbitmq.com/v1beta1", "RabbitmqCluster")])


def test_every_service_is_a_deployment_with_replicas_and_probes(manifests):
    from nameko.cli.run import import_service

    assert {d["metadata"]["name"] for d in of_kind(manifests, "Deployment")} == set(PLATFORM_SERVICES)
    for name in PLATFORM_SERVICES:
        deployment = by_name(manifests, "Deployment", name)
        spec = deployment["spec"]
        assert spec["replicas"] >= 1, name
        pod = spec["template"]
        assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(), name
        (container,) = pod["spec"]["containers"]
        command = container["command"]
        assert command[:4] == ["nameko", "run", "--config", "config.yml"], command
        assert [cls.name for cls in import_service(command[4])] == [name], command
        env_from = {next(iter(e.values()))["name"] for e in container["envFrom"]}
        assert env_from <= {"platform-config", f"{name}-secrets"} and "platform-config" in env_from, name
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        if name == "gateway":
            assert ports == {"http": 8000}
            assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
            assert container["livenessProbe"]["httpGet"]["port"] == "http"
            annotations_port = "8000"
        else:
            probe = ["python", "deploy/healthcheck.py", "rpc", name]
            assert container["readinessProbe"]["exec"]["command"] == probe, name
            assert container["livenessProbe"]["exec"]["command"] == probe, name
            annotations_port = config_default(f"{name.upper()}_METRICS_PORT")
            assert ports == {"metrics": int(annotations_port)}, name
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == annotations_port
        assert (ROOT / "deploy" / "healthcheck.py").is_file()


def test_gateway_service_selects_the_gateway(manifests):
    service = by_name(manifests, "Service", "gateway")
    gateway = by_name(manifests, "Deployment", "gateway")
    assert service["spec"]["selector"].items() <= gateway["spec"]["template"]["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == 8000 and port["targetPort"] == "http"


def test_configuration_and_secrets_are_what_config_yml_reads(manifests):
    names = config_env_names()
    config = by_name(manifests, "ConfigMap", "platform-config")["data"]
    secrets = {}
    for secret in of_kind(manifests, "Secret"):
        if secret["type"] == "Opaque":  # the basic-auth ones are the databases' logins
            secrets.update(secret["stringData"])
    assert set(config) <= names, f"config.yml does not read {set(config) - names}"
    assert set(secrets) <= names, f"config.yml does not read {set(secrets) - names}"
    assert not set(config) & set(secrets)
    assert config["QUEUE_TYPE"] == "quorum"
    assert config["METRICS_ADDRESS"] == "0.0.0.0"
    assert config["GATEWAY_ADDRESS"] == "0.0.0.0:8000"
    # nothing usable is shipped: every secret value is left for the operator to fill (a role's name is no secret)
    assert {key: value for secret in of_kind(manifests, "Secret") for key, value in secret["stringData"].items()
            if value and not (secret["type"] == "kubernetes.io/basic-auth" and key == "username")} == {}
    cluster = of_kind(manifests, "Cluster")[0]
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    owners = {initdb["database"]: (initdb["owner"], initdb["secret"]["name"])}
    roles = {role["name"]: role["passwordSecret"]["name"] for role in cluster["spec"]["managed"]["roles"]}
    for database in of_kind(manifests, "Database"):
        owners[database["spec"]["name"]] = (database["spec"]["owner"], roles[database["spec"]["owner"]])
    # every database has an owner of its own, whose password is in that service's `-database` Secret
    assert owners == {service: (service, f"{service}-database") for service in SERVICES}
    for service in SERVICES:
        login = by_name(manifests, "Secret", f"{service}-database")
        assert login["type"] == "kubernetes.io/basic-auth" and login["stringData"]["username"] == service
    pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"]
            for d in of_kind(manifests, "Deployment") + of_kind(manifests, "Job")}
    for name, pod in pods.items():
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        for service in SERVICES:
            if f"{service.upper()}_DB_URL" not in env:
                continue
            url = urlsplit(env[f"{service.upper()}_DB_URL"]["value"])
            assert url.scheme == "postgresql+psycopg2"
            assert url.hostname == f"{cluster['metadata']['name']}-rw", url
            assert url.path == f"/{service}" and url.username == service, url
            password = re.fullmatch(r"\$\((\w+)\)", url.password).group(1)
            secret = {"name": f"{service}-database", "key": "password"}
            assert env[password]["valueFrom"]["secretKeyRef"] == secret, name
    migrate_env = {e["name"] for e in pods["migrate"]["containers"][0]["env"]}
    assert {s for s in SERVICES if f"{s.upper()}_DB_URL" in migrate_env} == set(SERVICES)


def test_pods_reach_the_rabbitmq_cluster_with_the_operators_credentials(manifests):
    (cluster,) = of_kind(manifests, "RabbitmqCluster")
    name = cluster["metadata"]["name"]
    assert cluster["spec"]["replicas"] == 3
    assert "rabbitmq_prometheus" in cluster["spec"]["rabbitmq"]["additionalPlugins"]
    pods = [d["spec"]["template"]["spec"] for d in of_kind(manifests, "Deployment") + of_kind(manifests, "Job")]
    for pod in pods:
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        for key, field in (("RABBITMQ_USER", "username"), ("RABBITMQ_PASSWORD", "password")):
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": f"{name}-default-user", "key": field}
        url = env["AMQP_URI"]["value"]
        assert url == f"pyamqp://$(RABBITMQ_USER):$(RABBITMQ_PASSWORD)@{name}:5672/"
        names = [e["name"] for e in pod["containers"][0]["env"]]
        assert names.index("AMQP_URI") > names.index("RABBITMQ_PASSWORD")  # $(VAR) needs it defined first


def test_migration_job_runs_migrations_and_topology(manifests):
    (job,) = of_kind(manifests, "Job")
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    modules = re.findall(r"-m\s+([\w.]+)", command)
    assert modules == ["kernel.migrate", "kernel.topology"]
    for module in modules:
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
