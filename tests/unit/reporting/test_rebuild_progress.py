"""The rebuild's progress line (events done / total, rate, ETA) and its comparison of documents,
without a database."""
from __future__ import annotations

import io

from services.reporting import rebuild


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_rewrites_one_line_with_rate_and_eta():
    clock, stream = Clock(), Terminal()
    progress = rebuild.Progress(1000, stream=stream, clock=clock)
    clock.now += 2
    progress.advance(250)
    clock.now += 2
    progress.advance(250)
    clock.now += 4
    progress.advance(500)
    progress.finish()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 3 and stream.getvalue().endswith("\n")
    assert frames[0].startswith(
        "rebuilding [######..................] 250/1,000 events  25.0% 125 events/s ETA 0:00:06")
    assert "500/1,000 events  50.0% 125 events/s ETA 0:00:04" in frames[1]
    assert "1,000/1,000 events 100.0% 125 events/s done in 0:00:08" in frames[2]


def test_progress_elsewhere_prints_a_line_every_few_seconds_and_the_last_one():
    clock, stream = Clock(), io.StringIO()
    progress = rebuild.Progress(100, stream=stream, clock=clock, every=5)
    for _ in range(10):
        clock.now += 1
        progress.advance(10)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split("] ")[1].split(" events")[0] for line in lines] == ["10/100", "60/100", "100/100"]
    assert lines[-1].endswith("done in 0:00:10")


def test_progress_of_nothing_says_so_once_and_quiet_says_nothing():
    stream = io.StringIO()
    rebuild.Progress(0, stream=stream, clock=Clock()).finish()
    assert stream.getvalue().count("\n") == 1 and "0/0 events 100.0%" in stream.getvalue()
    quiet = io.StringIO()
    progress = rebuild.Progress(10, stream=quiet, clock=Clock(), enabled=False)
    progress.advance(10)
    progress.finish()
    assert quiet.getvalue() == ""


def test_document_differences_name_each_figure_that_differs():
    live = {"year": 2026, "open_offer": {"participants": 8, "nps": {"score": 10}}, "totals": {"participants": 9}}
    rebuilt = {"year": 2026, "open_offer": {"participants": 7, "nps": {"score": 10}}, "totals": {"participants": 9}}
    assert rebuild.document_differences("annual 2026", live, rebuilt) == [
        "annual 2026: open_offer.participants: live 8, rebuilt 7"]
    assert rebuild.document_differences("activity a", None, {"participants": 1}) == [
        "activity a: participants: live -, rebuilt 1"]
    assert rebuild.document_differences("annual 2026", live, live) == []


def test_the_producers_and_types_replayed_are_those_reporting_consumes():
    consumed = rebuild.consumed_by_producer()
    assert set(consumed) == {"registration", "evaluation", "requests"}
    assert consumed["evaluation"] == ("evaluation.requested", "evaluation.submitted")
    assert sum(len(types) for types in consumed.values()) == len(rebuild.domain.CONSUMED)


def test_every_difference_is_counted_and_the_first_ones_described():
    comparison = rebuild.Comparison(keep=2)
    assert comparison.equal
    comparison.differ(["a", "b", "c"])
    comparison.differ(["d"])
    assert comparison.total == 4 and comparison.differences == ["a", "b"] and not comparison.equal
    out = io.StringIO()
    rebuild._print_comparison(comparison, 1, out)
    assert out.getvalue().splitlines()[1:] == ["DIFFERENT: 4 difference(s) (0 counters, 0 set members)", "  a",
                                               "  ... and 3 more"]
