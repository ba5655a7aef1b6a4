"""Trefdag: registrations open for 300 seats and 1,000 people register at once,
through the gateway's JSON API, with the services in their own processes."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import eventlet
import requests
import yaml

from benchmarks.harness import percentile, wait_until
from kernel.config import ROOT

TOKEN = "bench-staff-token"


def _start(service: str, config_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(config_path), f"services.{service}.service"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def trefdag(config, tmp_dir, seats: int = 300, people: int = 1000, concurrency: int = 50) -> dict:
    config["AUTH"]["STAFF_TOKEN_SHA256"] = hashlib.sha256(TOKEN.encode()).hexdigest()
    # 1,000 people register from this one address within the minute: the gateway's per-IP limit of
    # public writes (GATEWAY.RATE_LIMIT, docs/SECURITY.md) is turned off for the measurement
    config.setdefault("GATEWAY", {})["RATE_LIMIT"] = {"PER_MINUTE": 0, "BURST": 0}
    config["WEB_SERVER_ADDRESS"] = "127.0.0.1:8765"
    base = "http://127.0.0.1:8765"
    config_path = f"{tmp_dir}/bench-config.yml"
    with open(config_path, "w") as handle:
        yaml.safe_dump(config, handle)
    processes = [_start(service, config_path) for service in
                 ("registration", "evaluation", "requests", "reporting", "notifications", "gateway")]
    try:
        wait_until(lambda: _healthy(base), timeout=60, interval=0.5)
        staff = {"Authorization": f"Bearer {TOKEN}"}
        starts = datetime.now(timezone.utc) + timedelta(days=60)
        activity = requests.post(f"{base}/api/staff/activities", headers=staff, json={
            "title": "Trefdag", "kind": "trefdag", "theme": "sector", "format": "offline",
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=8)).isoformat(),
            "days": 1, "dagdelen": 2, "capacity": seats, "location": "Gent",
        }, timeout=30).json()
        url = f"{base}/api/activities/{activity['activity_id']}/registrations"
        latencies, statuses = [], []

        def register(i):
            began = time.perf_counter()
            answer = requests.post(url, json={"name": f"Deelnemer {i}", "email": f"p{i}@example.org",
                                              "privacy_consent": True}, timeout=60)
            latencies.append(time.perf_counter() - began)
            statuses.append(answer.json().get("status") if answer.status_code == 201 else answer.status_code)

        pool = eventlet.GreenPool(concurrency)
        began = time.perf_counter()
        for i in range(people):
            pool.spawn_n(register, i)
        pool.waitall()
        seconds = time.perf_counter() - began
        seats_now = requests.get(f"{base}/api/staff/activities/{activity['activity_id']}", headers=staff,
                                 timeout=30).json()["seats"]
        return {
            "people": people, "seconds": seconds, "per_second": people / seconds,
            "p50_ms": 1000 * percentile(latencies, 50), "p99_ms": 1000 * percentile(latencies, 99),
            "answers_confirmed": statuses.count("confirmed"), "answers_waitlisted": statuses.count("waitlisted"),
            "errors": len([s for s in statuses if s not in ("confirmed", "waitlisted")]),
            "seats": seats_now,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def _healthy(base) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False
