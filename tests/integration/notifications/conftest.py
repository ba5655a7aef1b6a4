"""The notifications service (with the real registration service, and the real requests service
when a test asks for it) on the test's own vhost,
a real SMTP server (aiosmtpd, in its own process) and a spy on the notifications events."""
from __future__ import annotations

import email
import json
import subprocess
import sys
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Producer
from nameko.standalone.rpc import ServiceRpcProxy

from kernel.envelope import new_event
from services.notifications.service import NotificationsService
from services.registration.service import RegistrationService
from services.requests.service import RequestsService
from tests.helpers import EventSpy, wait_for

SMTP_SCRIPT = Path(__file__).with_name("smtp_server.py")


class SmtpServer:
    def __init__(self, port: int, directory: Path, fail_first: int = 0, refuse=()):
        self.port = port
        self.directory = directory
        argv = [sys.executable, str(SMTP_SCRIPT), "--port", str(port), "--dir", str(directory),
                "--fail-first", str(fail_first)]
        if refuse:
            argv += ["--refuse", *refuse]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(path.read_bytes(), policy=policy.default)
                for path in sorted(self.directory.glob("*.eml"))]

    def wait(self, count: int, timeout: float = 15.0) -> list:
        try:
            wait_for(lambda: len(self.messages()) >= count, timeout=timeout, message=f"{count} mail(s)")
        except AssertionError as timed_out:
            arrived = [str(m["Subject"]) for m in self.messages()]
            raise AssertionError(f"{timed_out}; arrived: {arrived}") from None
        return self.messages()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def smtp_factory(tmp_path, free_port):
    servers = []

    def start(fail_first: int = 0, refuse=()) -> SmtpServer:
        server = SmtpServer(free_port, tmp_path / f"mail{len(servers)}", fail_first, refuse)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()



def publish(amqp_uri: str, envelope: dict) -> None:
    """Publish an envelope as its producer's relay would (used to redeliver the same event)."""
    with Connection(amqp_uri) as connection:
        producer = Producer(connection.channel())
        producer.publish(
            envelope, exchange=Exchange(f"{envelope['producer']}.events", type="topic", durable=True),
            routing_key=envelope["event_type"], serializer="json", delivery_mode=2,
        )


def event(producer: str, event_type: str, data: dict) -> dict:
    return new_event(producer, event_type, data)


@pytest.fixture
def notif_config(platform_config):
    platform_config["NOTIFICATIONS"].update(
        MAIL_CAPTURE=False, SMTP_HOST="127.0.0.1", SEND_RATE_PER_SECOND=0, REMINDER_CHECK_SECONDS=3600,
        ALERT_EMAILS=None, ALERT_WEBHOOK_URLS=None,
    )
    platform_config["max_workers"] = 20
    return platform_config


@pytest.fixture
def spy(notif_config):
    return EventSpy(notif_config["AMQP_URI"], "notifications")


@pytest.fixture
def start_platform(notif_config, spy, container_factory):
    """start_platform(smtp, with_requests=False, **notification settings): registration and notifications
    running (and the requests service, whose RPC tells notifications who asked, with `with_requests`)."""

    def start(smtp: SmtpServer | None = None, with_requests: bool = False, **settings):
        if smtp is not None:
            notif_config["NOTIFICATIONS"]["SMTP_PORT"] = smtp.port
        notif_config["NOTIFICATIONS"].update(settings)
        services = (RegistrationService, RequestsService) if with_requests else (RegistrationService,)
        for cls in (*services, NotificationsService):
            container_factory(cls, notif_config).start()

    return start


@pytest.fixture
def registration(notif_config):
    with ServiceRpcProxy("registration", notif_config, timeout=30) as proxy:
        yield proxy


@pytest.fixture
def requests_rpc(notif_config):
    with ServiceRpcProxy("requests", notif_config, timeout=30) as proxy:
        yield proxy


@pytest.fixture
def notifications(notif_config):
    with ServiceRpcProxy("notifications", notif_config, timeout=30) as proxy:
        yield proxy


class WebhookReceiver:
    """An HTTP server in a thread that keeps every JSON body POSTed to it."""

    def __init__(self, port: int):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/hooks/abc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    from tests.helpers import free_port

    receiver = WebhookReceiver(free_port())
    yield receiver
    receiver.stop()
