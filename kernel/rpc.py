"""nameko's RpcProxy with a deadline.

A call to a service that is down waits in its queue until the service comes
back; a caller serving a person must not hang that long. `RpcProxy` here gives
up after RPC_TIMEOUT_SECONDS (config.yml) and raises ServiceUnavailable, which
the gateway answers with 503.
"""
from __future__ import annotations

import logging

import eventlet
from nameko import rpc as nameko_rpc

from kernel.errors import ServiceUnavailable

DEFAULT_TIMEOUT_SECONDS = 30.0


class _WithoutReplyBody(logging.Filter):
    """nameko.rpc logs every RPC reply body at DEBUG ("RPC reply event complete"), which holds the
    names, email addresses and questions a service answers with (no personal data in logs:
    docs/PRIVACY.md). The record stays, without the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "RPC reply event complete %s %s" and isinstance(record.args, tuple):
            record.msg, record.args = "RPC reply event complete %s (body not logged)", record.args[:1]
        return True


logging.getLogger(nameko_rpc.__name__).addFilter(_WithoutReplyBody())


class RpcProxy(nameko_rpc.RpcProxy):
    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)
        return _TimedServiceProxy(super().get_dependency(worker_ctx), self.target_service, timeout)


class _TimedServiceProxy:
    def __init__(self, proxy, service: str, timeout: float):
        self._proxy, self._service, self._timeout = proxy, service, timeout

    def __getattr__(self, name):
        return _TimedMethod(getattr(self._proxy, name), self._service, self._timeout)


class _TimedMethod:
    def __init__(self, method, service: str, timeout: float):
        self._method, self._service, self._timeout = method, service, timeout

    def __call__(self, *args, **kwargs):
        return self.wait(self._method.call_async(*args, **kwargs))

    def call_async(self, *args, **kwargs):
        return self._method.call_async(*args, **kwargs)

    def wait(self, reply):
        """The reply's result, or ServiceUnavailable once the deadline has passed."""
        unavailable = ServiceUnavailable(f"the {self._service} service did not answer in time")
        with eventlet.Timeout(self._timeout, unavailable):
            return reply.result()
