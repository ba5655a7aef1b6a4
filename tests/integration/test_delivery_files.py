"""The delivery files: docker-compose.yml, deploy/Dockerfile, the Makefile's supervisor.

No Docker engine runs here, so the compose file is checked for its structure; the
supervisor (scripts/run_platform.py) is run for real, with fake services.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from kernel.config import ROOT, SERVICES
from tests.helpers import free_port
from tests.integration.test_deploy_config import COMPOSE, PLATFORM_SERVICES

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
SUPERVISOR = ROOT / "scripts" / "run_platform.py"


def load_supervisor_module():
    spec = importlib.util.spec_from_file_location("run_platform", SUPERVISOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_service_target(target: str, service: str) -> None:
    """`nameko run <target>` finds exactly the service named `service` (as nameko itself looks)."""
    from nameko.cli.run import import_service

    found = import_service(target)
    assert [cls.name for cls in found] == [service], f"nameko run {target} finds {found}"


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def config_env_names(suffix: str) -> set[str]:
    """Environment variables config.yml reads that end with `suffix`."""
    return set(re.findall(r"\$\{([A-Z0-9_]+" + suffix + r"):", (ROOT / "config.yml").read_text()))


def test_compose_has_every_service_and_the_infrastructure(compose):
    services = compose["services"]
    monitoring = ("prometheus", "alertmanager", "grafana")  # their files: test_deploy_config.py
    for name in (*PLATFORM_SERVICES, "migrate", "rabbitmq", "postgres", "mailpit", *monitoring):
        assert name in services, f"docker-compose.yml has no service {name!r}"
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3.13-management")
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "mailpit" in services["mailpit"]["image"]
    for name, service in services.items():
        assert "healthcheck" in service or name == "migrate", f"{name} has no healthcheck"


def test_platform_services_wait_for_migrate_broker_and_database(compose):
    services = compose["services"]
    for name in PLATFORM_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["rabbitmq"]["condition"] == "service_healthy", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    migrate = services["migrate"]["depends_on"]
    assert migrate["rabbitmq"]["condition"] == "service_healthy"
    assert migrate["postgres"]["condition"] == "service_healthy"


def test_every_database_url_points_to_postgres(compose):
    services = compose["services"]
    wanted = config_env_names("_DB_URL")
    assert wanted >= {f"{s.upper()}_DB_URL" for s in SERVICES}, "config.yml lost a *_DB_URL variable"
    for name in (*PLATFORM_SERVICES, "migrate"):
        # the passwords are required variables (${NAME:?...}), which compose fills in before use (and
        # nameko's YAML resolver, once imported, replaces by their "default"): the password set aside
        env = {key: re.sub(r"//([^:/@]*):[^/]*@", r"//\1:password@", str(value))
               for key, value in services[name]["environment"].items()}
        assert set(env) >= wanted, f"{name} lacks {wanted - set(env)}"
        for key, value in env.items():
            if key.endswith("_DB_URL"):
                url = urlsplit(value)
                assert url.scheme == "postgresql+psycopg2", f"{name}.{key} = {value}"
                assert url.hostname == "postgres", f"{name}.{key} = {value}"
        for service in SERVICES:
            assert urlsplit(env[f"{service.upper()}_DB_URL"]).path == f"/{service}"
        amqp = urlsplit(env["AMQP_URI"])
        assert amqp.hostname == "rabbitmq" and amqp.port == 5672, f"{name}: AMQP_URI {env['AMQP_URI']}"
        user = services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_USER"]
        assert amqp.username == user, f"{name}: AMQP_URI user is not RabbitMQ's default user"


def test_postgres_init_script_creates_every_database(compose):
    mounts = [v for v in compose["services"]["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert mounts, "postgres mounts no init script"
    script = ROOT / mounts[0].split(":")[0]
    assert script.is_file()
    assert os.access(script, os.X_OK), f"{script} is not executable"
    text = script.read_text()
    for service in SERVICES:
        assert re.search(rf"\b{service}\b", text), f"init script does not create database {service}"


def test_gateway_publishes_port_8000_on_every_interface(compose):
    gateway = compose["services"]["gateway"]
    assert "8000:8000" in [str(p) for p in gateway["ports"]]
    assert gateway["environment"]["GATEWAY_ADDRESS"] == "0.0.0.0:8000"
    assert "${GATEWAY_ADDRESS:" in (ROOT / "config.yml").read_text(), "config.yml ignores GATEWAY_ADDRESS"
    for name in SERVICES:
        assert "ports" not in compose["services"][name], f"{name} should not publish ports"


def test_services_run_one_image_built_from_the_dockerfile(compose):
    services = compose["services"]
    build = services["migrate"]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE.resolve()
    image = services["migrate"]["image"]
    for name in PLATFORM_SERVICES:
        assert services[name]["image"] == image, name
        command = services[name]["command"]
        assert command[:4] == ["nameko", "run", "--config", "config.yml"], command
        assert_service_target(command[4], name)


def test_migrate_runs_existing_modules(compose):
    command = compose["services"]["migrate"]["command"]
    command = " ".join(command) if isinstance(command, list) else command
    modules = re.findall(r"-m\s+([\w.]+)", command)
    assert "kernel.migrate" in modules
    for module in modules:
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), module


def test_healthchecks_use_an_existing_script(compose):
    for name in PLATFORM_SERVICES:
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "deploy/healthcheck.py"], test
        assert (ROOT / test[2]).is_file()
        expected = ("http", "http://127.0.0.1:8000/health") if name == "gateway" else ("rpc", name)
        assert tuple(test[3:5]) == expected, f"{name}: {test}"


def test_dockerfile_installs_requirements_and_runs_a_service():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"pip install .*-r requirements\.txt", text)
    for source in re.findall(r"^COPY\s+(.+?)\s+\S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"
    cmd = re.search(r"^CMD\s+(\[.*\])$", text, re.M)
    assert cmd, "Dockerfile has no CMD in exec form"
    command = " ".join(yaml.safe_load(cmd.group(1)))
    assert re.search(r"nameko run --config config\.yml services\.\$\{SERVICE\}\.service", command)
    default = re.search(r"^ENV\s+SERVICE=(\w+)", text, re.M).group(1)
    assert default in PLATFORM_SERVICES
    assert (ROOT / "services" / default / "service.py").is_file()


def test_ci_runs_make_test():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    commands = [line.strip() for line in ci.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "make test" in commands
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test", "lint", "migrate"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no target {target}"


# --------------------------------------------------------------------------- supervisor


def test_supervisor_starts_every_service():
    supervisor = load_supervisor_module()
    assert tuple(supervisor.DEFAULT_SERVICES) == PLATFORM_SERVICES
    for service in PLATFORM_SERVICES:
        command = supervisor.Supervisor([service], supervisor.DEFAULT_COMMAND, 1, False).argv(service)
        assert command[1:4] == ["run", "--config", "config.yml"], command
        assert_service_target(command[4], service)


FAKE_SERVICE = r'''
import http.server, os, signal, sys, threading, time
name = sys.argv[1]
piddir = os.environ["FAKE_PID_DIR"]
with open(os.path.join(piddir, name), "w") as handle:
    handle.write(str(os.getpid()))
print(f"hello from {name}", flush=True)
if name == "dying":
    time.sleep(1.0)
    print("dying now", flush=True)
    sys.exit(3)
if name == "stubborn":
    signal.signal(signal.SIGTERM, lambda *args: print("ignoring SIGTERM", flush=True))
else:
    def stop(*args):
        print(f"{name} stopping", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
if name == "web":
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()
        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", int(os.environ["FAKE_PORT"])), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
while True:
    time.sleep(0.1)
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead, only not yet reaped
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Platform:
    """scripts/run_platform.py running fake services, its output in a file."""

    def __init__(self, tmp_path: Path, services: list[str], *extra: str, health: bool = True):
        self.piddir = tmp_path / "pids"
        self.piddir.mkdir()
        script = tmp_path / "fake_service.py"
        script.write_text(FAKE_SERVICE)
        self.port = free_port()
        self.log_path = tmp_path / "supervisor.log"
        self.services = services
        args = [
            sys.executable,
            str(SUPERVISOR),
            "--services",
            ",".join(services),
            "--command",
            f"{{python}} {shlex.quote(str(script))} {{instance}}",
            "--health-url",
            f"http://127.0.0.1:{self.port}/health" if health else "",
            *extra,
        ]
        env = dict(os.environ, FAKE_PID_DIR=str(self.piddir), FAKE_PORT=str(self.port), NO_COLOR="1")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_output(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process.poll() is None, f"supervisor exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"no {text!r} in the output:\n{self.log()}"
            time.sleep(0.1)

    def child_pids(self) -> dict[str, int]:
        deadline = time.monotonic() + 10
        while len(list(self.piddir.iterdir())) < len(self.services):
            assert time.monotonic() < deadline, f"children did not all start:\n{self.log()}"
            time.sleep(0.05)
        time.sleep(0.1)  # pid files are complete
        return {path.name: int(path.read_text()) for path in self.piddir.iterdir()}

    def wait(self, timeout: float = 20.0) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"supervisor did not exit within {timeout}s:\n{self.log()}") from None

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in self.child_pids().values() if self.piddir.exists() else ():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def platform(tmp_path):
    started = []

    def start(*args, **kwargs):
        instance = Platform(tmp_path, *args, **kwargs)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.kill()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_supervisor_stops_every_child_on_a_signal_and_exits_0(platform, signum):
    run = platform(["alpha", "beta", "stubborn", "web"], "--stop-timeout", "1.5")
    pids = run.child_pids()
    run.wait_for_output("the platform is up")
    assert all(_alive(pid) for pid in pids.values())
    # every child's output comes through, prefixed with its name
    for name in pids:
        assert re.search(rf"^{name}\s*\| hello from {name}$", run.log(), re.M), run.log()

    run.process.send_signal(signum)
    assert run.wait() == 0, run.log()

    assert not [name for name, pid in pids.items() if _alive(pid)], run.log()
    log = run.log()
    assert "alpha stopping" in log and "beta stopping" in log  # asked with SIGTERM first
    assert "ignoring SIGTERM" in log and "stubborn did not stop" in log  # then SIGKILL


def test_supervisor_runs_replicas_each_with_its_own_metrics_port(platform):
    run = platform(["alpha", "web"], "--replicas", "alpha=2", "--stop-timeout", "1.5")
    pids = run.child_pids()
    assert set(pids) == {"alpha", "alpha-2", "web"}
    run.wait_for_output("the platform is up")
    assert re.search(r"^alpha-2\s*\| hello from alpha-2$", run.log(), re.M), run.log()
    run.process.send_signal(signal.SIGTERM)
    assert run.wait() == 0, run.log()
    assert not [name for name, pid in pids.items() if _alive(pid)], run.log()

    module = load_supervisor_module()
    assert module.parse_replicas(module.DEFAULT_REPLICAS) == {"reporting": 2}
    supervisor = module.Supervisor(["reporting", "gateway"], module.DEFAULT_COMMAND, 1, False,
                                   {"reporting": 3}, {"reporting": 9104})
    assert supervisor.services == ["reporting", "reporting-2", "reporting-3", "gateway"]
    first, third = supervisor.environment("reporting", 1), supervisor.environment("reporting", 3)
    assert "REPORTING_METRICS_PORT" not in first and "BATCH_CONSUMER_PRIORITY" not in first
    assert third["REPORTING_METRICS_PORT"] == "9304" and third["BATCH_CONSUMER_PRIORITY"] == "-2"
    assert supervisor.argv("reporting", "reporting-2")[4] == "services.reporting.service"


def _nice(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rpartition(")")[2].split()[16])


def test_supervisor_runs_background_services_at_a_lower_cpu_priority(platform):
    run = platform(["alpha", "web"], "--nice", "alpha=10")
    pids = run.child_pids()
    run.wait_for_output("the platform is up")
    assert _nice(pids["alpha"]) == 10 and _nice(pids["web"]) == 0
    # each child leads a session of its own: where the kernel schedules a session's processes as
    # one group (autogroup), the group's priority is what counts against the other services
    autogroup = Path(f"/proc/{pids['alpha']}/autogroup")
    if autogroup.exists():
        assert autogroup.read_text().split()[-1] == "10"
        assert Path(f"/proc/{pids['web']}/autogroup").read_text().split()[-1] == "0"
    assert re.search(r"started alpha \(pid \d+, nice 10\)", run.log()), run.log()

    module = load_supervisor_module()
    assert module.parse_niceness(module.DEFAULT_NICE) == {"notifications": 10, "reporting": 10}


@pytest.mark.parametrize("nice", ["notifications", "notifications=20", "=5", "notifications=-1"])
def test_supervisor_refuses_a_malformed_niceness(nice):
    result = subprocess.run([sys.executable, str(SUPERVISOR), "--nice", nice, "--health-url", ""],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--nice" in result.stderr, result.stderr


@pytest.mark.parametrize("replicas", ["reporting", "reporting=0", "=2", "reporting=two"])
def test_supervisor_refuses_a_malformed_replica_count(replicas):
    result = subprocess.run([sys.executable, str(SUPERVISOR), "--replicas", replicas, "--health-url", ""],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--replicas" in result.stderr, result.stderr


def test_supervisor_exits_non_zero_when_a_child_dies(platform):
    run = platform(["alpha", "dying", "stubborn"], "--stop-timeout", "1", health=False)
    pids = run.child_pids()
    code = run.wait()
    assert code != 0, run.log()
    assert "dying exited with code 3" in run.log()
    assert not [name for name, pid in pids.items() if _alive(pid)], run.log()


def test_supervisor_gives_up_when_health_never_answers(platform):
    # no "web" child: nothing answers the health URL
    run = platform(["alpha", "beta"], "--health-timeout", "2", "--stop-timeout", "1")
    pids = run.child_pids()
    code = run.wait()
    assert code != 0, run.log()
    assert "did not answer 200 within 2s" in run.log()
    assert not [name for name, pid in pids.items() if _alive(pid)], run.log()
