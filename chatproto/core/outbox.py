"""One member's output, bounded (docs/protocol.md section 7, `--sendq-bytes`).

The door tells the outbox when its transport's buffer is full (L{pause}) and
empty again (L{resume}); while full, what is written is counted, and past the
bound the member is cut off as slow, the others unaffected. A replay is
streamed at the reader's pace, with what is sent meanwhile held behind it
against the same bound, so a resuming client that does not read costs the
server a bounded amount, however much history it asked for.

While nothing waits, in the outbox or in the door's transport, the outbox shows the
door's L{Outlet} as L{Outbox.direct}: the fan-out writes a turn's bytes straight to
it, one call per member (docs/performance.md, "Third pass").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Protocol

#: A streamed replay is written in pieces of about this size.
STREAM_CHUNK_BYTES = 65536


class Outlet(Protocol):
    """Where a door writes at once (a non-blocking socket): takes what it can of C{data}
    now and says how many bytes it took; raises L{OSError} when it takes nothing."""

    def send(self, data: bytes, /) -> int:
        """Write what fits of C{data} now; the number of bytes written."""


def unsent(outlet: Outlet, data: bytes) -> bytes:
    """Write what C{outlet} takes of C{data} now; return the rest (all of it when it
    takes nothing: EAGAIN, or an error the transport's own write will report)."""
    try:
        sent = outlet.send(data)
    except OSError:
        return data
    return data[sent:] if sent < len(data) else b""


class OutboxOwner(Protocol):
    """Whom an outbox tells when its member is too slow or a stream is written."""

    def outbox_overflowed(self) -> None:
        """More than the limit is owed: the member is cut off as slow."""

    def outbox_streamed(self) -> None:
        """The stream that L{Outbox.close_after_stream} waited for is written."""


class Outbox:
    """Writes to one connection through C{write}; tells C{owner} past C{limit} bytes
    owed (0: no limit) and when a stream that L{close_after_stream} waits for is done.

    Its door tells it when its transport has nothing queued (L{open_outlet}) and when
    it has (L{close_outlet}).
    """

    # One per connection: no per-instance dict (memory per idle client), and the owner
    # rather than two bound methods of it (64 bytes each).
    __slots__ = (
        "_backlog",
        "_close_when_streamed",
        "_held",
        "_held_bytes",
        "_holding",
        "_limit",
        "_outlet",
        "_owner",
        "_paused",
        "_queued_while_paused",
        "_stopped",
        "_write_out",
        "direct",
    )  # fmt: skip

    def __init__(self, write: Callable[[bytes], None], limit: int, owner: OutboxOwner) -> None:
        self._write_out = write
        self._limit = limit
        self._owner = owner
        # Set while the transport's buffer is over its size; bytes written since.
        self._paused = False
        self._queued_while_paused = 0
        # A stream still being written (or awaited: _holding without a backlog), and
        # what is sent meanwhile, held behind it.
        self._holding = False
        self._backlog: Iterator[bytes] | None = None
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._close_when_streamed = False
        self._stopped = False
        # The door's outlet while its transport has nothing queued.
        self._outlet: Outlet | None = None
        #: The door's outlet while nothing waits here or in the transport, else None:
        #: bytes for this member may be written to it at once, what it does not take
        #: handed to L{send}.
        self.direct: Outlet | None = None

    @property
    def streaming(self) -> bool:
        """Whether a stream is still being written (or awaited)."""
        return self._holding

    def send(self, data: bytes) -> None:
        """Write C{data} after everything before it (held behind a stream if one runs)."""
        if self._stopped:
            return
        if self._holding:
            self._held.append(data)
            self._held_bytes += len(data)
            if self._held_bytes > self._limit > 0:
                self._owner.outbox_overflowed()
        else:
            self._write(data)

    def hold(self) -> None:
        """Hold what is sent from now on until L{stream} starts (a store answers later)."""
        if not self._holding:
            self._holding = True
            self._held = []
            self.direct = None

    def stream(self, pieces: Iterator[bytes]) -> None:
        """Write C{pieces} as fast as the reader takes them, then what was held; while
        another stream runs, after it and what was held meanwhile."""
        if self._stopped:
            return
        if self._backlog is not None:
            held, self._held = self._held, []
            self._held_bytes = 0
            self._backlog = itertools.chain(self._backlog, held, pieces)
            return
        if not self._holding:
            self._holding = True
            self._held = []
            self.direct = None
        self._backlog = pieces
        self._pump()

    def close_after_stream(self) -> bool:
        """Ask for C{streamed} once the stream is written; False when none runs."""
        if not self._holding:
            return False
        self._close_when_streamed = True
        return True

    def stop(self) -> None:
        """Write nothing more (the connection is gone or aborted)."""
        self._stopped = True
        self._holding = False
        self._backlog = None
        self._held = []
        self._outlet = self.direct = None

    def pause(self) -> None:
        """The transport's buffer is full: count what waits from now on."""
        if not self._paused:
            self._paused = True
            self._queued_while_paused = 0
            self.direct = None

    def resume(self) -> None:
        """The transport's buffer is empty again: go on with the stream, if any."""
        self._paused = False
        self._queued_while_paused = 0
        if self._backlog is not None:
            self._pump()
        self._show_outlet()

    def open_outlet(self, outlet: Outlet) -> None:
        """The transport has nothing queued: while this outbox holds nothing either,
        bytes may go straight to C{outlet} (L{direct})."""
        if self._outlet is None:
            self._outlet = outlet
            self._show_outlet()

    def close_outlet(self) -> None:
        """The transport has bytes queued, or is closing: everything goes through L{send}."""
        self._outlet = self.direct = None

    def _show_outlet(self) -> None:
        idle = not (self._paused or self._holding or self._stopped)
        self.direct = self._outlet if idle else None

    def _pump(self) -> None:
        while self._backlog is not None and not self._paused and not self._stopped:
            chunk: list[bytes] = []
            size = 0
            for data in self._backlog:
                chunk.append(data)
                size += len(data)
                if size >= STREAM_CHUNK_BYTES:
                    break
            else:  # the stream is done: what was held goes right after it
                chunk.extend(self._held)
                self._holding = False
                self._backlog = None
                self._held = []
                self._held_bytes = 0
                self._write(b"".join(chunk))
                self._show_outlet()
                if self._close_when_streamed:
                    self._owner.outbox_streamed()
                return
            self._write(b"".join(chunk))

    def _write(self, data: bytes) -> None:
        if self._paused:
            self._queued_while_paused += len(data)
            if self._queued_while_paused > self._limit > 0:
                self._owner.outbox_overflowed()
                return
        if data:
            self._write_out(data)
