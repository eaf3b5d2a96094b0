"""One timer for the idle checks of every session of an IRC door.

A Twisted C{DelayedCall} per client costs about half a KiB of every idle connection
(docs/performance.md, "Memory per idle client"); a heap of small entries under one
C{DelayedCall} keeps each check's exact time for a fraction of it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count

from twisted.internet.interfaces import IDelayedCall, IReactorTime


class Watch:
    """A pending check: its time, its order among checks due together, and the check
    (None once cancelled)."""

    __slots__ = ("check", "order", "when")

    def __init__(self, when: float, order: int, check: Callable[[], None]) -> None:
        self.when = when
        self.order = order
        self.check: Callable[[], None] | None = check

    def __lt__(self, other: Watch) -> bool:
        return (self.when, self.order) < (other.when, other.order)


class IdleWatches:
    """Calls each check at its time, in the order asked among those due together, as
    C{clock.callLater} would, with one timer of C{clock} for all of them."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._pending: list[Watch] = []
        self._order = count()
        self._timer: IDelayedCall | None = None
        self._cancelled = 0

    def watch(self, delay: float, check: Callable[[], None]) -> Watch:
        """Call C{check} in C{delay} seconds (unless the returned L{Watch} is cancelled)."""
        entry = Watch(self._clock.seconds() + delay, next(self._order), check)
        heapq.heappush(self._pending, entry)
        timer = self._timer
        if timer is None:
            self._timer = self._clock.callLater(delay, self._fire)
        elif entry.when < timer.getTime():
            timer.reset(delay)
        return entry

    def __len__(self) -> int:
        """How many places the checks hold, cancelled ones not dropped yet included."""
        return len(self._pending)

    def cancel(self, entry: Watch) -> None:
        """Do not call the check of C{entry}. Its place is dropped when its time comes,
        or at once for all of them when more than half the places are cancelled ones (as
        Twisted's reactor does), so that connections that come and go leave no pile."""
        if entry.check is None:
            return
        entry.check = None
        self._cancelled += 1
        pending = self._pending
        if self._cancelled > len(pending) // 2:
            pending[:] = [kept for kept in pending if kept.check is not None]
            heapq.heapify(pending)
            self._cancelled = 0

    def _fire(self) -> None:
        """Call every check that is due, then wait for the next one (also after a check
        that raised: the reactor logs it, the others still run)."""
        self._timer = None
        pending, now = self._pending, self._clock.seconds()
        try:
            while pending and pending[0].when <= now:
                check = heapq.heappop(pending).check
                if check is None:
                    self._cancelled -= 1
                else:
                    check()
        finally:
            if pending and self._timer is None:
                delay = max(0.0, pending[0].when - now)
                self._timer = self._clock.callLater(delay, self._fire)
