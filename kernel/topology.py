"""Every exchange and queue of the platform, declared before anything is published.

A consumer queue must exist before the first event it should see; so each
service, when it starts, declares the queues of *every* consumer in the
platform (as the event contract lists them, `kernel.contract.CONSUMERS`), not
only its own.
"""
from __future__ import annotations

import inspect
import threading
import time
from dataclasses import dataclass

from amqp.exceptions import NotFound
from kombu import Connection, Exchange, Queue, binding
from nameko.extensions import SharedExtension

from kernel.config import SERVICES, queue_type, retry_delays_ms
from kernel.contract import CONSUMERS
from kernel.outbox import event_exchange

RETRY_EXCHANGE = Exchange("platform.retry", type="direct", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("platform.dead-letter", type="fanout", durable=True)
DEAD_LETTER_QUEUE = Queue(
    "platform.dead-letter", exchange=DEAD_LETTER_EXCHANGE, routing_key="", durable=True
)


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer queue: which service method reads it and which events it is bound to."""

    service_name: str
    method_name: str
    bindings: tuple[tuple[str, str], ...]  # (source service, event type)

    @property
    def queue_name(self) -> str:
        if len(self.bindings) == 1:
            # nameko's own naming for service-pool event handlers
            source, event_type = self.bindings[0]
            return f"evt-{source}-{event_type}--{self.service_name}.{self.method_name}"
        return f"evt-batch--{self.service_name}.{self.method_name}"


def consumer_queue(spec: ConsumerSpec, config: dict) -> Queue:
    """A consumer's queue: bound to its producers' exchanges and to the retry exchange."""
    return Queue(
        spec.queue_name,
        bindings=[
            *(binding(event_exchange(source), routing_key=event_type) for source, event_type in spec.bindings),
            binding(RETRY_EXCHANGE, routing_key=spec.queue_name),
        ],
        durable=True,
        auto_delete=False,
        queue_arguments={
            "x-queue-type": queue_type(config),
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
        },
    )


def delay_exchange(delay_ms: int) -> Exchange:
    return Exchange(f"platform.delay.{delay_ms}ms", type="fanout", durable=True)


def delay_queue(delay_ms: int) -> Queue:
    """Holds a failed message for `delay_ms`, then hands it back through the retry exchange.

    The message keeps the routing key it was published with (its consumer
    queue's name), which is how the retry exchange finds its way home.
    """
    return Queue(
        f"platform.delay.{delay_ms}ms",
        exchange=delay_exchange(delay_ms),
        routing_key="",
        durable=True,
        queue_arguments={
            "x-message-ttl": int(delay_ms),
            "x-dead-letter-exchange": RETRY_EXCHANGE.name,
        },
    )


def platform_consumers() -> list[ConsumerSpec]:
    """The platform's consumer queues, as the event contract lists them."""
    return [
        ConsumerSpec(service, method_name, bindings)
        for service, handlers in CONSUMERS.items()
        for method_name, bindings in handlers.items()
    ]


def consumers_of(*service_classes) -> list[ConsumerSpec]:
    """The consumer queues of service classes: every entrypoint that has event `bindings`."""
    specs = []
    for service_cls in service_classes:
        for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                bindings = getattr(entrypoint, "event_bindings", None)
                if bindings:
                    specs.append(ConsumerSpec(service_cls.name, method_name, tuple(bindings)))
    return specs


def consumed_event_types(producer: str, own_service_cls=None) -> set[str]:
    """Event types of `producer` that some consumer of the platform (or of `own_service_cls`) is bound to."""
    own = consumers_of(own_service_cls) if own_service_cls is not None else []
    return {
        event_type
        for spec in {*platform_consumers(), *own}
        for source, event_type in spec.bindings
        if source == producer
    }


def entities(config: dict, service_classes=None) -> list:
    """All exchanges, and the consumer queues of `service_classes` (default: the platform's)."""
    consumers = platform_consumers() if service_classes is None else consumers_of(*service_classes)
    return _entities(config, consumers)


def _entities(config: dict, consumers) -> list:
    declared: list = [RETRY_EXCHANGE, DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE]
    declared += [event_exchange(service) for service in SERVICES]
    declared += [delay_queue(delay) for delay in retry_delays_ms(config)]
    declared += [consumer_queue(spec, config) for spec in sorted(set(consumers), key=lambda s: s.queue_name)]
    return declared


# Declarations of the same durable queue racing on one broker can fail with
# 404 "home node ... is down or inaccessible" while the winner's queue process
# starts; the declaration succeeds when repeated a moment later.
DECLARE_ATTEMPTS = 5
DECLARE_RETRY_SECONDS = 0.2
# Services started in one process (tests, a single-process deployment) declare one at a time.
_declare_lock = threading.Lock()


def declare(config: dict, service_classes=None) -> int:
    """Declare the topology of `service_classes` (default: the platform's) on the broker; idempotent.
    Returns the number of entities."""
    return _declare(config, entities(config, service_classes))


def _declare(config: dict, declared: list) -> int:
    with _declare_lock, Connection(config["AMQP_URI"]) as connection:
        channel = connection.channel()
        for entity in declared:
            for attempt in range(1, DECLARE_ATTEMPTS + 1):
                try:
                    # a queue's declaration also declares its exchanges and bindings
                    entity.bind(channel).declare()
                    break
                except NotFound:
                    if attempt == DECLARE_ATTEMPTS:
                        raise
                    time.sleep(DECLARE_RETRY_SECONDS * attempt)
                    channel = connection.channel()  # the failed declaration closed the channel
        channel.close()
    return len(declared)


class PlatformTopology(SharedExtension):
    """Declares the platform's topology (plus this container's own consumers, which the contract does
    not list for a test's or a benchmark's service) when a service starts."""

    def setup(self):
        own = consumers_of(self.container.service_cls)
        _declare(self.container.config, _entities(self.container.config, [*platform_consumers(), *own]))


def main() -> None:
    from kernel.config import load_config

    count = declare(load_config())
    print(f"declared {count} exchanges and queues")


if __name__ == "__main__":
    main()
