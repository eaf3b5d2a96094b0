"""One node's writes to Redis: every write of a reactor turn in one script call.

Chat messages, notices, private messages, nickname claims and releases queue here in the order
the room makes them and go to Redis as one L{WRITE} call per reactor turn, so
what one node writes reaches the shared feed in the order it was written. At
most one call is in flight; what queues meanwhile goes in the next one (under
load, fewer and larger round trips).

While Redis cannot be reached, chat messages and claims fail at once (the
room answers `unavailable` or RETRY); notices and releases are kept, up to
L{MAX_KEPT}, and written when Redis is back, so that a nickname freed during
an outage is freed in Redis too and the other nodes still hear of it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.seams.redis.client import RedisConnection, RedisUnavailable
from chatproto.seams.redis.scripts import WRITE, Keys

#: Writes of one script call at most (a script blocks Redis while it runs).
MAX_BATCH = 2000
#: Notices and releases kept for a Redis that is down, at most.
MAX_KEPT = 10000
#: Writes waiting for Redis at most; past it chat and claims are refused (a Redis that
#: does not keep up must not make a node's memory grow without bound).
MAX_QUEUED = 50000

CHAT, NOTICE, PRIVATE, CLAIM, TAKE_OVER, TOKEN, RELEASE = b"c", b"n", b"p", b"j", b"r", b"k", b"l"
LOGIN, TAKE_OVER_LOGIN = b"a", b"A"
# The writes about a room beside the default one (and topics): see scripts.WRITE.
ROOM_CHAT, ROOM_NOTICE, ROOM_OPEN, ROOM_JOIN, ROOM_PART, TOPIC, ROOM_FORGET = (
    b"C", b"N", b"O", b"J", b"L", b"T", b"F"
)  # fmt: skip
OUTSIDE = b"x"


class _Write(NamedTuple):
    kind: bytes
    a: bytes
    b: bytes
    c: bytes
    #: Fires with the script's result for it; None for the kept kinds.
    done: Deferred[Any] | None


class FeedWriter:
    """Queues this node's writes and sends them once per turn (see the module)."""

    log = Logger()

    def __init__(
        self,
        connection: RedisConnection,
        reactor: IReactorTime,
        node_id: str,
        retain: int,
        newest_id: Callable[[], int],
    ) -> None:
        self._connection = connection
        self._reactor = reactor
        self._node_id = node_id
        self._retain = retain
        self._newest_id = newest_id
        self._queue: deque[_Write] = deque()
        self._call: IDelayedCall | None = None
        self._in_flight = False
        self._idle_waiters: list[Deferred[None]] = []
        #: Round trips made (for the benchmark's figures).
        self.calls = 0

    @property
    def accepting(self) -> bool:
        """Whether a chat message or a claim can be written now."""
        return self._connection.up and len(self._queue) < MAX_QUEUED

    def chat(self, fields: bytes) -> Deferred[int]:
        """Store a chat record (see L{IHistoryStore.add}); fires with its id."""
        return self._add(CHAT, fields)

    def claim(self, key: str, encoded_nickname: bytes, token_hash: bytes) -> Deferred[int]:
        """Claim a nickname key for a member whose resume token has C{token_hash}; fires
        with its join order, 0 when it is held."""
        return self._add(CLAIM, key.encode("utf-8"), encoded_nickname, token_hash)

    def take_over(self, key: str, offered_hash: bytes, token_hash: bytes) -> Deferred[Any]:
        """Move a key held on another node here when C{offered_hash} is its token's hash;
        fires with its nickname (a JSON string) and its holder's account (b"" for none),
        0 when it was not taken over."""
        return self._add(TAKE_OVER, key.encode("utf-8"), offered_hash, token_hash)

    def take_over_login(self, key: str, account: str, token_hash: bytes) -> Deferred[Any]:
        """Move a key held on another node here when its holder is logged in to
        C{account}; fires as L{take_over} does."""
        return self._add(TAKE_OVER_LOGIN, key.encode("utf-8"), account.encode("utf-8"), token_hash)

    def login(self, key: str, account: str | None) -> None:
        """Record the account this node's holder of C{key} is logged in to (None: none),
        kept through an outage."""
        self._keep(LOGIN, key.encode("utf-8"), (account or "").encode("utf-8"))

    def token(self, key: str, token_hash: bytes) -> None:
        """Record a new resume token for a key this node holds (kept through an outage)."""
        self._keep(TOKEN, key.encode("utf-8"), b"", token_hash)

    def notice(self, record: bytes, skip_key: str | None) -> None:
        """Put a notice on the feed (kept through an outage)."""
        self._keep(NOTICE, record, (skip_key or "").encode("utf-8"))

    def private(self, record: bytes, to_key: str) -> None:
        """Put a private message for C{to_key}'s node on the feed (kept through an outage)."""
        self._keep(PRIVATE, record, to_key.encode("utf-8"))

    def release(self, key: str, leave: bytes = b"") -> None:
        """Free a nickname key this node holds (kept through an outage), at once: the
        write leaves before the member's connection is closed, so the nickname is free
        before its holder can see it gone. C{leave}: a notice to put on the feed if
        (only if) this node still held the key."""
        self._keep(RELEASE, key.encode("utf-8"), leave)
        if self._call is not None and not self._in_flight:
            self._call.cancel()
            self._send()

    def room_chat(self, room: str, fields: bytes) -> Deferred[int]:
        """Store a chat record of the room C{room} (a key); fires with its id there."""
        return self._add(ROOM_CHAT, room.encode("utf-8"), fields)

    def room_notice(self, room: str, record: bytes, skip_key: str | None) -> None:
        """Put a notice on the feed of the room C{room} (kept through an outage)."""
        self._keep(ROOM_NOTICE, room.encode("utf-8"), record, (skip_key or "").encode("utf-8"))

    def room_join(self, room: str, name: str, key: str, encoded_nickname: bytes) -> None:
        """Put the holder of C{key} in the room C{room} (display name C{name}, kept if the
        room is new), announced on its feed (kept through an outage)."""
        self._keep(ROOM_OPEN, room.encode("utf-8"), name.encode("utf-8"))
        self._keep(ROOM_JOIN, room.encode("utf-8"), key.encode("utf-8"), encoded_nickname)

    def room_part(self, room: str, key: str) -> None:
        """Take the holder of C{key} out of the room C{room} (kept through an outage)."""
        self._keep(ROOM_PART, room.encode("utf-8"), key.encode("utf-8"))

    def topic(self, room: str | None, topic: str) -> None:
        """Keep the topic of C{room} (None: the default room) and announce it on its feed."""
        self._keep(TOPIC, (room or "").encode("utf-8"), topic.encode("utf-8"))

    def outside(self, key: str, outside: bool) -> None:
        """The holder of C{key} parted the default room (C{outside}) or joined it again
        (kept through an outage)."""
        self._keep(OUTSIDE, key.encode("utf-8"), b"1" if outside else b"0")

    def forget_room(self, room: str) -> None:
        """Let the room C{room} cease to exist if nobody is in it and it stores nothing."""
        self._keep(ROOM_FORGET, room.encode("utf-8"), b"")

    def _keep(self, kind: bytes, a: bytes, b: bytes, c: bytes = b"") -> None:
        self._queue.append(_Write(kind, a, b, c, None))
        self._schedule()

    def _add(self, kind: bytes, a: bytes, b: bytes = b"", c: bytes = b"") -> Deferred[Any]:
        if len(self._queue) >= MAX_QUEUED:
            return fail(RedisUnavailable("Redis is not keeping up with this node's writes"))
        done: Deferred[Any] = Deferred()
        self._queue.append(_Write(kind, a, b, c, done))
        self._schedule()
        return done

    def resume(self) -> None:
        """Redis is reachable again: write what was kept."""
        self._schedule()

    def idle(self) -> Deferred[None]:
        """Fires once everything queued so far is written (or Redis is down)."""
        if not self._queue and not self._in_flight:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._idle_waiters.append(waiter)
        self._schedule()
        return waiter

    def _schedule(self) -> None:
        if self._call is None and not self._in_flight:
            self._call = self._reactor.callLater(0, self._send)

    def _send(self) -> None:
        self._call = None
        if not self._connection.up:
            self._fail_unkept(RedisUnavailable(f"no connection to {self._connection.address}"))
            self._tell_idle()
            return
        if not self._queue:
            self._tell_idle()
            return
        count = min(len(self._queue), MAX_BATCH)
        batch = [self._queue.popleft() for _ in range(count)]
        args: list[bytes | str | int] = [self._node_id, self._retain, self._newest_id()]
        for write in batch:
            args += (write.kind, write.a, write.b, write.c)
        self._in_flight = True
        self.calls += 1
        reply = self._connection.run(WRITE, Keys.all, args)
        reply.addCallbacks(
            self._written, self._refused, callbackArgs=(batch,), errbackArgs=(batch,)
        )

    def _written(self, results: list[Any], batch: list[_Write]) -> None:
        self._in_flight = False
        for write, result in zip(batch, results, strict=True):
            if write.done is not None:
                write.done.callback(result)
        self._after_call()

    def _refused(self, failure: Failure, batch: list[_Write]) -> None:
        self._in_flight = False
        if not failure.check(RedisUnavailable):  # type: ignore[no-untyped-call]
            self.log.failure("Redis refused the writes of a turn", failure, event_kind="node")
        # A kept write goes back to the front, in order, for the next try.
        self._queue.extendleft(reversed([w for w in batch if w.done is None]))
        for write in batch:
            if write.done is not None:
                write.done.errback(failure)
        self._after_call()

    def _after_call(self) -> None:
        if self._queue and self._connection.up:
            self._schedule()
        else:
            self._fail_unkept(RedisUnavailable(f"no connection to {self._connection.address}"))
            self._tell_idle()

    def _fail_unkept(self, error: Exception) -> None:
        """Fail the writes that are not kept through an outage; bound the kept ones."""
        kept: deque[_Write] = deque()
        failed: list[_Write] = []
        for write in self._queue:
            (kept if write.done is None else failed).append(write)
        dropped = len(kept) - MAX_KEPT
        if dropped > 0:
            self.log.error(
                "Redis is down: {count} notices dropped", count=dropped, event_kind="node"
            )
            for _ in range(dropped):
                kept.popleft()
        self._queue = kept
        for write in failed:
            assert write.done is not None
            write.done.errback(error)

    def _tell_idle(self) -> None:
        if self._queue and self._connection.up:
            return
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            waiter.callback(None)
