"""The `health` RPC every service answers; the gateway's /health asks each one."""
from __future__ import annotations

from kernel.metrics import EntrypointMetrics
from kernel.rpc import rpc


class HealthRpc:
    """Mix into a service class that has `db = Database()`: the `health` RPC, and
    entrypoint metrics served on the service's metrics port.

    Import the module (`from kernel import health`, then `health.HealthRpc`), not the
    class: `nameko run services.x.service` takes every class with entrypoints that
    it finds in the module for a service of its own.
    """

    metrics = EntrypointMetrics()

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "database": self.db.ping()}
