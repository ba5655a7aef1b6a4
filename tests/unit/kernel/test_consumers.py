"""The event contract's list of the queues each handler reads (kernel.contract.CONSUMERS) says what
the services' handler decorators (`event_handler`, `batch_event_handler`) say: every decorated handler
is listed with the events it is bound to, and every listed handler is decorated so."""
import importlib
import importlib.util
import inspect
import pkgutil

import pytest

import services
from kernel.contract import CONSUMERS, DATA_SCHEMAS, PRODUCERS
from kernel.topology import consumers_of

SERVICE_PACKAGES = sorted(
    module.name for module in pkgutil.iter_modules(services.__path__)
    if importlib.util.find_spec(f"services.{module.name}.service") is not None
)


def decorated_handlers(service: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """handler method -> (producer, event type) bindings, read off the decorators of `service`'s class."""
    module = importlib.import_module(f"services.{service}.service")
    classes = [
        obj for obj in vars(module).values() if inspect.isclass(obj) and getattr(obj, "name", None) == service
    ]
    assert len(classes) == 1, f"services.{service}.service: expected one service class named {service!r}"
    return {spec.method_name: spec.bindings for spec in consumers_of(*classes)}


@pytest.mark.parametrize("service", SERVICE_PACKAGES)
def test_every_decorated_handler_is_listed_with_its_events(service):
    listed = CONSUMERS.get(service, {})
    for method_name, bindings in decorated_handlers(service).items():
        assert method_name in listed, f"{service}.{method_name} is a handler that CONSUMERS does not list"
        assert listed[method_name] == bindings, f"{service}.{method_name}: CONSUMERS lists other events"


@pytest.mark.parametrize("service", sorted(CONSUMERS))
def test_every_listed_handler_is_decorated(service):
    assert service in SERVICE_PACKAGES, f"CONSUMERS lists {service!r}, which is no service"
    decorated = decorated_handlers(service)
    for method_name in CONSUMERS[service]:
        assert method_name in decorated, f"CONSUMERS lists {service}.{method_name}, which handles no events"


def test_listed_events_are_in_the_contract_and_come_from_their_producer():
    for service, handlers in CONSUMERS.items():
        for method_name, bindings in handlers.items():
            assert bindings, f"{service}.{method_name} reads no events"
            for producer, event_type in bindings:
                assert event_type in DATA_SCHEMAS, f"{service}.{method_name}: no event type {event_type}"
                assert event_type.startswith(PRODUCERS[producer]), f"{producer} does not emit {event_type}"
