"""The window a batch of presence notices waits in grows with what writing them costs."""

from __future__ import annotations

from typing import cast

from twisted.internet.task import Clock

from chatproto.core.fanout import (
    NOTICE_DELAY,
    NOTICE_DELAY_MAX,
    Turn,
    TurnBatcher,
    notice_window,
)


class CostlyBatcher:
    """A room's batch whose writing takes C{cost} seconds on the turn's timer."""

    def __init__(self, timer: list[float], cost: float) -> None:
        self.timer = timer
        self.cost = cost
        self.flushes = 0

    def flush(self) -> None:
        """Write the batch: the timer moves on by its cost."""
        self.flushes += 1
        self.timer[0] += self.cost


def turn_with(cost: float) -> tuple[Turn, Clock, CostlyBatcher]:
    """A turn on a fake reactor and a fake timer, with one room whose batch costs C{cost}."""
    clock = Clock()
    timer = [0.0]
    turn = Turn(clock, timer=lambda: timer[0])
    return turn, clock, CostlyBatcher(timer, cost)


def next_notice_wait(turn: Turn, clock: Clock, batcher: CostlyBatcher) -> float:
    """Queue notices only, and say how long the turn waits before writing them."""
    turn.schedule(cast(TurnBatcher, batcher), soon=False)
    (call,) = clock.getDelayedCalls()
    wait = call.getTime() - clock.seconds()
    clock.advance(wait)
    return round(wait, 9)  # the fake clock's seconds are large floats


def test_the_window_is_never_shorter_than_the_notice_delay_nor_longer_than_its_bound() -> None:
    assert notice_window(0.0) == NOTICE_DELAY
    assert notice_window(0.001) == NOTICE_DELAY
    assert notice_window(0.01) == 0.19
    assert notice_window(10.0) == NOTICE_DELAY_MAX


def test_a_cheap_room_keeps_the_short_window() -> None:
    turn, clock, batcher = turn_with(cost=0.0005)
    waits = [next_notice_wait(turn, clock, batcher) for _ in range(3)]
    assert waits == [NOTICE_DELAY] * 3
    assert batcher.flushes == 3


def test_a_costly_room_waits_longer_so_notices_keep_a_twentieth_of_the_time() -> None:
    turn, clock, batcher = turn_with(cost=0.02)
    first = next_notice_wait(turn, clock, batcher)
    second = next_notice_wait(turn, clock, batcher)
    assert first == NOTICE_DELAY
    assert second == 0.38  # 19 x 20 ms: writing takes a twentieth of the time
    assert batcher.flushes == 2


def test_the_window_shrinks_back_when_writing_gets_cheap_again() -> None:
    turn, clock, batcher = turn_with(cost=1.0)
    next_notice_wait(turn, clock, batcher)
    assert next_notice_wait(turn, clock, batcher) == NOTICE_DELAY_MAX
    batcher.cost = 0.0
    next_notice_wait(turn, clock, batcher)
    assert next_notice_wait(turn, clock, batcher) == NOTICE_DELAY


def test_a_chat_message_does_not_wait_for_the_window() -> None:
    turn, clock, batcher = turn_with(cost=1.0)
    next_notice_wait(turn, clock, batcher)  # the window is now long
    turn.schedule(cast(TurnBatcher, batcher), soon=False)
    turn.schedule(cast(TurnBatcher, batcher), soon=True)
    (call,) = clock.getDelayedCalls()
    assert call.getTime() == clock.seconds()
    clock.advance(0)
    assert batcher.flushes == 2


def test_a_turn_ended_by_a_chat_message_leaves_the_window_as_it_was() -> None:
    turn, clock, batcher = turn_with(cost=0.02)
    next_notice_wait(turn, clock, batcher)
    batcher.cost = 1.0
    turn.schedule(cast(TurnBatcher, batcher), soon=True)
    clock.advance(0)
    assert next_notice_wait(turn, clock, batcher) == 0.38
