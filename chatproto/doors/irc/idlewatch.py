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

    def cancel(self) -> None:
        """Do not call the check (its place is dropped when its time comes)."""
        self.check = None


class IdleWatches:
    """Calls each check at its time, in the order asked among those due together, as
    C{clock.callLater} would, with one timer of C{clock} for all of them."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._pending: list[Watch] = []
        self._order = count()
        self._timer: IDelayedCall | None = None

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

    def _fire(self) -> None:
        """Call every check that is due, then wait for the next one."""
        self._timer = None
        pending, now = self._pending, self._clock.seconds()
        while pending and pending[0].when <= now:
            check = heapq.heappop(pending).check
            if check is not None:
                check()
        if pending and self._timer is None:
            self._timer = self._clock.callLater(max(0.0, pending[0].when - now), self._fire)
