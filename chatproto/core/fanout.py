"""Room-wide events, coalesced per reactor turn and encoded once per codec.

A flood of N messages to M members costs one encoding per codec and M writes
per reactor turn, not N * M. The records of a turn wait in a batch; at the end
of the turn (a C{callLater(0)}) each codec in use encodes the batch once and
each member gets its codec's bytes as one write, the same bytes for everyone
on that door but the few who need a different share:

- a member that joined during the turn skips the records queued before it
  joined (its replay and welcome already cover them);
- a record may name one member it skips (a joiner's own `join` notice);
- a member that needs a reply of its own mid-turn (error, who, private
  message, BYE) is first caught up with its share, so it sees everything in
  server order.

A member's bytes go straight to its transport's socket while nothing waits for it
(L{write_as_is}, L{chatproto.core.outbox.Outbox.direct}): one system call per member,
with no call into its session, outbox or link in between (the last of 1,000 members waits
for the 999 writes before it: docs/performance.md). Only bytes that some member's own
L{IMember.send} may change (L{ICodec.same_for_all}: the IRC door's quit filter) go
through it.

Presence notices alone (join, leave, shutdown) may wait for more company:
during a storm of joins every member then gets one write per window instead
of one per join. A chat message ends the window at once. The window is
L{NOTICE_DELAY} at least, and grows with what writing the last window's
notices cost (L{notice_window}): in a room of 10,000 a window's writes take
tens of milliseconds, and a fixed window would let notices alone take most of
the core during a storm.

Every room has its own batcher, and they all end their turns together, on
one L{Turn}: a member of several rooms gets the shares of all of them in one
write, not one write per room.

With C{--fsync always} a batch that holds new messages is shown to nobody
until the history's fsync completes; later batches wait behind it so the
order never changes. When that fsync fails, the batch's messages are shown to
nobody and their senders are told `unavailable` (docs/protocol.md section 6).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.member import ICodec, IMember
from chatproto.core.observer import QUIET, IRoomObserver
from chatproto.core.outbox import unsent
from chatproto.seams.history import IHistoryStore
from chatproto.seams.hub import RoomEvent

#: How long a batch of notices only waits for more records, at least, in seconds.
NOTICE_DELAY = 0.025

#: How long it waits at most: how late a join or leave notice may come in a storm.
NOTICE_DELAY_MAX = 0.5

#: A window's wait is this many times what writing the last window's notices took, so
#: that notices alone keep to about a twentieth of the reactor's time in any room size.
NOTICE_COST_FACTOR = 19


def notice_window(last_cost: float) -> float:
    """How long the next batch of notices only waits for company, in seconds, when
    ending the last such batch took C{last_cost} seconds."""
    return min(NOTICE_DELAY_MAX, max(NOTICE_DELAY, NOTICE_COST_FACTOR * last_cost))


class Turn:
    """The end of the reactor turn, shared by every room's L{TurnBatcher}.

    Batchers with records ask it to L{schedule} them; when the turn ends it
    flushes each of them, collecting what every member is owed, then writes
    each member's bytes in one L{IMember.send}. C{observer} is told how long each
    turn's end took and how many messages each batch delivered.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        observer: IRoomObserver = QUIET,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._reactor = reactor
        self.observer = observer
        self._timer = timer
        # How long the next batch of notices only waits (see notice_window).
        self._notice_window = NOTICE_DELAY
        # The batchers with records waiting, in the order they asked (a dict as an
        # ordered set).
        self._due: dict[TurnBatcher, None] = {}
        self._call: IDelayedCall | None = None
        self._call_is_delayed = False
        # Set while flushing: each member's bytes, written once the batchers are done,
        # and the members some of whose bytes are not for everyone as they are.
        self._writes: dict[IMember, list[bytes]] | None = None
        self._tailored: set[IMember] = set()

    def schedule(self, batcher: TurnBatcher, soon: bool) -> None:
        """Flush C{batcher} at the end of this turn (C{soon}: it holds a chat message)
        or within the notice window (notices only)."""
        self._due[batcher] = None
        call = self._call
        if soon:
            if call is not None and self._call_is_delayed:
                call.cancel()
                call = None
            if call is None:
                self._call = self._reactor.callLater(0, self.flush)
                self._call_is_delayed = False
        elif call is None:
            self._call = self._reactor.callLater(self._notice_window, self.flush)
            self._call_is_delayed = True

    def flush(self) -> None:
        """End the turn now: flush every waiting batcher, then write each member once."""
        call, self._call = self._call, None
        notices_only = call is not None and self._call_is_delayed
        if call is not None and call.active():
            call.cancel()
        if self._writes is not None:  # already flushing: the loop below takes new ones
            return
        started = self._timer()
        if len(self._due) == 1:  # one room's batch: nothing to merge, written as it goes
            self._due.popitem()[0].flush()
        else:
            self._merge_and_write()
        cost = self._timer() - started
        if notices_only:
            self._notice_window = notice_window(cost)
        self.observer.turn_ended(cost)

    def _merge_and_write(self) -> None:
        """Flush every waiting batcher, gathering each member's bytes, then write them."""
        self._writes = {}
        try:
            while self._due:
                batcher = next(iter(self._due))
                del self._due[batcher]
                batcher.flush()
        finally:
            writes, self._writes = self._writes, None
            tailored, self._tailored = self._tailored, set()
        for member, pieces in writes.items():
            data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            if member in tailored:
                member.send(data)
            else:
                write_as_is(member, data)

    @property
    def merging(self) -> bool:
        """Whether the turn is ending for several rooms: L{send} then gathers each
        member's bytes, to write them once."""
        return self._writes is not None

    def send(self, member: IMember, data: bytes, as_is: bool = False) -> None:
        """Write C{data} to C{member} (C{as_is}: bytes its codec says go to everyone as
        they are, L{ICodec.same_for_all}): with the rest of its share when the turn is
        ending for several rooms, else at once."""
        writes = self._writes
        if writes is None:
            if as_is:
                write_as_is(member, data)
            else:
                member.send(data)
            return
        writes.setdefault(member, []).append(data)
        if not as_is:
            self._tailored.add(member)


def write_as_is(member: IMember, data: bytes) -> None:
    """Write C{data}, bytes for every member as they are, to C{member}: straight to its
    transport while nothing waits for it (one system call per member and turn: the
    fan-out's cost, docs/performance.md), else after what waits."""
    outbox = member.outbox
    outlet = outbox.direct
    if outlet is None:
        outbox.send(data)
        return
    rest = unsent(outlet, data)
    if rest:
        outbox.send(rest)


class TurnBatcher:
    """One room's outgoing queue of room-wide records (see the module docstring).

    C{members} are the room's members by holding key, as they are at each turn's end.
    C{lost} is called with the sender key of each message whose fsync failed.
    C{turn} is the turn end it shares with the other rooms' batchers (its own
    by default).
    """

    log = Logger()

    def __init__(
        self,
        reactor: IReactorTime,
        history: IHistoryStore,
        members: Mapping[str, IMember],
        lost: Callable[[str], None],
        turn: Turn | None = None,
    ) -> None:
        self._turn = turn if turn is not None else Turn(reactor)
        self._history = history
        self._members = members
        self._lost = lost
        self._durable = bool(history.durable_before_delivery)
        self._pending: list[RoomEvent] = []
        # Members whose share of the pending batch starts later than its start.
        self._cursors: dict[IMember, int] = {}
        self._pending_last_id = history.last_id
        # fsync=always: batches waiting for the fsync round to come, and the
        # callers waiting for the round in flight / the next one.
        self._unsynced: list[tuple[list[RoomEvent], int]] = []
        self._syncing = False
        self._waiting_current: list[Deferred[None]] = []
        self._waiting_next: list[Deferred[None]] = []
        #: The newest message id any member may have seen or has queued.
        self.visible_id = history.last_id
        # What the shares of the batch being delivered or caught up with are cut from.
        self._shares: _Shares | None = None

    def queue(self, entry: RoomEvent) -> None:
        """Add a record to this turn's batch."""
        self._pending.append(entry)
        if entry.message_id is not None:
            self._pending_last_id = entry.message_id
        self._turn.schedule(self, entry.message_id is not None)

    def replay_limit(self) -> int:
        """The newest id a joiner's replay may hold: everything up to it reaches the
        joiner by replay, everything after it live.

        The store's C{last_id} counts too: a store shared by several nodes learns
        where the live stream starts only once it has connected.
        """
        if self._durable:
            return self.visible_id
        return max(self._pending_last_id, self._history.last_id)

    def joined(self, member: IMember) -> None:
        """A member joins now: it skips what is already queued (its replay holds it)."""
        if self._durable:
            self.flush()  # the batches wait for their fsync; the joiner gets them live
        elif self._pending:
            self._cursors[member] = len(self._pending)

    def catch_up(self, member: IMember) -> bool:
        """Write C{member}'s share of the batch now, so a reply of its own comes after it.

        Returns False when that share is not ready to be shown (fsync=always).
        """
        if self._durable:
            return not (self._pending or self._unsynced or self._syncing)
        start = self._cursors.get(member, 0)
        if start < len(self._pending):
            self._turn.observer.delivered(self._write_share(member, self._pending, start))
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

        def deliver(result: Failure | None) -> None:
            self._syncing = False
            failed = isinstance(result, Failure)
            if failed:  # the store forgot every message not yet durable, queued ones too
                batches.extend(self._unsynced)
                self._unsynced = []
            for batch, last_id in batches:
                if failed:
                    batch = self._without_messages(batch)
                self._deliver(batch, {}, last_id)
            waiting, self._waiting_current = self._waiting_current, []
            for done in waiting:
                done.callback(None)
            if self._unsynced:
                self._sync_round()

        self._history.sync().addBoth(deliver)

    def _without_messages(self, batch: list[RoomEvent]) -> list[RoomEvent]:
        """The notices of a batch whose messages could not be made durable; their
        senders are told (the store has forgotten them)."""
        kept = []
        for entry in batch:
            if entry.sender_key is None:
                kept.append(entry)
            else:
                self._lost(entry.sender_key)
        return kept

    def _deliver(self, batch: list[RoomEvent], cursors: dict[IMember, int], last_id: int) -> None:
        self.visible_id = max(self.visible_id, last_id)
        if not batch:
            return
        try:
            self._deliver_to_each(batch, cursors)
        finally:
            self._shares = None

    def _deliver_to_each(self, batch: list[RoomEvent], cursors: dict[IMember, int]) -> None:
        records = [entry.record for entry in batch]
        sharing = self._sharing(batch, cursors)
        merging = self._turn.merging  # the hot loop: a test, not a call, per member
        recipients = list(self._members.values())
        # Each codec's bytes of the batch, and whether they go to every member as they are.
        encoded: dict[ICodec, tuple[bytes, bool]] = {}
        # Counted once per batch: the members sent the whole batch times its messages,
        # plus what the others' own shares held.
        messages = sum(entry.message_id is not None for entry in batch)
        shares = in_shares = 0
        for member in recipients:
            if sharing and member in sharing:
                in_shares += self._write_share(member, batch, cursors.get(member, 0))
                shares += 1
                continue
            codec = member.codec
            coded = encoded.get(codec)
            if coded is None:
                data = codec.encode_batch(records)
                coded = encoded[codec] = (data, codec.same_for_all(data))
            data, as_is = coded
            if merging:
                self._turn.send(member, data, as_is)
            elif as_is:
                write_as_is(member, data)
            else:
                member.send(data)
        self._turn.observer.delivered((len(recipients) - shares) * messages + in_shares)

    def _sharing(self, batch: list[RoomEvent], cursors: dict[IMember, int]) -> set[IMember]:
        """The members whose share is not the whole batch: joined during it (C{cursors}),
        skipped by one of its records, or senders whose codec leaves their own out."""
        sharing = set(cursors)
        members = self._members
        for entry in batch:
            skipped = members.get(entry.skip_key) if entry.skip_key is not None else None
            if skipped is not None:
                sharing.add(skipped)
            sender = members.get(entry.sender_key) if entry.sender_key is not None else None
            if sender is not None and not sender.codec.echoes_sender:
                sharing.add(sender)
        return sharing

    def _write_share(self, member: IMember, batch: list[RoomEvent], start: int) -> int:
        """Write C{member} the records of C{batch} from C{start} that are for it, and say
        how many messages it held. Each record is encoded once per codec however many
        members get a share: in a storm of joins or leaves every joiner or leaver gets
        one, of up to every record of the window (encoding each anew cost N^2
        encodings: docs/performance.md)."""
        shares = self._shares
        if shares is None or shares.batch is not batch:
            shares = self._shares = _Shares(batch)
        shares.index()
        key = member.key
        codec = member.codec
        encoded = shares.encoded(codec)
        messages = shares.messages_before[-1] - shares.messages_before[start]
        echoes = codec.echoes_sender
        # Cut around the few records not for it (its own join notice, its own messages
        # when its door does not echo them): slices, not a test per record, since in a
        # storm every joiner's share is up to the whole window.
        pieces: list[bytes] = []
        begin = start
        for index in shares.named.get(key, ()) if key is not None else ():
            entry = batch[index]
            if index >= start and (entry.skip_key == key or not echoes):
                pieces += encoded[begin:index]
                messages -= entry.message_id is not None
                begin = index + 1
        data = b"".join(encoded[begin:] if not pieces else pieces + encoded[begin:])
        if data:
            self._turn.send(member, data)
        return messages


class _Shares:
    """What the members' shares of one batch (a list that only grows) are cut from: each
    record encoded once per codec, the number of messages before each record, and for
    each member a record skips or was sent by, the indexes of those records."""

    def __init__(self, batch: list[RoomEvent]) -> None:
        self.batch = batch
        self.encodings: dict[ICodec, list[bytes]] = {}
        #: Messages among the first i records, for every i (the last: all of them).
        self.messages_before = [0]
        self.named: dict[str, list[int]] = {}

    def index(self) -> None:
        """Count and name the records added since the last call."""
        counted = self.messages_before
        named = self.named
        for index in range(len(counted) - 1, len(self.batch)):
            entry = self.batch[index]
            counted.append(counted[-1] + (entry.message_id is not None))
            if entry.skip_key is not None:
                named.setdefault(entry.skip_key, []).append(index)
            if entry.sender_key is not None and entry.sender_key != entry.skip_key:
                named.setdefault(entry.sender_key, []).append(index)

    def encoded(self, codec: ICodec) -> list[bytes]:
        """Every record of the batch encoded by C{codec}."""
        encoded = self.encodings.setdefault(codec, [])
        for entry in self.batch[len(encoded) :]:
            encoded.append(codec.encode(entry.record))
        return encoded
