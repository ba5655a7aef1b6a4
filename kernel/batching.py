"""Calls that wait for one another, taken together: the calls for one key (say, registrations
for one activity) that arrive while an earlier turn for that key is running are run next as one
batch, in one transaction, in the order they came.

A hot row is the reason: every registration for an activity needs that activity's seat counters
under a lock, so registrations queue behind one another anyway. Taking the queue in turns costs
one lock, one commit and one round of writes per turn instead of per registration, and a call
that finds no turn running starts one at once (no waiting to gather a batch).

`run(items)` returns one outcome per item, a value or an exception, in order.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider

Runner = Callable[[list[Any]], Sequence[Any]]


@dataclass
class _Call:
    item: Any
    run: Runner
    done: Event = field(default_factory=Event)


class InTurns:
    def __init__(self, max_batch: int = 100):
        self.max_batch = max_batch
        self._waiting: dict[Hashable, list[_Call]] = {}

    def call(self, key: Hashable, item: Any, run: Runner) -> Any:
        """`item`'s outcome once its turn has run (its exception raised here). A turn runs with the
        `run` of its first call: that caller is still waiting, so whatever `run` uses is alive."""
        call = _Call(item, run)
        queue = self._waiting.get(key)
        if queue is None:
            self._waiting[key] = [call]
            eventlet.spawn_n(self._take_turns, key)
        else:
            queue.append(call)
        return call.done.wait()

    def _take_turns(self, key: Hashable) -> None:
        # green threads switch only where they wait: between finding the queue empty and removing
        # it, no call can be added unseen
        queue = self._waiting[key]
        try:
            while queue:
                batch, queue[:] = queue[: self.max_batch], queue[self.max_batch :]
                try:
                    outcomes = list(batch[0].run([call.item for call in batch]))
                    if len(outcomes) != len(batch):
                        raise RuntimeError(f"a turn of {len(batch)} calls gave {len(outcomes)} outcomes")
                except BaseException as exc:  # noqa: BLE001 - every caller of the turn hears of it
                    outcomes = [exc] * len(batch)
                for call, outcome in zip(batch, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        call.done.send_exception(outcome)
                    else:
                        call.done.send(outcome)
        finally:
            del self._waiting[key]


class TakenInTurns(DependencyProvider):
    """One `InTurns` per service process, shared by its workers: `self.turns.call(key, item, run)`."""

    def __init__(self, max_batch: int = 100):
        self.max_batch = max_batch

    def setup(self):
        self.turns = InTurns(self.max_batch)

    def get_dependency(self, worker_ctx):
        return self.turns
