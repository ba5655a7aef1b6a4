"""The gateway's own Prometheus metrics: GET /metrics (the other services serve
theirs on their own ports, see kernel.metrics).

Open to every scraper by default, as the metrics name no person (AUTH.METRICS_PUBLIC: true);
with AUTH.METRICS_PUBLIC false an ops (or admin) token is needed (Prometheus: `authorization`
in its scrape configuration)."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from kernel.metrics import EntrypointMetrics
from services.gateway.auth import require
from services.gateway.security import http


def metrics_public(config: dict) -> bool:
    value = (config.get("AUTH") or {}).get("METRICS_PUBLIC", True)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "0", "off")
    return value is None or bool(value)


class MetricsRoutes:
    metrics = EntrypointMetrics()  # times every gateway entrypoint (HTTP latency, errors)

    @http("GET", "/metrics")
    @require("ops", open_when=metrics_public)
    def prometheus_metrics(self, request):
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
