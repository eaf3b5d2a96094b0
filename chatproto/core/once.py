"""An event that happens once, which any number of callers may wait for."""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed


class Once:
    """Something that happens at most once (a connection gone, a place given up).

    Who asks before it happened gets a Deferred that fires when it does; who asks
    after gets one that has fired already.
    """

    __slots__ = ("_happened", "_waiters")

    def __init__(self) -> None:
        self._happened = False
        # Who waits, made at the first waiter: one Once per connection, and most never
        # have one (memory per idle client).
        self._waiters: list[Deferred[None]] | None = None

    def when(self) -> Deferred[None]:
        """A Deferred that fires once it happened."""
        if self._happened:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        return waiter

    def happened(self) -> None:
        """It happened: fire every waiter; later calls do nothing."""
        if self._happened:
            return
        self._happened = True
        waiters, self._waiters = self._waiters or [], None
        for waiter in waiters:
            waiter.callback(None)
