"""One node's reading of the shared feed: blocking XREAD on a connection of its own.

Every node reads the feed in its one order and hands each entry on: records
(chat and notices) to the room, presence changes to the nickname mirror. After
a lost connection it goes on from the last entry it read, so a short outage
loses nothing (the feed keeps its newest C{FEED_LENGTH} entries or so).
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.seams.hub import RoomEvent
from chatproto.seams.redis.client import RedisConnection, RedisUnavailable
from chatproto.seams.redis.scripts import Keys

#: Entries one read returns at most.
READ_COUNT = 1000
#: Milliseconds one blocking read waits for news before it asks again.
BLOCK_MS = 5000
#: Seconds before a read that Redis refused is tried again.
RETRY_DELAY = 1.0


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


class FeedReader:
    """Reads the feed after C{position} (a stream entry id) while its connection is up."""

    log = Logger()

    def __init__(
        self, connection: RedisConnection, listener: FeedListener, reactor: IReactorTime
    ) -> None:
        self._connection = connection
        self._reactor = reactor
        self._listener = listener
        self.position: bytes | None = None
        self._reading = False
        self._stopped = False

    def start_at(self, position: bytes) -> None:
        """Read every entry after C{position}, from now on."""
        self.position = position
        self.read()

    def read(self) -> None:
        """Go on reading (the connection is up again); a no-op while a read runs."""
        if self._reading or self._stopped or self.position is None or not self._connection.up:
            return
        self._reading = True
        reply = self._connection.execute(
            "XREAD", "COUNT", READ_COUNT, "BLOCK", BLOCK_MS, "STREAMS", Keys.feed, self.position,
            wait=BLOCK_MS / 1000,
        )  # fmt: skip
        reply.addCallbacks(self._entries, self._failed)

    def stop(self) -> None:
        """Hand nothing more on (this node is leaving)."""
        self._stopped = True

    def _entries(self, reply: Any) -> None:
        self._reading = False
        if reply and not self._stopped:
            _stream, entries = reply[0]
            for entry_id, fields in entries:
                self.position = entry_id
                self._dispatch(fields)
        self.read()

    def _failed(self, failure: Failure) -> None:
        self._reading = False
        if failure.check(RedisUnavailable):  # type: ignore[no-untyped-call]
            self.read()  # waits for the connection when it is down
        else:
            self.log.failure("reading the Redis feed failed", failure)
            self._reactor.callLater(RETRY_DELAY, self.read)

    def _dispatch(self, fields: list[bytes]) -> None:
        entry = dict(zip(fields[::2], fields[1::2], strict=True))
        listener = self._listener
        record = entry.get(b"r")
        if record is not None:
            message_id = entry.get(b"i")
            skip = entry.get(b"k")
            to = entry.get(b"t")
            listener.record(
                RoomEvent(
                    record,
                    skip.decode("utf-8") if skip else None,
                    int(message_id) if message_id is not None else None,
                    to_key=to.decode("utf-8") if to is not None else None,
                )
            )
        elif b"j" in entry:
            listener.claimed(entry[b"j"].decode("utf-8"), entry[b"n"], int(entry[b"o"]))
        elif b"l" in entry:
            listener.freed(entry[b"l"].decode("utf-8"), int(entry[b"o"]))
        elif b"m" in entry:
            listener.moved(entry[b"m"].decode("utf-8"), entry[b"f"].decode("utf-8"))
