"""The one rule for a tick's `as_of`: later only, and only where the local stack allows it."""

from datetime import UTC, datetime, timedelta

from siyu.services.ticks import Tick

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_tick_runs_at_the_clock_unless_the_local_stack_plays_time_forward() -> None:
    ahead = Tick(as_of=NOW + timedelta(days=3))
    assert Tick().now(NOW, allow_as_of=True) == NOW
    assert ahead.now(NOW, allow_as_of=True) == NOW + timedelta(days=3)
    assert ahead.now(NOW, allow_as_of=False) == NOW  # production ignores it
    assert Tick(as_of=NOW - timedelta(days=1)).now(NOW, allow_as_of=True) == NOW  # never back


def test_whatever_else_the_scheduler_sends_is_ignored() -> None:
    assert Tick.model_validate({"job": "followups", "as_of": None}).as_of is None
