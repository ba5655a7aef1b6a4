"""An activity's times in the notifications service whatever the order its activity.scheduled and
activity.updated come in: the newest version is kept, and a move is told once, caused by its update."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kernel.envelope import event_stamp as stamp
from services.notifications.domain import KnownTimes, TimesChange, newer, times_change

T0 = datetime(2026, 5, 4, 9, tzinfo=UTC)
AT = datetime(2026, 3, 1, 9, tzinfo=UTC)


def times(days: int) -> tuple[datetime, datetime]:
    return T0 + timedelta(days=days), T0 + timedelta(days=days, hours=6)


def known(days: int, at: datetime | None = AT, event_id: str | None = "e-stored",
          move_unknown: bool = False) -> KnownTimes:
    return KnownTimes(*times(days), at, event_id, move_unknown)


def later(minutes: int = 1, event_id: str = "e-new") -> tuple[datetime, str]:
    return AT + timedelta(minutes=minutes), event_id


def test_stamp_is_occurred_at_then_event_id_and_wants_an_offset():
    assert stamp({"occurred_at": "2026-03-01T10:00:00+01:00", "event_id": "abc"}) == (AT, "abc")
    with pytest.raises(ValueError):
        stamp({"occurred_at": "2026-03-01T10:00:00", "event_id": "abc"})


def test_newer_orders_by_time_then_event_id_and_an_unstamped_row_is_oldest():
    assert newer((AT + timedelta(microseconds=1), "a"), AT, "z")
    assert not newer((AT - timedelta(microseconds=1), "z"), AT, "a")
    assert newer((AT, "b"), AT, "a") and not newer((AT, "a"), AT, "b") and not newer((AT, "a"), AT, "a")
    assert newer((AT.astimezone(timezone(timedelta(hours=2))), "b"), AT, "a")  # offsets compare as instants
    assert newer((AT, "a"), None, None)


def test_the_first_version_is_stored_and_tells_nothing():
    assert times_change(None, later(), *times(0), scheduled=True) == TimesChange(True, None, False)
    # an update first: it may have moved the activity; not known yet
    assert times_change(None, later(), *times(5), scheduled=False) == TimesChange(True, None, True)


def test_a_newer_update_with_other_times_is_a_move_caused_by_itself():
    assert times_change(known(0), later(), *times(5), scheduled=False) == TimesChange(True, "e-new", False)
    assert times_change(known(0), later(), *times(0), scheduled=False) == TimesChange(True, None, False)
    # stored before stamps were kept: any update is newer, as before
    assert times_change(known(0, at=None, event_id=None), later(), *times(5), scheduled=False) == TimesChange(
        True, "e-new", False)


def test_an_older_update_changes_nothing_and_never_moves_back():
    assert times_change(known(5), later(-1), *times(2), scheduled=False) == TimesChange(False, None, False)
    # same time: the event id decides
    assert times_change(known(5, event_id="e-b"), (AT, "e-a"), *times(2), scheduled=False) == TimesChange(
        False, None, False)


def test_a_late_scheduled_tells_the_move_of_the_update_stored_before_it():
    stored = known(5, event_id="e-update", move_unknown=True)
    assert times_change(stored, later(-60), *times(0), scheduled=True) == TimesChange(False, "e-update", False)
    # the update did not move it (another field changed): nothing to tell, and now known
    assert times_change(stored, later(-60), *times(5), scheduled=True) == TimesChange(False, None, False)


def test_a_scheduled_is_never_newer_than_a_stored_row():
    # its occurred_at after the stored update's (clock skew), or a row stored before stamps were kept
    assert times_change(known(5), later(), *times(0), scheduled=True) == TimesChange(False, None, False)
    assert times_change(known(5, at=None, event_id=None), later(), *times(0), scheduled=True) == TimesChange(
        False, None, False)


def test_after_an_update_first_the_next_version_finds_out_the_move():
    stored = known(5, event_id="e-update", move_unknown=True)
    # an older update with other times: the stored one moved the activity
    assert times_change(stored, later(-1), *times(2), scheduled=False) == TimesChange(False, "e-update", False)
    # an older update with the same times says nothing about the versions before it: still unknown
    assert times_change(stored, later(-1), *times(5), scheduled=False) == TimesChange(False, None, True)
    # a newer update with other times moves it (told by itself); with the same ones, still unknown
    assert times_change(stored, later(), *times(9), scheduled=False) == TimesChange(True, "e-new", False)
    assert times_change(stored, later(), *times(5), scheduled=False) == TimesChange(True, None, True)


def test_a_move_found_out_once_is_not_told_again_by_an_older_version():
    # the stored update was compared with an older version when it came (told, or no move)
    assert times_change(known(5, event_id="e-update"), later(-60), *times(0), scheduled=True) == TimesChange(
        False, None, False)
    assert times_change(known(5, event_id="e-update"), later(-1), *times(2), scheduled=False) == TimesChange(
        False, None, False)
