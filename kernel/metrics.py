"""Prometheus metrics of the pipeline, one registry per service process.

Labels carry service, entrypoint, event-type and outcome names only: never an
id, an address or anything else about a person.

Every service with a `Database` serves them on its own port
(METRICS.PORTS.<service>, 0 = off); the gateway serves them at GET /metrics.
"""
from __future__ import annotations

import time

from nameko.extensions import DependencyProvider, SharedExtension
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from kernel.memory import StartupFrozen

EVENTS_PUBLISHED = Counter(
    "platform_events_published_total", "Events the outbox relay published (confirmed by the broker).",
    ["producer", "event_type"],
)
EVENTS_UNROUTABLE = Counter(
    "platform_events_unroutable_total", "Publish attempts no queue was bound for (the event stays in the outbox).",
    ["producer", "event_type"],
)
EVENTS_CONSUMED = Counter(
    "platform_events_consumed_total",
    "Events taken by a consumer, by outcome: handled, retried, dead_lettered, invalid.",
    ["consumer", "event_type", "outcome"],
)
BUSINESS_OUTCOMES = Counter(
    "platform_business_outcomes_total",
    "What happened in the centre's work, counted when its event is published: registrations "
    "(confirmed, waitlisted, promoted, cancelled), attendance, evaluations, requests, notifications.",
    ["subject", "outcome"],
)
OUTBOX_PENDING = Gauge("platform_outbox_pending", "Events in the outbox not yet published.", ["producer"])
OUTBOX_OLDEST_AGE = Gauge(
    "platform_outbox_oldest_age_seconds", "Age of the oldest unpublished event (0 when none).", ["producer"]
)
ENTRYPOINT_SECONDS = Histogram(
    "platform_entrypoint_duration_seconds", "Time spent in an entrypoint (RPC, HTTP, event, timer).",
    ["service", "entrypoint", "kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ENTRYPOINT_ERRORS = Counter(
    "platform_entrypoint_errors_total", "Entrypoint calls that raised, by exception type.",
    ["service", "entrypoint", "kind", "error"],
)


def entrypoint_kind(entrypoint) -> str:
    name = type(entrypoint).__name__.lower()
    for kind in ("rpc", "http", "batch", "event", "timer"):
        if kind in name:
            return kind
    return name


class MetricsServer(SharedExtension):
    """Serves this process's metrics on METRICS.PORTS.<service> (started once per container)."""

    def start(self):
        ports = (self.container.config.get("METRICS") or {}).get("PORTS") or {}
        port = int(ports.get(self.container.service_name) or 0)
        if port:
            address = (self.container.config.get("METRICS") or {}).get("ADDRESS") or "127.0.0.1"
            start_http_server(port, addr=str(address))


class EntrypointMetrics(DependencyProvider):
    """Times every entrypoint of the service and counts the ones that raise; serves the metrics.
    Every service has it, so it also brings what every service process needs once."""

    server = MetricsServer()
    startup = StartupFrozen()

    def setup(self):
        self._started: dict[int, float] = {}

    def worker_setup(self, worker_ctx):
        self._started[id(worker_ctx)] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(id(worker_ctx), None)
        entrypoint = worker_ctx.entrypoint
        labels = (worker_ctx.service_name, entrypoint.method_name, entrypoint_kind(entrypoint))
        if started is not None:
            ENTRYPOINT_SECONDS.labels(*labels).observe(time.perf_counter() - started)
        if exc_info is not None:
            ENTRYPOINT_ERRORS.labels(*labels, type(exc_info[1]).__name__).inc()

    def get_dependency(self, worker_ctx):
        return None


# event type -> (subject, outcome); registration.created takes its outcome from the data's status
_BUSINESS_EVENTS = {
    "registration.created": ("registration", None),
    "registration.confirmed": ("registration", "promoted"),
    "registration.cancelled": ("registration", "cancelled"),
    "attendance.recorded": ("attendance", "recorded"),
    "evaluation.requested": ("evaluation", "requested"),
    "evaluation.submitted": ("evaluation", "submitted"),
    "request.received": ("request", "received"),
    "request.accepted": ("request", "accepted"),
    "request.declined": ("request", "declined"),
    "request.delivered": ("request", "delivered"),
    "notification.sent": ("notification", "sent"),
    "notification.failed": ("notification", "failed"),
}


def business_outcome(event_type: str, data: dict) -> tuple[str, str] | None:
    """The (subject, outcome) labels of a published event, or None when it is not a business outcome.
    Labels come from a fixed vocabulary: never an id, name or address."""
    known = _BUSINESS_EVENTS.get(event_type)
    if known is None:
        return None
    subject, outcome = known
    if outcome is None:
        outcome = data.get("status") if data.get("status") in ("confirmed", "waitlisted") else "created"
    return subject, outcome
