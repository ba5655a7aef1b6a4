"""Run the whole platform on this machine: one `nameko run` process per service.

    python scripts/run_platform.py            # what `make run` starts

- every child's output is printed line by line, prefixed with its service name;
- a service may run as several processes (--replicas, default reporting=2: a backlog of
  events is handled side by side; each replica has its own metrics port, 100 above the last,
  and a lower batch-consumer priority, so a steady stream stays with the first);
- the services that work in the background (mails, figures) run at a lower CPU priority
  (--nice, default notifications=10,reporting=10): on a burst, the people waiting for an
  answer get the cores first, and the mails and figures follow seconds later;
- waits (bounded) until the gateway's GET /health answers 200, then prints the URLs;
- if a child dies, says so, stops the others and exits non-zero;
- Ctrl-C or SIGTERM stops every child (SIGTERM, then SIGKILL after --stop-timeout)
  and exits 0.

The service list, the command and the health URL can be replaced (the tests run it
with fake children):

    python scripts/run_platform.py --services a,b --command "{python} fake.py {instance}" --health-url ""
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVICES = ("registration", "evaluation", "requests", "reporting", "notifications", "accounts", "gateway")
DEFAULT_COMMAND = "{nameko} run --config {config} services.{service}.service"
DEFAULT_REPLICAS = "reporting=2"
DEFAULT_NICE = "notifications=10,reporting=10"
REPLICA_METRICS_PORT_STEP = 100
COLOURS = ("36", "32", "33", "35", "34", "96", "92", "93")


def platform_config() -> dict:
    """config.yml with its environment overrides; {} when there is none usable."""
    try:
        sys.path.insert(0, str(ROOT))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nameko's and eventlet's import-time notices
            from kernel.config import load_config

            return load_config()
    except Exception:
        return {}


def gateway_base_url(config: dict) -> str:
    """http://host:port of the gateway as `config` (platform_config()) says."""
    address = str(config.get("WEB_SERVER_ADDRESS") or os.environ.get("GATEWAY_ADDRESS", "127.0.0.1:8000"))
    host, _, port = address.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def _child_setup(niceness: int) -> None:
    """In the child, before exec: get SIGTERM if the supervisor itself dies (Linux), and take
    the CPU priority given to its service."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if niceness:
        os.nice(niceness)
        # The child leads a session of its own, and where the kernel groups the processes of a
        # session for scheduling (autogroup), a nice value counts only inside the group: the
        # group's own is what the other services see.
        try:
            with open("/proc/self/autogroup", "w") as autogroup:
                autogroup.write(str(niceness))
        except OSError:
            pass


def _numbers_per_service(text: str, lowest: int, highest: int, what: str) -> dict[str, int]:
    numbers = {}
    for part in filter(None, (part.strip() for part in text.split(","))):
        name, sep, number = part.partition("=")
        if not sep or not name.strip() or not number.strip().isdigit() or not lowest <= int(number) <= highest:
            raise ValueError(f"{part!r}: expected service={what}, the {what} from {lowest} to {highest}")
        numbers[name.strip()] = int(number)
    return numbers


def parse_replicas(text: str) -> dict[str, int]:
    """"reporting=2,requests=3" -> {"reporting": 2, "requests": 3}."""
    return _numbers_per_service(text, 1, 99, "count")


def parse_niceness(text: str) -> dict[str, int]:
    """"notifications=10" -> {"notifications": 10}: 0 (as the others) to 19 (the lowest priority)."""
    return _numbers_per_service(text, 0, 19, "nice")


class Supervisor:
    def __init__(self, services, command, stop_timeout, colour, replicas=None, metrics_ports=None, niceness=None):
        # (instance, service, number): "reporting", "reporting-2", ...
        self.instances = [(service if number == 1 else f"{service}-{number}", service, number)
                          for service in services for number in range(1, (replicas or {}).get(service, 1) + 1)]
        self.services = [instance for instance, _, _ in self.instances]
        self.metrics_ports = metrics_ports or {}
        self.niceness = niceness or {}
        self.command = command
        self.stop_timeout = stop_timeout
        self.colour = colour
        self.children: dict[str, subprocess.Popen] = {}
        self.readers: list[threading.Thread] = []
        self.print_lock = threading.Lock()
        self.stop_requested: str | None = None
        self.width = max((len(s) for s in self.services), default=0)

    # -- output -----------------------------------------------------------
    def say(self, message: str) -> None:
        self.emit("platform", message)

    def emit(self, name: str, line: str) -> None:
        prefix = f"{name:<{self.width}} |"
        if self.colour:
            index = self.services.index(name) if name in self.services else -1
            code = COLOURS[index % len(COLOURS)] if index >= 0 else "1"
            prefix = f"\033[{code}m{prefix}\033[0m"
        with self.print_lock:
            sys.stdout.write(f"{prefix} {line}\n")
            sys.stdout.flush()

    def _pump(self, name: str, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.emit(name, raw.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    # -- children ---------------------------------------------------------
    def argv(self, service: str, instance: str | None = None) -> list[str]:
        nameko = Path(sys.executable).with_name("nameko")
        values = {
            "python": sys.executable,
            "nameko": str(nameko) if nameko.exists() else "nameko",
            "config": os.environ.get("PLATFORM_CONFIG", "config.yml"),
            "service": service,
            "instance": instance or service,
        }
        return [part.format(**values) for part in shlex.split(self.command)]

    def environment(self, service: str, number: int) -> dict[str, str]:
        """The child's environment: a replica serves its metrics on a port of its own, and its
        batch consumers wait (a lower consumer priority) until the first has its hands full."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if number > 1:
            env["BATCH_CONSUMER_PRIORITY"] = str(1 - number)
            port = int(self.metrics_ports.get(service) or 0)
            if port:
                env[f"{service.upper()}_METRICS_PORT"] = str(port + REPLICA_METRICS_PORT_STEP * (number - 1))
        return env

    def start(self) -> None:
        self.width = max(self.width, len("platform"))
        for instance, service, number in self.instances:
            argv = self.argv(service, instance)
            child = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.environment(service, number),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # own process group: a terminal's Ctrl-C reaches only the supervisor,
                # which then stops the children in order
                start_new_session=True,
                preexec_fn=functools.partial(_child_setup, self.niceness.get(service, 0)),
            )
            self.children[instance] = child
            priority = f", nice {self.niceness[service]}" if self.niceness.get(service) else ""
            self.say(f"started {instance} (pid {child.pid}{priority}): {shlex.join(argv)}")
        for service, child in self.children.items():
            reader = threading.Thread(target=self._pump, args=(service, child.stdout), daemon=True)
            reader.start()
            self.readers.append(reader)

    def dead_child(self) -> tuple[str, int] | None:
        for service, child in self.children.items():
            code = child.poll()
            if code is not None:
                return service, code
        return None

    def stop(self) -> None:
        """SIGTERM to every child still running, wait, then SIGKILL what is left."""
        running = {s: c for s, c in self.children.items() if c.poll() is None}
        for service, child in running.items():
            self.say(f"stopping {service} (pid {child.pid})")
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for service, child in running.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{service} did not stop within {self.stop_timeout:g}s: killing it")
                _signal_group(child, signal.SIGKILL)
                child.wait()
        for child in self.children.values():
            # whatever the child left behind in its process group goes too
            _signal_group(child, signal.SIGKILL)
        for reader in self.readers:
            reader.join(timeout=2)

    # -- signals ----------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def request_stop(signum, frame):
            if self.stop_requested is None:
                self.stop_requested = signal.Signals(signum).name
            else:
                # a second Ctrl-C while stopping: do not interrupt the clean stop
                self.say("already stopping, please wait")

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGHUP, request_stop)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def health_status(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return str(response.status)
    except urllib.error.HTTPError as error:
        return str(error.code)
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return f"not answering ({reason})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every platform service and the gateway.")
    parser.add_argument(
        "--services",
        default=",".join(DEFAULT_SERVICES),
        help="comma-separated service names (default: %(default)s)",
    )
    parser.add_argument(
        "--command",
        default=DEFAULT_COMMAND,
        help="command per service; {service}, {instance}, {python}, {nameko}, {config} are filled in "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--replicas",
        default=os.environ.get("PLATFORM_REPLICAS", DEFAULT_REPLICAS),
        help="processes per service, e.g. reporting=2,requests=2; the others run one "
        "(default: $PLATFORM_REPLICAS or %(default)s)",
    )
    parser.add_argument(
        "--nice",
        default=os.environ.get("PLATFORM_NICE", DEFAULT_NICE),
        help="lower CPU priority of services that work in the background, e.g. notifications=10 "
        "(0 to 19; the others run at 0; default: $PLATFORM_NICE or %(default)s)",
    )
    parser.add_argument(
        "--health-url",
        default=None,
        help="URL that must answer 200 before the platform counts as up "
        "(default: the gateway's /health; empty: do not wait)",
    )
    parser.add_argument("--health-timeout", type=float, default=90.0, help="seconds (default: %(default)s)")
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=15.0,
        help="seconds between SIGTERM and SIGKILL (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    services = [s.strip() for s in args.services.split(",") if s.strip()]
    if not services:
        parser.error("no services given")
    try:
        replicas = parse_replicas(args.replicas)
    except ValueError as error:
        parser.error(f"--replicas: {error}")
    try:
        niceness = parse_niceness(args.nice)
    except ValueError as error:
        parser.error(f"--nice: {error}")
    config = platform_config()
    base_url = gateway_base_url(config)
    health_url = f"{base_url}/health" if args.health_url is None else args.health_url

    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    supervisor = Supervisor(services, args.command, args.stop_timeout, colour, replicas,
                            (config.get("METRICS") or {}).get("PORTS"), niceness)
    supervisor.install_signal_handlers()
    try:
        supervisor.start()
    except OSError as error:
        supervisor.say(f"could not start a service: {error}")
        supervisor.stop()
        return 1

    ready = not health_url
    started = time.monotonic()
    last_report = started
    last_check = 0.0
    exit_code = 0
    while True:
        if supervisor.stop_requested:
            supervisor.say(f"{supervisor.stop_requested} received: stopping every service")
            break
        dead = supervisor.dead_child()
        if dead:
            service, code = dead
            supervisor.say(f"ERROR: {service} exited with code {code}; stopping every service")
            exit_code = 1
            break
        if not ready and time.monotonic() - last_check >= 1.0:
            last_check = time.monotonic()
            status = health_status(health_url)
            if status == "200":
                ready = True
                supervisor.say(
                    f"the platform is up ({time.monotonic() - started:.0f}s): {health_url} answers 200"
                )
                if args.health_url is None:
                    print_urls(supervisor, base_url)
            elif time.monotonic() - started > args.health_timeout:
                supervisor.say(
                    f"ERROR: {health_url} did not answer 200 within {args.health_timeout:g}s "
                    f"(last: {status}); stopping every service"
                )
                exit_code = 1
                break
            elif time.monotonic() - last_report >= 5:
                last_report = time.monotonic()
                supervisor.say(f"waiting for {health_url}: {status} ({time.monotonic() - started:.0f}s)")
        time.sleep(0.25)

    supervisor.stop()
    supervisor.say("every service stopped" + ("" if exit_code == 0 else f"; exit code {exit_code}"))
    return exit_code


def print_urls(supervisor: Supervisor, base_url: str) -> None:
    for line in (
        f"public pages:  {base_url}/",
        f"JSON API:      {base_url}/api/  (description: {base_url}/api/openapi.json)",
        f"health:        {base_url}/health",
        "staff API:     send 'Authorization: Bearer <staff token>' (the token is in the first `make run` output)",
        "press Ctrl-C to stop everything",
    ):
        supervisor.say(line)


if __name__ == "__main__":
    sys.exit(main())
