"""kernel.rpc: every service answers calls through the kernel's entrypoint (transient replies
without a confirm), and the kernel's proxy sends transient requests that keep their confirm.

One service's entrypoints must all be of one kind: nameko's RPC consumer and the kernel's would
both read the service's queue, each refusing the other's methods."""
from __future__ import annotations

import importlib
import inspect

import pytest
from nameko import rpc as nameko_rpc
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from kernel import rpc
from kernel.config import SERVICES


@pytest.mark.parametrize("name", SERVICES + ("gateway",))
def test_every_rpc_entrypoint_of_a_service_is_the_kernels(name):
    module = importlib.import_module(f"services.{name}.service")
    service = next(cls for _, cls in inspect.getmembers(module, inspect.isclass)
                   if cls.__module__ == module.__name__ and getattr(cls, "name", None) == name)
    entrypoints = [entrypoint for _, method in inspect.getmembers(service, callable)
                   for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())
                   if isinstance(entrypoint, nameko_rpc.Rpc)]
    assert all(isinstance(entrypoint, rpc.Rpc) for entrypoint in entrypoints), name
    assert name == "gateway" or entrypoints  # every service answers `health` at least


def test_replies_are_transient_and_unconfirmed_and_requests_transient_and_confirmed():
    reply = rpc._Responder.publisher_cls("amqp://")
    assert (reply.delivery_mode, reply.use_confirms) == (rpc.TRANSIENT_DELIVERY_MODE, False)
    request = rpc.RpcProxy("registration")
    assert request.options["delivery_mode"] == rpc.TRANSIENT_DELIVERY_MODE
    assert request.options.get("use_confirms", True)  # an unknown service is told by the confirm
