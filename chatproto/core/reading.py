"""Reading nothing more from a peer until a command is answered, on every door: a
connection's commands that wait for a store or a hash are then one at a time, and
their answers come in the order they were asked."""

from __future__ import annotations

from typing import Protocol, TypeVar

from twisted.internet.defer import Deferred

_T = TypeVar("_T")


class HoldsReading(Protocol):
    """A connection whose reading can be held (L{chatproto.core.connection.Connection})."""

    def hold_reading(self) -> None: ...
    def release_reading(self) -> None: ...


def hold_reading_until(connection: HoldsReading, done: Deferred[_T]) -> Deferred[_T]:
    """Hold C{connection}'s reading until C{done} fires, either way, and release it
    exactly once; C{done} is returned with its result or failure passed through. Add
    what answers the client to C{done} first, so that the answer goes before reading
    resumes. Nothing is held for what is answered already.

    Whether C{done} is answered is what its own callback sees, not C{done.called}: a
    Deferred waiting on another one (a redaction on the store) has been called and
    is still unanswered."""
    held = answered = False

    def settled(result: _T) -> _T:
        nonlocal answered
        answered = True
        if held:
            connection.release_reading()
        return result

    done.addBoth(settled)
    if not answered:
        held = True
        connection.hold_reading()
    return done
