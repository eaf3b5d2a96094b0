"""Room-wide frames, coalesced per reactor turn and written once per recipient.

A flood of N messages to M clients costs M writes per reactor turn, not N * M.
The frames of a turn wait in a batch; at the end of the turn (a C{callLater(0)})
each recipient gets the batch as one blob, the same bytes for everyone but the
few who need a different share:

- a client that joined during the turn skips the frames queued before it joined
  (its replay and welcome already cover them);
- a frame may name one member it skips (a joiner's own `join` notice);
- a client that needs a reply of its own mid-turn (error, who, private message,
  BYE) is first caught up with its share, so it sees everything in server order.

Presence notices alone (join, leave, shutdown) may wait up to L{NOTICE_DELAY}
for more company: during a storm of joins every member then gets one write
per window instead of one per join. A chat message ends the window at once.

With C{--fsync always} a batch that holds new messages is shown to nobody
until the history's fsync (in a thread) completes; later batches wait behind
it so the order never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from chatproto.history import IHistoryStore

if TYPE_CHECKING:
    from chatproto.protocol import ChatProtocol

#: How long a batch of notices only may wait for more frames, in seconds.
NOTICE_DELAY = 0.025

#: One queued frame and the key of the member it skips, if any.
Entry = tuple[bytes, str | None]


class TurnBatcher:
    """The room's outgoing queue of room-wide frames (see the module docstring)."""

    log = Logger()

    def __init__(
        self,
        reactor: IReactorTime,
        history: IHistoryStore,
        recipients: Callable[[], Iterable[tuple[str, ChatProtocol]]],
    ) -> None:
        self._reactor = reactor
        self._history = history
        self._recipients = recipients
        self._durable = bool(history.durable_before_delivery)
        self._pending: list[Entry] = []
        # Members whose share of the pending batch starts later than its start.
        self._cursors: dict[ChatProtocol, int] = {}
        self._pending_last_id = history.last_id
        self._flush_call: IDelayedCall | None = None
        self._flush_is_delayed = False
        # fsync=always: batches waiting for the fsync round to come, and the
        # callers waiting for the round in flight / the next one.
        self._unsynced: list[tuple[list[Entry], int]] = []
        self._syncing = False
        self._waiting_current: list[Deferred[None]] = []
        self._waiting_next: list[Deferred[None]] = []
        #: The newest message id any client may have seen.
        self.visible_id = history.last_id

    def queue(self, data: bytes, skip_key: str | None, message_id: int | None = None) -> None:
        """Add a frame to this turn's batch (C{message_id} when it is a stored message)."""
        self._pending.append((data, skip_key))
        call = self._flush_call
        if message_id is not None:
            self._pending_last_id = message_id
            if call is not None and self._flush_is_delayed:
                call.cancel()
                call = None
            if call is None:
                self._flush_call = self._reactor.callLater(0, self.flush)
                self._flush_is_delayed = False
        elif call is None:
            self._flush_call = self._reactor.callLater(NOTICE_DELAY, self.flush)
            self._flush_is_delayed = True

    def replay_limit(self) -> int:
        """The newest id a joiner's replay may hold: what is stored, or, with
        fsync=always, what is durable and shown."""
        return self.visible_id if self._durable else self._history.last_id

    def joined(self, member: ChatProtocol) -> None:
        """A member joins now: it skips what is already queued (its replay holds it)."""
        if self._durable:
            self.flush()  # the batches wait for their fsync; the joiner gets them live
        elif self._pending:
            self._cursors[member] = len(self._pending)

    def catch_up(self, member: ChatProtocol) -> bool:
        """Write C{member}'s share of the batch now, so a reply of its own comes after it.

        Returns False when that share is not ready to be shown (fsync=always).
        """
        if self._durable:
            return not (self._pending or self._unsynced or self._syncing)
        start = self._cursors.get(member, 0)
        if start < len(self._pending):
            self._write_share(member, self._pending, start)
            self._cursors[member] = len(self._pending)
        return True

    def when_delivered(self) -> Deferred[None]:
        """Fires once everything queued so far has been written (fsync=always)."""
        self.flush()
        done: Deferred[None] = Deferred()
        if self._unsynced:
            self._waiting_next.append(done)
        elif self._syncing:
            self._waiting_current.append(done)
        else:
            done.callback(None)
        return done

    def flush(self) -> None:
        """End the turn: write the batch to everyone (or hand it to an fsync round)."""
        if self._flush_call is not None:
            if self._flush_call.active():
                self._flush_call.cancel()
            self._flush_call = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        cursors, self._cursors = self._cursors, {}
        if self._syncing or (self._durable and self._pending_last_id > self.visible_id):
            self._unsynced.append((batch, self._pending_last_id))
            if not self._syncing:
                self._sync_round()
            return
        self._deliver(batch, cursors, self._pending_last_id)

    def _sync_round(self) -> None:
        batches, self._unsynced = self._unsynced, []
        self._waiting_current, self._waiting_next = self._waiting_next, []
        self._syncing = True

        def deliver(_: object) -> None:
            self._syncing = False
            for batch, last_id in batches:
                self._deliver(batch, {}, last_id)
            waiting, self._waiting_current = self._waiting_current, []
            for done in waiting:
                done.callback(None)
            if self._unsynced:
                self._sync_round()

        synced = self._history.sync()
        # The records are in the file already; a failed fsync is logged and
        # the messages are shown, as with --fsync never.
        synced.addErrback(lambda failure: self.log.failure("fsync failed", failure))
        synced.addCallback(deliver)

    def _deliver(self, batch: list[Entry], cursors: dict[ChatProtocol, int], last_id: int) -> None:
        self.visible_id = last_id
        everyone = b"".join(data for data, _ in batch)
        skipping = {key for _, key in batch if key is not None}
        for key, member in list(self._recipients()):
            start = cursors.get(member, 0)
            if start or key in skipping:
                self._write_share(member, batch, start)
            else:
                member.send(everyone)

    @staticmethod
    def _write_share(member: ChatProtocol, batch: list[Entry], start: int) -> None:
        key = member.key
        share = b"".join(data for data, skip in batch[start:] if skip != key)
        if share:
            member.send(share)
