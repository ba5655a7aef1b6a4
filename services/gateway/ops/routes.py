"""Running the platform: the gateway's routes for monitoring and alerting.

- GET /health: the broker and every service must answer in time (200, else 503 naming who did not);
- GET /metrics: the gateway's own Prometheus metrics (the other services serve theirs on their own
  ports, see kernel.metrics). Open to every scraper by default, as the metrics name no person
  (AUTH.METRICS_PUBLIC: true); with AUTH.METRICS_PUBLIC false an ops (or admin) token is needed
  (Prometheus: `authorization` in its scrape configuration);
- POST /api/alerts/alertmanager: Alertmanager's webhook (deploy/alertmanager/alertmanager.yml),
  with its own bearer token (AUTH.ALERTMANAGER_TOKEN_SHA256, not a staff token); the alerts go to
  notifications.relay_ops_alerts, which tells on-call once per alert and status
  (services.gateway.ops.alertmanager).
"""
from __future__ import annotations

import math
import time

import eventlet
from eventlet.semaphore import Semaphore
from kombu import Connection
from nameko.extensions import DependencyProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from kernel.config import SERVICES
from kernel.metrics import EntrypointMetrics
from services.gateway.core.auth import require
from services.gateway.core.errors import api
from services.gateway.core.http import json_response
from services.gateway.core.openapi import operation, written_out
from services.gateway.core.security import http
from services.gateway.ops import alertmanager
from services.gateway.ops.openapi import COMPONENTS

DEFAULT_HEALTH_TIMEOUT = 2.0
HEALTH_OPERATION = {
    "operationId": "health", "summary": "200 only when the broker and every service answer in time",
    "tags": ["meta"],
    "responses": {
        "200": {"description": "All healthy", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Health"}}}},
        "503": {"description": "The broker or a service did not answer; `failed` lists which",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
    },
}


def metrics_public(config: dict) -> bool:
    value = (config.get("AUTH") or {}).get("METRICS_PUBLIC", True)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "0", "off")
    return value is None or bool(value)


class RecentAnswer(DependencyProvider):
    """One gateway process's last /health answer, reused while it is younger than `max_age`
    seconds; one probe at a time (who asks meanwhile waits for it and takes its answer)."""

    def __init__(self):
        self._lock = Semaphore()
        self._answer = None
        self._at = -math.inf

    def get_dependency(self, worker_ctx):
        return self

    def get(self, max_age: float, compute):
        with self._lock:
            if self._answer is None or time.monotonic() - self._at >= max_age:
                self._answer = compute()
                self._at = time.monotonic()
            return self._answer


class OpsRoutes:
    """/health, /metrics and Alertmanager's webhook; the service class provides `config`,
    `notifications` and an RPC proxy named after each service of kernel.config.SERVICES."""

    openapi_components = COMPONENTS
    metrics = EntrypointMetrics()  # times every gateway entrypoint (HTTP latency, errors)
    recent_health = RecentAnswer()

    @written_out(HEALTH_OPERATION)
    @http("GET", "/health", rate_limit="health")
    def health(self, request):
        """The broker and every service answer. The answer is reused for
        GATEWAY.HEALTH_CACHE_SECONDS (one probe at a time), so a flood of /health cannot flood the
        broker; the route has its own rate limit besides."""
        max_age = float((self.config.get("GATEWAY") or {}).get("HEALTH_CACHE_SECONDS") or 0)
        body, status = self.recent_health.get(max_age, self._health_answer)
        return json_response(body, status, headers={"Cache-Control": "no-store"})

    def _health_answer(self) -> tuple[dict, int]:
        config = self.config
        timeout = float((config.get("GATEWAY") or {}).get("HEALTH_TIMEOUT_SECONDS") or DEFAULT_HEALTH_TIMEOUT)
        broker_ok, broker_error = self._broker_answers(config["AMQP_URI"], timeout)
        services: dict[str, dict] = {}
        if broker_ok:
            pile = eventlet.GreenPile(len(SERVICES))
            for service in SERVICES:
                pile.spawn(self._service_health, service, timeout)
            for service, answer in zip(SERVICES, pile, strict=True):
                services[service] = answer
        else:
            services = {service: {"ok": False, "error": "broker unavailable"} for service in SERVICES}
        failed = sorted(name for name, answer in services.items() if not answer["ok"])
        healthy = broker_ok and not failed
        body = {
            "status": "ok" if healthy else "unavailable",
            "broker": {"ok": broker_ok, **({"error": broker_error} if broker_error else {})},
            "services": services,
        }
        if not healthy:
            body["failed"] = (["broker"] if not broker_ok else []) + failed
        return body, 200 if healthy else 503

    @staticmethod
    def _broker_answers(amqp_uri: str, timeout: float) -> tuple[bool, str | None]:
        try:
            with eventlet.Timeout(timeout):
                with Connection(amqp_uri, connect_timeout=timeout) as connection:
                    connection.ensure_connection(max_retries=1)
            return True, None
        except eventlet.Timeout:
            return False, f"no answer within {timeout}s"
        except Exception as exc:  # noqa: BLE001
            return False, f"{type(exc).__name__}: {exc}"

    def _service_health(self, service: str, timeout: float) -> dict:
        proxy = getattr(self, service)
        try:
            with eventlet.Timeout(timeout):
                answer = proxy.health.call_async().result()
        except eventlet.Timeout:
            return {"ok": False, "error": f"no answer within {timeout}s"}
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        ok = isinstance(answer, dict) and bool(answer.get("database"))
        result = {"ok": ok, "database": bool(isinstance(answer, dict) and answer.get("database"))}
        if not ok:
            result["error"] = "database not available"
        return result

    @http("GET", "/metrics")
    @require("ops", open_when=metrics_public)
    def prometheus_metrics(self, request):
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @operation("receiveAlertmanagerWebhook", "Alertmanager's webhook: each alert goes to on-call (ALERT_EMAILS, "
               "ALERT_WEBHOOK_URLS) once per alert (fingerprint) and status; a repeat or a flapping alert sends "
               "nothing more", request="AlertmanagerWebhook", response="AlertRelayResult", errors=(401,),
               security=("alertmanagerToken", alertmanager.ALERTMANAGER_SECURITY_SCHEME),
               error_descriptions=((401, "Missing or invalid Alertmanager token."),
                                   (503, "Some message could not go out yet (or a service is not available): "
                                         "Alertmanager sends again")))
    @http("POST", "/api/alerts/alertmanager")
    @api
    def alertmanager_webhook(self, request):
        return alertmanager.relay(request, self.config, self.notifications)
