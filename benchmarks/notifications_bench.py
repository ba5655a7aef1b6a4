"""1,000 evaluation invitations for one large activity, delivered to a local SMTP server.

  python -m benchmarks.notifications_bench [--count 1000] [--rate 0]

The whole path runs for real: 1,000 `evaluation.requested` events published to RabbitMQ (a
throw-away vhost), the notifications service consuming them (one message per event), asking the
registration service for each recipient over RPC, claiming its log row, rendering the template,
asking the evaluation service for the survey link, sending over SMTP (pooled connections) to
aiosmtpd in its own process, and recording `notification.sent` in its outbox. The clock runs from
the first publish to the last mail the SMTP server has stored. Target: at most 10 s.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import yaml  # noqa: E402
from kombu import Connection, Exchange, Producer, Queue  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402
from sqlalchemy import create_engine, func, insert, select  # noqa: E402

from benchmarks.harness import sandbox, wait_until  # noqa: E402
from kernel.config import ROOT  # noqa: E402
from kernel.envelope import new_event  # noqa: E402
from services.evaluation.domain import FINAL  # noqa: E402
from services.evaluation.models import evaluations  # noqa: E402
from services.notifications.models import messages  # noqa: E402
from services.registration import domain  # noqa: E402
from services.registration.models import persons, registrations  # noqa: E402
from services.registration.service import cancel_link_key  # noqa: E402

SMTP_SERVER = r"""
import sys, threading
from pathlib import Path
from aiosmtpd.controller import Controller
directory = Path(sys.argv[2]); count = [0]; lock = threading.Lock()
class Handler:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            count[0] += 1; n = count[0]
        (directory / f"{n:06d}.eml").write_bytes(envelope.content)
        return "250 OK"
controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start(); print("ready", flush=True); threading.Event().wait()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(config, service: str) -> bool:
    try:
        with ServiceRpcProxy(service, config, timeout=2) as rpc:
            return bool(rpc.health())
    except Exception:  # noqa: BLE001 - not up yet
        return False


def large_activity(config, people: int) -> tuple[str, list[str]]:
    """One activity (over RPC) and `people` confirmed registrations (inserted in bulk)."""
    with ServiceRpcProxy("registration", config, timeout=30) as rpc:
        starts = datetime.now(timezone.utc) - timedelta(days=2)
        activity = rpc.create_activity({
            "title": "Trefdag 2026", "description": "", "kind": "trefdag", "theme": "sector", "goal": None,
            "format": "offline", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=8)).isoformat(), "days": 1, "dagdelen": 2, "capacity": None,
            "location": "ICC Gent", "language": "nl", "price_eur": 0,
        })
    now = datetime.now(timezone.utc)
    key = cancel_link_key(config)
    person_rows, registration_rows = [], []
    for n in range(people):
        person_id, registration_id = str(uuid.uuid4()), str(uuid.uuid4())
        person_rows.append({"person_id": person_id, "identity_key": f"email:p{n}@example.org", "name": f"Deelnemer {n}",
                            "email": f"p{n}@example.org", "created_at": now, "updated_at": now})
        registration_rows.append({
            "registration_id": registration_id, "activity_id": activity["activity_id"], "person_id": person_id,
            "organisation_id": None, "org_type": "individu", "recognised": False, "target_group": "secondary",
            "role": None, "language": ("nl", "en", "fr")[n % 3], "needs": {}, "begeleider_name": None,
            "begeleider_email": None, "status": "confirmed", "waitlist_seq": None,
            "cancel_token_hash": domain.hash_token(domain.cancel_token_for(key, registration_id)),
            "created_at": now, "updated_at": now,
        })
    engine = create_engine(config["DATABASES"]["registration"])
    with engine.begin() as connection:
        connection.execute(insert(persons), person_rows)
        connection.execute(insert(registrations), registration_rows)
    engine.dispose()
    return activity["activity_id"], [r["registration_id"] for r in registration_rows]


def open_surveys(config, activity_id: str, registration_ids: list[str]) -> list[str]:
    """The evaluation service's surveys for those registrations (inserted in bulk), as its
    invitation step leaves them before `evaluation.requested` goes out."""
    now = datetime.now(timezone.utc)
    rows = [{"evaluation_id": str(uuid.uuid4()), "registration_id": rid, "activity_id": activity_id,
             "person_id": None, "stage": FINAL, "requested_at": now, "closes_at": now + timedelta(days=21)}
            for rid in registration_ids]
    engine = create_engine(config["DATABASES"]["evaluation"])
    with engine.begin() as connection:
        connection.execute(insert(evaluations), rows)
    engine.dispose()
    return [row["evaluation_id"] for row in rows]


def run(count: int, rate: float, backend: str = "sqlite", processes: int = 1, workers: int = 10) -> dict:
    with sandbox(backend) as config, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config["NOTIFICATIONS"].update(MAIL_CAPTURE=False, SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                                       SEND_RATE_PER_SECOND=rate, REMINDER_CHECK_SECONDS=3600)
        config["max_workers"] = workers
        config_path = f"{tmp}/bench-config.yml"
        with open(config_path, "w") as handle:
            yaml.safe_dump(config, handle)
        mail_dir = f"{tmp}/mail"
        os.mkdir(mail_dir)
        smtp = subprocess.Popen([sys.executable, "-c", SMTP_SERVER, str(port), mail_dir], stdout=subprocess.PIPE,
                                text=True)
        assert smtp.stdout.readline().strip() == "ready"
        # each service in its own process, as `make run` starts them
        services = [subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", config_path, f"services.{name}.service"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ) for name in ("registration", "evaluation", *["notifications"] * processes)]
        try:
            wait_until(lambda: all(_answers(config, name) for name in ("registration", "evaluation", "notifications")),
                       timeout=60, interval=0.5)
            activity_id, registration_ids = large_activity(config, count)
            survey_ids = open_surveys(config, activity_id, registration_ids)
            events = [new_event("evaluation", "evaluation.requested", {
                "evaluation_id": eid, "registration_id": rid, "activity_id": activity_id})
                for eid, rid in zip(survey_ids, registration_ids, strict=True)]
            with Connection(config["AMQP_URI"]) as connection:
                # a consumer of notification.* (as ops monitoring would be): the relay's events are routable
                Queue("bench.notification-events", exchange=Exchange("notifications.events", type="topic",
                      durable=True), routing_key="notification.#", durable=False, auto_delete=False,
                      queue_arguments={"x-max-length": 10}).bind(connection.channel()).declare()
            began = time.perf_counter()
            with Connection(config["AMQP_URI"]) as connection:
                producer = Producer(connection.channel())
                exchange = Exchange("evaluation.events", type="topic", durable=True)
                for envelope in events:
                    producer.publish(envelope, exchange=exchange, routing_key="evaluation.requested",
                                     serializer="json", delivery_mode=2)
            wait_until(lambda: len(os.listdir(mail_dir)) >= count, timeout=120, interval=0.02)
            elapsed = time.perf_counter() - began
            eventlet.sleep(0.5)
            engine = create_engine(config["DATABASES"]["notifications"])
            with engine.connect() as connection:
                sent = connection.execute(
                    select(func.count()).select_from(messages).where(messages.c.status == "sent")).scalar()
            engine.dispose()
            return {"count": count, "seconds": elapsed, "per_second": count / elapsed,
                    "delivered": len(os.listdir(mail_dir)), "logged_sent": sent}
        finally:
            for process in services:
                process.terminate()
            for process in services:
                process.wait(timeout=30)
            smtp.terminate()
            smtp.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description="Notifications benchmark: evaluation invitations over SMTP.")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0, help="SEND_RATE_PER_SECOND (0: no limit)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="notifications service processes")
    parser.add_argument("--workers", type=int, default=10, help="max_workers of each service process")
    args = parser.parse_args()
    result = run(args.count, args.rate, args.backend, args.processes, args.workers)
    print(f"{result['delivered']:,} evaluation invitations delivered to a local SMTP server in "
          f"{result['seconds']:.2f} s ({result['per_second']:,.0f}/s; {result['logged_sent']:,} logged as sent; "
          f"rate limit {args.rate or 'none'}; {args.backend}; {args.processes} notifications process(es)); "
          "target: 1,000 in at most 10 s")
    return 0 if result["seconds"] <= 10 or args.count != 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
