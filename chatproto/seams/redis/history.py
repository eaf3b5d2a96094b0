"""The shared history of a room (docs/protocol.md sections 6, 11 and 12): a Redis stream.

Ids come from Redis: the L{WRITE} script increments the room's counter and
appends the record to its history stream (entry C{0-<id>}, trimmed to
--history-retain) and to its feed in one step, so the feed's order is the id
order. The default room and every other room each have their own counter,
stream and feed. A message is acknowledged (its Deferred fires) once Redis holds it; how
durable that is depends on Redis's own persistence (docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.core.records import with_id
from chatproto.seams.history import HistoryUnavailable, IHistoryStore, IRedactable, Stored
from chatproto.seams.redis.client import RedisConnection, Script

#: The largest sequence number of a stream entry id (a since above it finds nothing).
_MAX_STREAM_SEQUENCE = 2**64 - 1


#: KEYS: a room's history stream, its feed. ARGV: a message id. Deletes the message from
#: both (the feed from its newest entry back to the message's: it holds at most about
#: FEED_LENGTH entries). Returns 1, or 0 when the history did not hold the message.
_REDACT = Script(
    """
local history, feed, wanted = KEYS[1], KEYS[2], tonumber(ARGV[1])
if redis.call('XDEL', history, '0-' .. ARGV[1]) == 0 then return 0 end
local last = '+'
while true do
  local entries = redis.call('XREVRANGE', feed, last, '-', 'COUNT', 100)
  if #entries == 0 then return 1 end
  for _, entry in ipairs(entries) do
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'i' then
        local id = tonumber(fields[i + 1])
        if id == wanted then redis.call('XDEL', feed, entry[1]) end
        if id <= wanted then return 1 end
      end
    end
    last = '(' .. entry[1]
  end
end
"""
)


@implementer(IHistoryStore, IRedactable)
class RedisHistory:
    """The history stream C{stream} of one room, shared by every node (see the module),
    and its C{feed} (which holds each message too, until it is trimmed).

    C{last_id} is the newest id this node's feed has delivered (where live
    traffic stands here), which is where a joiner's replay ends. C{write}
    stores a record's fields and fires with its id; C{close} is called on
    L{close} (for the default room: this node leaves Redis).
    """

    durable_before_delivery = False

    def __init__(
        self,
        connection: RedisConnection,
        stream: str,
        feed: str | bytes,
        write: Callable[[bytes], Deferred[int]],
        retain: int,
        close: Callable[[], Deferred[None]],
    ) -> None:
        self._connection = connection
        self._stream = stream
        self._feed = feed
        self._write = write
        self._retain = retain
        self._close = close
        self.last_id = 0
        self._acknowledged_id = 0

    @property
    def newest_id(self) -> int:
        """The newest id this node knows of (delivered here or acknowledged to it)."""
        return max(self.last_id, self._acknowledged_id)

    @property
    def first_id(self) -> int:
        """Oldest id still retained, 0 if none (ids are consecutive in the stream)."""
        newest = self.newest_id
        if not self._retain or not newest:
            return 0
        return max(1, newest - self._retain + 1)

    def saw(self, message_id: int) -> None:
        """The feed delivered message C{message_id} here."""
        self.last_id = max(self.last_id, message_id)

    def add(self, fields: bytes) -> Deferred[Stored]:
        """Store the record with the next id; fires once Redis holds it."""

        def stored(message_id: int) -> Stored:
            self._acknowledged_id = max(self._acknowledged_id, message_id)
            return message_id, with_id(message_id, fields)

        return self._write(fields).addCallbacks(stored, _unavailable)

    def recent(self, count: int) -> Deferred[list[Stored]]:
        """The newest C{count} retained messages this node has delivered, oldest first
        (newer ones reach a joiner live, and must not take replay places)."""
        if count <= 0 or not self._retain or not self.last_id:
            return succeed([])
        newest = f"0-{self.last_id}"
        read = self._connection.execute("XREVRANGE", self._stream, newest, "-", "COUNT", count)
        return read.addCallbacks(lambda entries: _stored(reversed(entries)), _unavailable)

    def since(self, message_id: int) -> Deferred[list[Stored]]:
        """Every retained message with id > C{message_id}, oldest first."""
        if not self._retain or message_id >= _MAX_STREAM_SEQUENCE:
            return succeed([])
        read = self._connection.execute("XRANGE", self._stream, f"(0-{message_id}", "+")
        return read.addCallbacks(_stored, _unavailable)

    def page(self, before: int | None, since: int | None, limit: int) -> Deferred[list[Stored]]:
        """See L{IHistoryStore.page}: one range read of the stream."""
        if not self._retain:
            return succeed([])
        if since is not None:
            if since >= _MAX_STREAM_SEQUENCE:
                return succeed([])
            read = self._connection.execute(
                "XRANGE", self._stream, f"(0-{since}", "+", "COUNT", limit
            )
            return read.addCallbacks(_stored, _unavailable)
        # Not past what this node has delivered: newer messages reach the asker live.
        newest = self.last_id if before is None else min(before - 1, self.last_id)
        if newest <= 0:
            return succeed([])
        read = self._connection.execute(
            "XREVRANGE", self._stream, f"0-{newest}", "-", "COUNT", limit
        )
        return read.addCallbacks(lambda entries: _stored(reversed(entries)), _unavailable)

    def redact(self, message_id: int) -> Deferred[bool]:
        """See L{IRedactable.redact}: the message leaves the history stream and the feed,
        in one script."""
        removed = self._connection.run(_REDACT, (self._stream, self._feed), (message_id,))
        return removed.addCallbacks(lambda count: bool(count), _unavailable)

    def sync(self) -> Deferred[None]:
        """Nothing to do: Redis's own persistence settings decide durability."""
        return succeed(None)

    def close(self) -> Deferred[None]:
        """Give the room back (for the default room: leave Redis, see L{RedisNode.leave})."""
        return self._close()


def _stored(entries: Any) -> list[Stored]:
    """(id, record) pairs from stream entries C{[b"0-<id>", [b"r", record]]}."""
    return [(int(entry_id.split(b"-")[1]), fields[1]) for entry_id, fields in entries]


def _unavailable(failure: Failure) -> NoReturn:
    raise HistoryUnavailable(f"Redis: {failure.getErrorMessage()}")
