"""kernel.batching: calls for one key that arrive during a turn are taken together in the next one,
in order, each caller getting its own outcome."""
from __future__ import annotations

import eventlet
import pytest

from kernel.batching import InTurns


class HeldFirstTurn:
    """A `run` that records its batches and holds the first turn until `release()`, so that the
    calls made meanwhile queue for the next turn; `answer` turns a batch's items into outcomes."""

    def __init__(self, answer=lambda items: list(items)):
        self.batches = []
        self.answer = answer
        self.running = eventlet.event.Event()
        self._go = eventlet.event.Event()

    def __call__(self, items):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.running.send()
            self._go.wait()
        return self.answer(items)

    def release(self):
        eventlet.sleep(0)  # every call made so far is queued now
        self._go.send()


def test_calls_arriving_during_a_turn_are_taken_together_in_order():
    turns = InTurns()
    run = HeldFirstTurn(lambda items: [item * 10 for item in items])

    pool = eventlet.GreenPool()
    first = pool.spawn(turns.call, "activity", 1, run)
    run.running.wait()
    later = [pool.spawn(turns.call, "activity", n, run) for n in (2, 3, 4)]
    other_key = pool.spawn(turns.call, "another activity", 5, run)
    run.release()

    assert first.wait() == 10
    assert [call.wait() for call in later] == [20, 30, 40]
    assert other_key.wait() == 50
    assert run.batches == [[1], [5], [2, 3, 4]]
    assert turns._waiting == {}  # no queue left behind


def test_each_caller_gets_its_own_error_and_a_failed_turn_fails_its_callers_only():
    turns = InTurns()

    def run(items):
        return [ValueError(f"bad {item}") if item % 2 else item for item in items]

    assert turns.call("k", 2, run) == 2
    with pytest.raises(ValueError, match="bad 3"):
        turns.call("k", 3, run)

    def broken(items):
        raise RuntimeError("database away")

    with pytest.raises(RuntimeError, match="database away"):
        turns.call("k", 1, broken)
    assert turns.call("k", 4, run) == 4  # the next turn runs as usual


def test_a_turn_never_takes_more_than_its_maximum():
    turns = InTurns(max_batch=2)
    run = HeldFirstTurn()

    pool = eventlet.GreenPool()
    calls = [pool.spawn(turns.call, "k", 0, run)]
    run.running.wait()
    calls += [pool.spawn(turns.call, "k", n, run) for n in range(1, 6)]
    run.release()
    assert [call.wait() for call in calls] == list(range(6))
    assert run.batches == [[0], [1, 2], [3, 4], [5]]
