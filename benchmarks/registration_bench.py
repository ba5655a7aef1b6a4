"""Trefdag: registrations open for 300 seats and 1,000 people register at once, 50 at a time.

The platform runs as `make run` starts it: scripts/run_platform.py, every service its own
`nameko run` process (reporting twice), all answers through the gateway, with the rate limits of
public writes on. The people sit behind one trusted reverse proxy (TRUSTED_PROXIES 1), each with
an X-Forwarded-For address of their own; the proxy keeps one connection per request in flight.
It runs on a sandbox: its own RabbitMQ vhost, fresh databases (SQLite or PostgreSQL), a free port.

Two paths, each with an activity of its own:
- the JSON API: `POST /api/activities/<id>/registrations`;
- the HTML form: everyone has the activity's page open when registrations open (the page and its
  CSRF cookie are fetched first, untimed), then posts the form with its CSRF token (timed).

    python -m benchmarks.registration_bench [--backend sqlite|postgresql] [--path json|form] [--without-reporting]

Nothing else may get slower: reporting's ingest and freshness figures (benchmarks.reporting_bench)
follow in the same run, on the same backends.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import closing, contextmanager  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from http.cookies import SimpleCookie  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks import reporting_bench  # noqa: E402
from benchmarks.harness import percentile, print_table, sandbox, wait_until  # noqa: E402
from kernel.config import ROOT, SERVICES  # noqa: E402
from tests.integration.gateway.support import CSRF_FIELD  # noqa: E402

TOKEN = "bench-staff-token"
SEATS, PEOPLE, CONCURRENCY = 300, 1000, 50
TARGET_P99_MS, TARGET_PER_SECOND = 300, 200
BACKENDS = ("sqlite", "postgresql")
PATHS = ("json", "form")


class CpuMeter:
    """CPU seconds spent during the timed burst, per part of the platform: each service (its
    replicas together), the supervisor that relays their output, RabbitMQ, PostgreSQL (all its
    processes) and this load generator. Read
    from /proc, so it shows where a registration's time goes without a profiler."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, supervisor_pid: int):
        self.supervisor_pid = supervisor_pid
        self.before: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def _part(self, pid: str, parent: int, command: str) -> str | None:
        if int(pid) == os.getpid():
            return "load generator"
        if int(pid) == self.supervisor_pid:
            return "supervisor"
        if parent == self.supervisor_pid:
            named = re.search(r"services\.(\w+)\.service", command)
            return named[1] if named else None
        if "beam.smp" in command:
            return "RabbitMQ"
        if command.startswith("postgres"):
            return "PostgreSQL"
        return None

    def _read(self) -> dict[str, float]:
        seconds: dict[str, float] = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:  # it ended meanwhile
                continue
            part = self._part(pid, int(fields[1]), command)
            if part:
                # utime and stime of the process and of its waited-for children
                seconds[part] = seconds.get(part, 0.0) + sum(map(int, fields[11:15])) / self.TICK
        return seconds

    @contextmanager
    def measuring(self):
        self.before = self._read()
        yield
        after = self._read()
        self.spent = {part: after[part] - self.before.get(part, 0.0) for part in after}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(config: dict, address: str) -> dict[str, str]:
    """config.yml's own overrides (what an operator would set) pointing `make run` at the sandbox."""
    env = dict(
        os.environ,
        AMQP_URI=config["AMQP_URI"],
        GATEWAY_ADDRESS=address,
        PUBLIC_BASE_URL=f"http://{address}",
        STAFF_TOKEN_SHA256=hashlib.sha256(TOKEN.encode()).hexdigest(),
        CSRF_SECRET="bench-csrf-secret",
        CANCEL_LINK_SECRET="bench-cancel-link-secret",
        RATE_LIMIT_TRUSTED_PROXIES="1",
        PYTHONWARNINGS="ignore",
    )
    for service in SERVICES:
        env[f"{service.upper()}_DB_URL"] = config["DATABASES"][service]
        env[f"{service.upper()}_METRICS_PORT"] = "0"
    return env


@contextmanager
def running_platform(config: dict, log_path: str):
    """scripts/run_platform.py on the sandbox until the block ends; yields the gateway's URL and a
    CpuMeter of its processes."""
    address = f"127.0.0.1:{_free_port()}"
    base = f"http://{address}"
    with open(log_path, "wb") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "scripts/run_platform.py"], cwd=ROOT, env=_environment(config, address),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            wait_until(lambda: _healthy(base) or supervisor.poll() is not None, timeout=120, interval=0.5)
            if supervisor.poll() is not None:
                raise RuntimeError(f"the platform did not start; see {log_path}")
            yield base, CpuMeter(supervisor.pid)
        finally:
            supervisor.send_signal(signal.SIGTERM)  # it stops every service cleanly
            try:
                supervisor.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(supervisor.pid, signal.SIGKILL)
                supervisor.wait(10)


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _address(n: int) -> str:
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256 + 1}"


def _create_activity(base: str, staff: dict, title: str) -> str:
    starts = datetime.now(UTC) + timedelta(days=60)
    answer = requests.post(f"{base}/api/staff/activities", headers=staff, json={
        "title": title, "kind": "trefdag", "theme": "sector", "format": "offline",
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=8)).isoformat(),
        "days": 1, "dagdelen": 2, "capacity": SEATS, "location": "Gent",
    }, timeout=30)
    answer.raise_for_status()
    return answer.json()["activity_id"]


class _Client:
    """One person's browser behind the proxy: a kept-alive connection (as the proxy in front keeps
    them), in http.client. The load comes from this same 2-core machine, so the client takes as
    little of it as it can (requests took three times as much per call)."""

    def __init__(self, base: str):
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body) of one request."""
        self.connection.request(method, path, body=body, headers=headers or {})
        answer = self.connection.getresponse()
        return answer.status, answer.headers, answer.read()

    def close(self) -> None:
        self.connection.close()


def _in_parallel(base: str, work, items, concurrency: int, failed: dict) -> float:
    """work(client, item) for every item, `concurrency` at a time, each worker with its own
    connection; the seconds it took. An item whose work raised is in `failed` with the exception's name."""
    queue = eventlet.Queue()
    for item in items:
        queue.put(item)

    def worker():
        client = _Client(base)
        try:
            while not queue.empty():
                item = queue.get()
                try:
                    work(client, item)
                except Exception as exc:  # noqa: BLE001 - counted as that person's error
                    failed[item] = type(exc).__name__
                    client.close()
                    client = _Client(base)
        finally:
            client.close()

    began = time.perf_counter()
    pool = eventlet.GreenPool(concurrency)
    for _ in range(concurrency):
        pool.spawn_n(worker)
    pool.waitall()
    return time.perf_counter() - began


def _json_path(base: str, activity_id: str, latencies: list, outcomes: list, failed: dict,
               meter: CpuMeter) -> float:
    path = f"/api/activities/{activity_id}/registrations"

    def register(client, n):
        body = json.dumps({"name": f"Deelnemer {n}", "email": f"p{n}@example.org", "privacy_consent": True})
        began = time.perf_counter()
        status, _, answer = client.call("POST", path, body.encode(), {
            "Content-Type": "application/json", "X-Forwarded-For": _address(n)})
        latencies.append(time.perf_counter() - began)
        outcomes.append(json.loads(answer).get("status") if status == 201 else status)

    with meter.measuring():
        return _in_parallel(base, register, range(PEOPLE), CONCURRENCY, failed)


def _form_path(base: str, activity_id: str, latencies: list, outcomes: list, failed: dict,
               meter: CpuMeter) -> float:
    path = f"/activities/{activity_id}"
    opened: dict[int, tuple[str, str]] = {}  # person -> (csrf cookie, csrf field)

    def open_page(client, n):
        status, headers, page = client.call("GET", path, headers={"X-Forwarded-For": _address(n)})
        if status != 200:
            raise RuntimeError(f"the activity's page answered {status}")
        cookie = SimpleCookie()
        for header in headers.get_all("Set-Cookie") or ():
            cookie.load(header)
        opened[n] = (cookie["csrf"].value, CSRF_FIELD.search(page.decode())[1])

    _in_parallel(base, open_page, range(PEOPLE), CONCURRENCY, failed)

    def register(client, n):
        cookie, field = opened[n]
        form = urlencode({"name": f"Deelnemer {n}", "email": f"p{n}@example.org", "organisation": "individual",
                          "role": "beroepskracht", "language": "nl", "privacy_consent": "yes",
                          "csrf_token": field})
        began = time.perf_counter()
        status, _, _ = client.call("POST", path, form.encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": _address(n),
            "Origin": base, "Cookie": f"csrf={cookie}"})
        latencies.append(time.perf_counter() - began)
        outcomes.append("registered" if status == 201 else status)

    with meter.measuring():
        return _in_parallel(base, register, range(PEOPLE), CONCURRENCY, failed)


class Background:
    """The work that follows a registration after its answer: the mail (notifications) and the
    figures (reporting). Read from their databases, since the platform shows neither as a count."""

    def __init__(self, config: dict):
        self.mail = create_engine(config["DATABASES"]["notifications"])
        self.figures = create_engine(config["DATABASES"]["reporting"])

    def mails_sent(self) -> int:
        with self.mail.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM messages WHERE cause_event_type = 'registration.created' AND status = 'sent'"
            )).scalar_one()

    def registrations_counted(self, activity_id: str) -> int:
        with self.figures.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM registration_facts WHERE activity_id = :id"),
                                      {"id": activity_id}).scalar_one()

    def seconds_to_catch_up(self, activity_id: str, mails_before: int) -> float:
        """From now until every registration's mail is sent and every one is in the figures."""
        began = time.perf_counter()
        wait_until(lambda: self.mails_sent() - mails_before >= PEOPLE
                   and self.registrations_counted(activity_id) >= PEOPLE, timeout=300, interval=0.05)
        return time.perf_counter() - began

    def close(self) -> None:
        self.mail.dispose()
        self.figures.dispose()


def _outcome(base: str, staff: dict, activity_id: str) -> dict:
    """What the registration service holds afterwards, and whether it is exact."""
    listed = requests.get(f"{base}/api/staff/activities/{activity_id}/registrations", headers=staff,
                          timeout=60).json()
    seats = requests.get(f"{base}/api/staff/activities/{activity_id}", headers=staff, timeout=30).json()["seats"]
    confirmed = sum(r["status"] == "confirmed" for r in listed)
    positions = sorted(r["waitlist_position"] for r in listed if r["status"] == "waitlisted")
    exact = (confirmed == SEATS and positions == list(range(1, PEOPLE - SEATS + 1))
             and len({r["person_id"] for r in listed}) == len(listed) == PEOPLE
             and seats == {"confirmed": SEATS, "waitlisted": PEOPLE - SEATS, "available": 0})
    return {"confirmed": confirmed, "waitlisted": len(positions), "exact": exact}


def trefdag(backend: str = "sqlite", paths=PATHS) -> dict[str, dict]:
    """{path: figures} of one platform on `backend`, the paths one after the other."""
    results = {}
    with sandbox(backend) as config, tempfile.TemporaryDirectory(prefix="bench-trefdag-") as tmp:
        background = Background(config)
        with running_platform(config, f"{tmp}/platform.log") as (base, meter), closing(background):
            staff = {"Authorization": f"Bearer {TOKEN}"}
            for path in paths:
                activity_id = _create_activity(base, staff, f"Trefdag ({path})")
                latencies, outcomes, failed = [], [], {}
                run = _json_path if path == "json" else _form_path
                mails_before = background.mails_sent()
                seconds = run(base, activity_id, latencies, outcomes, failed, meter)
                catching_up = background.seconds_to_catch_up(activity_id, mails_before)
                errors = len(failed) + sum(outcome not in ("confirmed", "waitlisted", "registered")
                                           for outcome in outcomes)
                results[path] = {
                    "seconds": seconds, "per_second": PEOPLE / seconds,
                    "p50_ms": 1000 * percentile(latencies, 50), "p99_ms": 1000 * percentile(latencies, 99),
                    "errors": errors, "catching_up": catching_up,
                    "cpu_ms": {part: 1000 * spent / PEOPLE for part, spent in meter.spent.items()},
                    **_outcome(base, staff, activity_id),
                }
    return results


def _cpu_figure(cpu_ms: dict[str, float]) -> str:
    """"12.1 ms: registration 3.0, notifications 2.5, ..." (the costliest first)."""
    parts = sorted(((part, ms) for part, ms in cpu_ms.items() if ms >= 0.05), key=lambda part: -part[1])
    return f"{sum(cpu_ms.values()):.1f} ms: " + ", ".join(f"{part} {ms:.1f}" for part, ms in parts)


def rows(backends=BACKENDS, paths=PATHS) -> tuple[list[tuple[str, str, str]], int]:
    """(rows for `python -m benchmarks`, how many missed a target)."""
    table, missed = [], 0
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "json": "JSON API", "form": "HTML form"}
    for backend in backends:
        for path, figures in trefdag(backend, paths).items():
            exact = figures["exact"] and not figures["errors"]
            fast = figures["p99_ms"] <= TARGET_P99_MS and figures["per_second"] >= TARGET_PER_SECOND
            missed += (not exact) + (not fast)
            title = f"Trefdag, {names[path]} ({names[backend]}): 1,000 for 300 seats, 50 at once"
            table += [
                (title, f"{figures['confirmed']} confirmed, {figures['waitlisted']} waitlisted, "
                        f"{figures['errors']} errors{'' if figures['exact'] else ', NOT exact'}",
                 "300 / 700 / 0, positions 1..700"),
                ("  throughput", f"{figures['per_second']:,.0f} registrations/s ({figures['seconds']:.1f} s)",
                 f"at least {TARGET_PER_SECOND}/s"),
                ("  latency", f"p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms",
                 f"p99 at most {TARGET_P99_MS} ms"),
                ("  mails sent and figures counted", f"{figures['catching_up']:.1f} s after the last answer",
                 "every one of them"),
                ("  CPU per registration", _cpu_figure(figures["cpu_ms"]), "where the time goes"),
            ]
    return table, missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="default: both")
    parser.add_argument("--path", choices=PATHS, action="append", help="default: both")
    parser.add_argument("--without-reporting", action="store_true",
                        help="leave out reporting's ingest and freshness figures (nothing else got slower)")
    args = parser.parse_args()
    backends = tuple(args.backend or BACKENDS)
    table, missed = rows(backends, tuple(args.path or PATHS))
    if not args.without_reporting:
        table += reporting_bench.ingest_and_freshness_rows(backends)
    print_table(table)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
