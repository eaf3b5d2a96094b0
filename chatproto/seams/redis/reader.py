"""One node's reading of the shared feeds: blocking XREAD on a connection of its own.

Every node reads the feed in its one order and hands each entry on: records
(chat and notices) to the room, presence changes to the nickname mirror.
Besides it, the same XREAD reads the feed of each room beside the default one
that has a member on this node, and only those: a room is followed from the
first local member's join and dropped after the last one leaves (the blocked
read is woken with CLIENT UNBLOCK to take the change). After a lost connection
it goes on from the last entry it read of each feed, so a short outage loses
nothing (a feed keeps its newest C{FEED_LENGTH} entries or so).
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.nicknames import holding_key
from chatproto.core.records import sender_of
from chatproto.seams.hub import RoomEvent
from chatproto.seams.redis.client import RedisConnection, RedisUnavailable
from chatproto.seams.redis.scripts import PREFIX, Keys

#: Entries one read returns at most.
READ_COUNT = 1000
#: Milliseconds one blocking read waits for news before it asks again.
BLOCK_MS = 5000
#: Seconds before a read that Redis refused is tried again.
RETRY_DELAY = 1.0
#: Seconds between tries to wake a read that had not yet blocked when a room was followed.
WAKE_RETRY = 0.005


def room_feed(room: str) -> bytes:
    """The key of the feed of the room C{room} (a room key) beside the default one."""
    return f"{PREFIX}room:{room}:feed".encode()


class FeedListener(Protocol):
    """Where the entries of the feed go."""

    def record(self, event: RoomEvent) -> None:
        """A chat message (with its id), a notice or a private message, for the room."""

    def claimed(self, key: str, encoded_nickname: bytes, order: int) -> None:
        """A node claimed a nickname key."""

    def freed(self, key: str, order: int) -> None:
        """The claim of C{key} with join order C{order} ended."""

    def moved(self, key: str, from_node: str) -> None:
        """A node took over C{key} from node C{from_node} (a resume token)."""

    def outside(self, key: str, outside: bool) -> None:
        """The holder of C{key} parted the default room (C{outside}) or joined it again."""

    def logged_in(self, key: str, account: str | None) -> None:
        """The holder of C{key} logged in to C{account} (None: out)."""

    def topic(self, room: str | None, topic: str) -> None:
        """The topic of C{room} (None: the default room) changed."""

    def moderated(self, change: bytes, node_id: str) -> None:
        """The node C{node_id} changed moderation (C{change}: JSON)."""


class RoomListener(Protocol):
    """Where the entries of a followed room's feed go."""

    def record(self, event: RoomEvent) -> None:
        """A chat message or notice of the room."""

    def claimed(self, key: str, encoded_nickname: bytes, order: int) -> None:
        """A member joined the room."""

    def freed(self, key: str, order: int) -> None:
        """The member of C{key} with join order C{order} left the room."""

    def topic(self, topic: str) -> None:
        """The room's topic changed."""


class FeedReader:
    """Reads the feed after C{position} (a stream entry id), and the feeds of the rooms
    it follows, while its connection is up."""

    log = Logger()

    def __init__(
        self,
        connection: RedisConnection,
        listener: FeedListener,
        reactor: IReactorTime,
        waker: RedisConnection,
    ) -> None:
        self._connection = connection
        self._reactor = reactor
        self._listener = listener
        #: The connection that wakes a blocked read (CLIENT UNBLOCK).
        self._waker = waker
        self.position: bytes | None = None
        #: The followed rooms' feeds: key to (room listener, position).
        self._rooms: dict[bytes, tuple[RoomListener, bytes]] = {}
        self._reading: Deferred[Any] | None = None
        #: The streams the read in flight reads, and the Redis client id that reads.
        self._read_streams: frozenset[bytes] = frozenset()
        self._client_id: int | None = None
        self._stopped = False

    @property
    def followed(self) -> frozenset[bytes]:
        """The keys of the room feeds this node reads."""
        return frozenset(self._rooms)

    def start_at(self, position: bytes) -> None:
        """Read every entry after C{position}, from now on."""
        self.position = position
        self.read()

    def follow(self, room: str, listener: RoomListener, position: bytes) -> None:
        """Read the feed of the room C{room} after C{position} too, handing it to
        C{listener}, until L{unfollow}."""
        self._rooms[room_feed(room)] = (listener, position)
        self._wake()

    def unfollow(self, room: str) -> None:
        """Stop reading the feed of the room C{room}."""
        if self._rooms.pop(room_feed(room), None) is not None:
            self._wake()

    def connected(self) -> None:
        """The reading connection is up (again): learn its client id, then read."""
        self._client_id = None
        asked = self._connection.execute("CLIENT", "ID")

        def known(client_id: int) -> None:
            self._client_id = client_id
            self.read()

        asked.addCallbacks(known, lambda failure: self.read())

    def read(self) -> None:
        """Go on reading (the connection is up again); a no-op while a read runs."""
        if (
            self._reading is not None
            or self._stopped
            or self.position is None
            or not self._connection.up
        ):
            return
        streams = [Keys.feed.encode("utf-8"), *self._rooms]
        positions = [self.position, *(position for _, position in self._rooms.values())]
        self._read_streams = frozenset(self._rooms)
        reading = self._reading = self._connection.execute(
            "XREAD", "COUNT", READ_COUNT, "BLOCK", BLOCK_MS, "STREAMS", *streams, *positions,
            wait=BLOCK_MS / 1000,
        )  # fmt: skip
        reading.addCallbacks(self._entries, self._failed)

    def _wake(self) -> None:
        """Make a read in flight that reads other rooms than wanted return now."""
        reading = self._reading
        if reading is None or self._read_streams == frozenset(self._rooms):
            return
        if self._client_id is None or not self._waker.up:
            return  # it returns within BLOCK_MS
        woken = self._waker.execute("CLIENT", "UNBLOCK", self._client_id)

        def answered(count: int) -> None:
            # 0: the read has not blocked yet (or has just returned): try again soon.
            if not count and self._reading is reading:
                self._reactor.callLater(WAKE_RETRY, self._wake)

        woken.addCallbacks(answered, lambda failure: None)

    def stop(self) -> None:
        """Hand nothing more on (this node is leaving)."""
        self._stopped = True

    def _entries(self, reply: Any) -> None:
        self._reading = None
        if reply and not self._stopped:
            for stream, entries in reply:
                if stream == Keys.feed.encode("utf-8"):
                    for entry_id, fields in entries:
                        self.position = entry_id
                        self._dispatch(fields)
                    continue
                for entry_id, fields in entries:
                    followed = self._rooms.get(stream)
                    if followed is None:  # unfollowed by an entry handed on just now
                        break
                    # A room dropped and followed again while this read ran is read
                    # from its new position: older entries were the old reader's.
                    if _entry_order(entry_id) <= _entry_order(followed[1]):
                        continue
                    self._rooms[stream] = (followed[0], entry_id)
                    _dispatch_room(followed[0], fields)
        self.read()

    def _failed(self, failure: Failure) -> None:
        self._reading = None
        if failure.check(RedisUnavailable):  # type: ignore[no-untyped-call]
            self.read()  # waits for the connection when it is down
        else:
            self.log.failure("reading the Redis feed failed", failure, event_kind="node")
            self._reactor.callLater(RETRY_DELAY, self.read)

    def _dispatch(self, fields: list[bytes]) -> None:
        entry = dict(zip(fields[::2], fields[1::2], strict=True))
        listener = self._listener
        record = entry.get(b"r")
        if record is not None:
            to = entry.get(b"t")
            event = _event(record, entry)
            listener.record(event._replace(to_key=to.decode("utf-8")) if to is not None else event)
        elif b"j" in entry:
            listener.claimed(entry[b"j"].decode("utf-8"), entry[b"n"], int(entry[b"o"]))
        elif b"l" in entry:
            listener.freed(entry[b"l"].decode("utf-8"), int(entry[b"o"]))
        elif b"m" in entry:
            listener.moved(entry[b"m"].decode("utf-8"), entry[b"f"].decode("utf-8"))
        elif b"x" in entry:
            listener.outside(entry[b"x"].decode("utf-8"), entry[b"v"] == b"1")
        elif b"a" in entry:
            listener.logged_in(entry[b"a"].decode("utf-8"), entry[b"v"].decode("utf-8") or None)
        elif b"T" in entry:
            listener.topic(None, entry[b"T"].decode("utf-8"))
        elif b"M" in entry:
            listener.moderated(entry[b"M"], entry[b"N"].decode("utf-8"))


def _event(record: bytes, entry: dict[bytes, bytes]) -> RoomEvent:
    """The event of a feed entry with a record: a chat message (with its id) names its
    sender, so that fan-out knows whose own message it is (a sender without echo gets
    no copy); a notice may name the member it skips."""
    message_id = entry.get(b"i")
    if message_id is not None:
        sender = holding_key(sender_of(record))
        return RoomEvent(record, message_id=int(message_id), sender_key=sender)
    skip = entry.get(b"k")
    return RoomEvent(record, skip.decode("utf-8") if skip else None)


def _entry_order(entry_id: bytes) -> tuple[int, int]:
    """A stream entry id (C{b"<ms>-<seq>"}) as what orders it."""
    milliseconds, _, sequence = entry_id.partition(b"-")
    return int(milliseconds), int(sequence or 0)


def _dispatch_room(listener: RoomListener, fields: list[bytes]) -> None:
    """Hand one entry of a room's feed to C{listener}."""
    entry = dict(zip(fields[::2], fields[1::2], strict=True))
    record = entry.get(b"r")
    if record is not None:
        listener.record(_event(record, entry))
    elif b"j" in entry:
        listener.claimed(entry[b"j"].decode("utf-8"), entry[b"n"], int(entry[b"o"]))
    elif b"l" in entry:
        listener.freed(entry[b"l"].decode("utf-8"), int(entry[b"o"]))
    elif b"T" in entry:
        listener.topic(entry[b"T"].decode("utf-8"))
