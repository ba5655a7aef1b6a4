"""Reliable consumers: nameko's event handler made safe, and a batching variant.

- the envelope is validated on arrival; an invalid one goes straight to the
  dead-letter queue (retrying cannot fix it);
- a handler that raises is retried after each delay of EVENTS.RETRY_DELAYS_MS
  (the message waits in a TTL queue, then returns through `platform.retry`),
  and after the last attempt it is dead-lettered with the error in its headers;
- the original message is acked only after its retry or dead-letter copy was
  confirmed by the broker, so nothing is ever acked and dropped.

Idempotency is the handler's own transaction: `uow.claim(event)` (see kernel.db).
"""
from __future__ import annotations

import errno
import logging
import threading
import time
import types
from collections import Counter
from datetime import datetime, timezone

import eventlet
import orjson
from amqp.transport import TCPTransport
from kombu import Connection
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import Entrypoint
from nameko.messaging import Consumer, QueueConsumer

from kernel.config import batch_consumer_priority, retry_delays_ms
from kernel.envelope import validate_received
from kernel.metrics import EVENTS_CONSUMED
from kernel.topology import (
    DEAD_LETTER_EXCHANGE,
    ConsumerSpec,
    PlatformTopology,
    consumer_queue,
    delay_exchange,
)

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-attempt"
ERROR_TEXT_LIMIT = 500


class DoNotRetry(Exception):
    """Raise (or subclass) in a handler when retrying cannot help: the event is dead-lettered at once."""


class FailedMessages:
    """Where a consumer's failed messages go: a delay queue for the next attempt, or the dead letters."""

    def __init__(self, config: dict, queue_name: str):
        self.queue_name = queue_name
        self.consumer = queue_name.rsplit("--", 1)[-1]  # <service>.<method>
        self.retry_delays_ms = retry_delays_ms(config)
        self.publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)

    def handler_failed(self, message, exc: BaseException) -> None:
        """Retry `message` later or, after the last attempt, dead-letter it (confirmed either way)."""
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1
        event_id = message.payload.get("event_id") if isinstance(message.payload, dict) else None
        error_type = type(exc).__name__
        if attempt <= len(self.retry_delays_ms) and not isinstance(exc, DoNotRetry):
            delay = self.retry_delays_ms[attempt - 1]
            log.warning(
                "%s failed on %s (attempt %d, %s); retrying in %d ms",
                self.queue_name, event_id, attempt, error_type, delay,
            )
            self.publisher.publish(
                message.payload,
                exchange=delay_exchange(delay),
                routing_key=self.queue_name,
                headers=dict(message.headers or {}, **{ATTEMPT_HEADER: attempt}),
            )
            self.count(message, "retried")
        else:
            log.error(
                "%s failed on %s after %d attempts (%s); dead-lettered",
                self.queue_name, event_id, attempt, error_type,
            )
            self.dead_letter(message, error_type, str(exc), attempt)

    def dead_letter(self, message, error_type: str, error_text: str, attempts: int = 1) -> None:
        delivery = message.delivery_info or {}
        headers = dict(
            message.headers or {},
            **{
                "x-original-queue": self.queue_name,
                "x-original-exchange": delivery.get("exchange", ""),
                "x-original-routing-key": delivery.get("routing_key", ""),
                "x-error-type": error_type,
                "x-error": error_text[:ERROR_TEXT_LIMIT],
                "x-attempts": attempts,
                "x-dead-lettered-at": datetime.now(timezone.utc).isoformat(),
            },
        )
        self.publisher.publish(
            message.payload, exchange=DEAD_LETTER_EXCHANGE, routing_key=self.queue_name, headers=headers
        )
        self.count(message, "invalid" if error_type == "InvalidEnvelope" else "dead_lettered")

    def count(self, message, outcome: str) -> None:
        self.count_many([message], outcome)

    def count_many(self, messages: list, outcome: str) -> None:
        by_type = Counter(
            str(m.payload.get("event_type") if isinstance(m.payload, dict) else None) for m in messages
        )
        for event_type, number in by_type.items():
            EVENTS_CONSUMED.labels(self.consumer, event_type, outcome).inc(number)


def invalid_envelope(message) -> str | None:
    """The validation errors of `message`'s envelope, or None when it is valid."""
    try:
        validate_received(message.payload)
    except ValidationError as exc:
        return str(exc.messages)
    return None


class ReliableEventHandler(EventHandler):
    """`@event_handler(source, event_type)`: one worker per event."""

    topology = PlatformTopology()

    def __init__(self, source_service: str, event_type: str, **kwargs):
        super().__init__(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=False,
            **kwargs,
        )
        self.event_bindings = ((source_service, event_type),)

    def setup(self):
        spec = ConsumerSpec(self.container.service_name, self.method_name, self.event_bindings)
        self.queue = consumer_queue(spec, self.container.config)
        self.failed = FailedMessages(self.container.config, spec.queue_name)
        Consumer.setup(self)  # nameko's EventHandler.setup would declare a plain queue

    def handle_message(self, body, message):
        errors = invalid_envelope(message)
        if errors:
            self._settle(message, self.failed.dead_letter, "InvalidEnvelope", errors)
            return
        super().handle_message(body, message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self._settle_on_channel(self.queue_consumer.ack_message, message)
            self.failed.count(message, "handled")
        else:
            self._settle(message, self.failed.handler_failed, exc_info[1])

    def _settle(self, message, forward, *args):
        """Forward a copy (confirmed by the broker), then ack; requeue if forwarding failed."""
        try:
            forward(message, *args)
        except Exception:
            log.exception("could not forward a failed message from %s; requeueing", self.queue.name)
            self._settle_on_channel(self.queue_consumer.requeue_message, message)
            return
        self._settle_on_channel(self.queue_consumer.ack_message, message)

    def _settle_on_channel(self, ack_or_requeue, message) -> None:
        """Ack or requeue; on a connection the broker has already dropped there is nothing to settle.

        nameko forgives amqp's ConnectionError only: the OSError of a reset socket (the broker
        restarted while a handler ran) would escape the worker and kill the whole container.
        The broker redelivers the unacked message; the handler is idempotent.
        """
        try:
            ack_or_requeue(message)
        except OSError as exc:
            log.warning("%s: connection lost before the message was settled (%s); the broker redelivers it",
                        self.queue.name, exc)


event_handler = ReliableEventHandler.decorator


READ_AHEAD_BYTES = 128 * 1024


def read_ahead(connection) -> None:
    """Make the connection's socket reads buffered: py-amqp (5.4, pinned) reads each frame in
    three `recv` calls of exactly the bytes it needs, nine system calls (and green-thread
    switches) per message; one large `recv` serves many frames. Measured on a backlog: ~7,700
    -> ~11,500 messages/s read by one process. Only for the plain TCP transport."""
    transport = connection.connection.transport
    if type(transport) is not TCPTransport:
        return
    transport._ahead, transport._ahead_at = b"", 0
    transport._read = types.MethodType(_read_ahead, transport)


def _read_ahead(transport, n, initial=False, _retry=(errno.EAGAIN, errno.EINTR)):
    """TCPTransport._read (exactly `n` bytes) over a read-ahead buffer."""
    buffered, at = transport._ahead, transport._ahead_at
    if len(buffered) - at >= n:
        transport._ahead_at = at + n
        return buffered[at : at + n]
    rest = buffered[at:]
    try:
        while len(rest) < n:
            try:
                received = transport._quick_recv(READ_AHEAD_BYTES)
            except OSError as exc:
                if exc.errno in _retry:
                    if initial and transport.raise_on_initial_eintr:
                        raise TimeoutError() from exc
                    continue
                raise
            if not received:
                raise OSError("Server unexpectedly closed connection")
            rest += received
    except BaseException:
        transport._ahead, transport._ahead_at = rest, 0  # a timeout keeps what was read
        raise
    transport._ahead, transport._ahead_at = rest, n
    return rest[:n]


class Delivery:
    """A message as the batch consumer took it off the wire, with the parts of kombu's Message
    that the handling and FailedMessages use, decoded and checked on arrival. `invalid` says
    why it cannot be handled (a body that is not JSON, which keeps its text as payload, or an
    invalid envelope): it is dead-lettered as such."""

    __slots__ = ("channel", "delivery_tag", "delivery_info", "headers", "payload", "invalid")

    def __init__(self, channel, message):
        self.channel = channel
        self.delivery_info = message.delivery_info
        self.delivery_tag = message.delivery_info["delivery_tag"]
        self.headers = message.properties.get("application_headers") or {}
        body = message.body
        try:
            self.payload = orjson.loads(body)
        except ValueError as exc:  # also a UnicodeDecodeError
            self.payload = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            self.invalid = f"the body is not JSON: {exc}"
        else:
            self.invalid = invalid_envelope(self)


class BatchEventHandler(Entrypoint):
    """`@batch_event_handler([(source, event_type), ...])`: many events per worker.

    One queue bound to all the given event types. Up to `max_batch` messages
    (or whatever arrived within `max_wait_ms`; with `idle_ms`, whatever arrived
    before the queue was quiet that long) go to the handler as one list,
    to be handled in one transaction (`uow.claim_many(events)`); they are acked
    after it returns. If the batch fails, each event is handled on its own, so
    one poison event is retried and dead-lettered while the rest go through.
    The handler sees the attempt (`x-attempt` in its worker context) only on those
    calls of one event, which is also how a lone event is handled (once).
    One batch is handled at a time; meanwhile the next is read, decoded and checked,
    so a handler waiting for its database does not leave the reading idle.
    Consumers of one queue with a lower EVENTS.BATCH_CONSUMER_PRIORITY get messages only while
    the higher ones have `2 * max_batch` unacked (a backlog).
    """

    topology = PlatformTopology()
    # nameko's consumer of the container's queues, among them the reply queue of the workers' RPC
    # proxies. A batch consumer reads its queue on a connection of its own: it could hand out a batch
    # of a backlog while the container is still starting, and an RPC from that batch would lose its
    # reply (no reply queue yet) and wait out RPC_TIMEOUT_SECONDS. `_run` waits for it to consume.
    queue_consumer = QueueConsumer()
    POLL = 0.005  # seconds between looks at the batch being handled, while reading the next

    def __init__(self, bindings, max_batch: int = 500, max_wait_ms: int = 50, idle_ms: int | None = None, **kwargs):
        self.event_bindings = tuple((source, event_type) for source, event_type in bindings)
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.idle = idle_ms / 1000 if idle_ms else None
        super().__init__(**kwargs)

    def setup(self):
        spec = ConsumerSpec(self.container.service_name, self.method_name, self.event_bindings)
        self.queue = consumer_queue(spec, self.container.config)
        self.failed = FailedMessages(self.container.config, spec.queue_name)
        self._stopped = threading.Event()

    def start(self):
        self.container.spawn_managed_thread(self._run, identifier=f"{self.queue.name}.batch_consumer")

    def stop(self):
        self._stopped.set()

    kill = stop

    def _run(self):
        self.queue_consumer.start()  # returns once it consumes (shared: the container starts it too)
        backoff = 0.5
        while not self._stopped.is_set():
            try:
                with Connection(self.container.config["AMQP_URI"], heartbeat=30) as connection:
                    connection.connect()
                    read_ahead(connection)
                    backoff = 0.5  # connected: the next loss backs off afresh (_consume returns only when stopped)
                    self._consume(connection)
            except Exception as exc:
                # unacked messages return to the queue by themselves
                log.warning("%s lost its broker connection (%s); reconnecting", self.queue.name, exc)
                self._stopped.wait(backoff)
                backoff = min(30.0, backoff * 2)

    def _consume(self, connection):
        # py-amqp's own messages, without kombu's Consumer and Message wrapping, which made
        # reading a backlog ~40 % slower (5,500 instead of 8,000 messages/s here)
        channel = connection.channel()
        self.queue(channel).declare()
        channel.basic_qos(0, self.max_batch * 2, False)
        arrived: list[Delivery] = []
        channel.basic_consume(self.queue.name, callback=lambda message: arrived.append(Delivery(channel, message)),
                              arguments={"x-priority": batch_consumer_priority(self.container.config)})
        handling: tuple | None = None  # (green thread, its messages); acked here, on this connection's reader
        first_at = last_at = 0.0
        try:
            while not self._stopped.is_set():
                now = time.monotonic()
                if handling is not None:
                    wait = self.POLL
                elif arrived:
                    wait = self.max_wait - (now - first_at)
                    if self.idle:
                        wait = min(wait, self.idle - (now - last_at))
                    wait = max(0.0, wait)
                else:
                    wait = 0.2
                before = len(arrived)
                try:
                    connection.drain_events(timeout=wait)
                except TimeoutError:
                    connection.heartbeat_check()
                now = time.monotonic()
                if len(arrived) > before:
                    first_at, last_at = (first_at if before else now), now
                if handling is not None and handling[0].dead:
                    self._settle(*handling)
                    handling = None
                if handling is None and arrived and (
                        len(arrived) >= self.max_batch or now - first_at >= self.max_wait
                        or (self.idle and now - last_at >= self.idle)):
                    batch, arrived[:] = arrived[: self.max_batch], arrived[self.max_batch :]
                    handling = (eventlet.spawn(self._handle, batch), batch)
                    first_at = now
            if handling is not None:  # stopped: finish the batch in hand and ack it
                self._settle(*handling)
                handling = None
        finally:
            if handling is not None:  # the connection failed: the broker redelivers what is not acked
                try:
                    handling[0].wait()
                except Exception:
                    log.exception("%s: a batch failed while the connection was lost", self.queue.name)

    @staticmethod
    def _settle(thread, messages: list) -> None:
        """Ack a handled batch (re-raising what the handling raised: nothing is acked then)."""
        thread.wait()
        messages[-1].channel.basic_ack(max(m.delivery_tag for m in messages), multiple=True)

    def _handle(self, messages: list) -> None:
        """Handle, retry or dead-letter (with confirms) every message of the batch."""
        valid = []
        for message in messages:
            if message.invalid:
                self.failed.dead_letter(message, "InvalidEnvelope", message.invalid)
            else:
                valid.append(message)
        if len(valid) > 1 and self._call([m.payload for m in valid]) is None:
            self.failed.count_many(valid, "handled")
            return
        # a failed batch (find the culprits), or a lone event: one event at a time, with its headers
        # (x-attempt). A lone event is called once, as a one-event handler would be: called first
        # as a batch without its attempt, a handler that gave up on it there would find nothing
        # left to fail on its second call, and the event would be acked instead of dead-lettered.
        for message in valid:
            exc = self._call([message.payload], dict(message.headers or {}))
            if exc is not None:
                self.failed.handler_failed(message, exc)
            else:
                self.failed.count(message, "handled")

    def _call(self, events: list[dict], context_data: dict | None = None) -> BaseException | None:
        """Run the handler on `events` in a nameko worker (`context_data`: its worker_ctx.data); the
        exception it raised, if any."""
        done = threading.Event()
        outcome: list = []

        def handle_result(worker_ctx, result, exc_info):
            outcome.append(exc_info)
            done.set()
            return result, exc_info

        self.container.spawn_worker(self, (events,), {}, context_data=context_data, handle_result=handle_result)
        done.wait()
        exc_info = outcome[0]
        return None if exc_info is None else exc_info[1]


batch_event_handler = BatchEventHandler.decorator
