"""nameko's RPC, with a deadline and without writing calls to disk.

A call to a service that is down waits in its queue until the service comes
back; a caller serving a person must not hang that long. `RpcProxy` here gives
up after RPC_TIMEOUT_SECONDS (config.yml) and raises ServiceUnavailable, which
the gateway answers with 503.

Requests and replies are transient messages, and a reply goes out without a
publisher confirm: a call lives only as long as its caller waits, so storing it
on the broker's disk protects nothing, and it cost RabbitMQ about two thirds of
its work per call. (A request still waits for its confirm: that is how an unknown
service is told apart from a slow one.) Services declare their RPC entrypoints
with this module's `rpc`.
"""
from __future__ import annotations

import logging

import eventlet
from nameko import rpc as nameko_rpc
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)

from kernel.errors import ServiceUnavailable

DEFAULT_TIMEOUT_SECONDS = 30.0
TRANSIENT_DELIVERY_MODE = 1


class _WithoutReplyBody(logging.Filter):
    """nameko.rpc logs every RPC reply body at DEBUG ("RPC reply event complete"), which holds the
    names, email addresses and questions a service answers with (no personal data in logs:
    docs/PRIVACY.md). The record stays, without the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "RPC reply event complete %s %s" and isinstance(record.args, tuple):
            record.msg, record.args = "RPC reply event complete %s (body not logged)", record.args[:1]
        return True


logging.getLogger(nameko_rpc.__name__).addFilter(_WithoutReplyBody())


class _ReplyPublisher(nameko_rpc.Publisher):
    delivery_mode = TRANSIENT_DELIVERY_MODE
    use_confirms = False


class _Responder(nameko_rpc.Responder):
    publisher_cls = _ReplyPublisher


class _RpcConsumer(nameko_rpc.RpcConsumer):
    def handle_result(self, message, result, exc_info):
        """nameko's, with the reply sent by `_Responder`."""
        config = self.container.config
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY], nameko_rpc.get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = _RpcConsumer()


rpc = Rpc.decorator


class RpcProxy(nameko_rpc.RpcProxy):
    def __init__(self, target_service, **options):
        options.setdefault("delivery_mode", TRANSIENT_DELIVERY_MODE)
        super().__init__(target_service, **options)

    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)
        return _TimedServiceProxy(super().get_dependency(worker_ctx), self.target_service, timeout)

    def worker_teardown(self, worker_ctx):
        """The proxy holds the worker's context, which holds the service instance, which holds the
        proxy: a cycle that only Python's cycle collector would free, with the request and all
        the worker made. Under load those pile up into collections that stop the whole process
        for 100 ms and more. Dropping the proxy when the worker ends frees it all at once."""
        vars(worker_ctx.service).pop(self.attr_name, None)


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
