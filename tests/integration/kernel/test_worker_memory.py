"""A service process under load spends no time stopped for the cycle collector: what it built at
start-up is frozen out of the collector's reach, and a worker that called another service is
freed as soon as it ends, not left in a cycle for the collector."""
from __future__ import annotations

import gc
import weakref

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from kernel.metrics import EntrypointMetrics
from kernel.rpc import RpcProxy, rpc
from services.reporting.service import ReportingService
from tests.helpers import wait_for

workers: list[weakref.ref] = []


class Answering:
    name = "answering"

    @rpc
    def answer(self) -> int:
        return 42


class Asking:
    name = "asking"
    answering = RpcProxy("answering")

    @rpc
    def ask(self) -> int:
        workers.append(weakref.ref(self))
        return self.answering.answer()


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_a_worker_that_called_another_service_is_freed_when_it_ends(platform_config, container_factory,
                                                                     collector_off):
    container_factory(Answering, platform_config).start()
    container_factory(Asking, platform_config).start()
    with ServiceRpcProxy("asking", platform_config) as asking:
        assert [asking.ask() for _ in range(3)] == [42, 42, 42]
    # the cycle collector is off: only reference counting can free them
    wait_for(lambda: len(workers) == 3 and all(worker() is None for worker in workers), timeout=5,
             message="every worker to be freed")


@pytest.mark.parametrize("frozen", [True, False])
def test_a_service_freezes_what_it_loaded_at_start_up_unless_told_not_to(platform_config, container_factory,
                                                                         frozen):
    assert isinstance(ReportingService.metrics, EntrypointMetrics)  # every service has them
    platform_config["GC_FREEZE_AT_START"] = frozen
    gc.unfreeze()
    try:
        container_factory(ReportingService, platform_config).start()
        assert (gc.get_freeze_count() > 10_000) is frozen
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
