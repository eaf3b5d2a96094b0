"""The rooms beside the default one, shared by every node through Redis (docs/scaling.md).

Each room has its own id counter, history stream, feed and member set in
Redis, so rooms never contend with each other. A node reads a room's feed only
while one of its members is in the room: opening the room's store here (its
first member on this node joins) takes the room's state in one atomic step
(newest id, newest feed entry, display name, topic, members) and follows its
feed from there; closing it (its last member here left) stops reading it.
While it is read, this node mirrors the room's members on every node, in join
order, for `who` and `welcome`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.seams.history import HistoryUnavailable, IHistoryStore
from chatproto.seams.hub import RoomEvent
from chatproto.seams.redis.client import RedisConnection
from chatproto.seams.redis.history import RedisHistory
from chatproto.seams.redis.joinorder import JoinOrder
from chatproto.seams.redis.reader import FeedReader, room_feed
from chatproto.seams.redis.scripts import (
    ABOUT_ROOM,
    CREATED,
    LIST_ROOMS,
    OPEN_ROOM,
    PREFIX,
    ROOMS_OF,
    Keys,
)
from chatproto.seams.redis.writer import FeedWriter
from chatproto.seams.rooms import (
    IRoomStores,
    ISharedRooms,
    KnownRoom,
    ListedRoom,
    OpenedRoom,
    RoomFacts,
    TooManyRooms,
    TopicChanged,
)


class _OpenRoom:
    """A room this node reads: its store, its members on every node, its feed's entries."""

    def __init__(self, rooms: RedisRooms, key: str, name: str, history: RedisHistory) -> None:
        self._rooms = rooms
        self.key = key
        self.name = name
        self.history = history
        self.members = JoinOrder()
        #: Fires once the room's state is known here.
        self.opening: Deferred[OpenedRoom] | None = None

    def started(self, snapshot: list[Any]) -> OpenedRoom:
        """Take the room's state as L{OPEN_ROOM} found it and follow its feed from there."""
        if not snapshot[0]:
            raise TooManyRooms(self.key)
        opened, newest, position, name, topic, *members = snapshot
        self.opening = None
        self.name = name.decode("utf-8")
        self.history.saw(int(newest))
        for key, order, encoded in zip(members[::3], members[1::3], members[2::3], strict=True):
            self.members.add(key.decode("utf-8"), encoded, int(order))
        if self._rooms.is_open(self):
            self._rooms.reader.follow(self.key, self, position)
        self.topic(topic.decode("utf-8"))
        return OpenedRoom(self.name, opened == CREATED)

    # -- the room's feed (RoomListener) ---------------------------------------

    def record(self, event: RoomEvent) -> None:
        """A chat message or notice of the room: for its members here."""
        if event.message_id is not None:
            self.history.saw(event.message_id)
        self._rooms.deliver(event._replace(room_key=self.key))

    def claimed(self, key: str, encoded_nickname: bytes, order: int) -> None:
        """A member joined the room on some node."""
        self.members.add(key, encoded_nickname, order)

    def freed(self, key: str, order: int) -> None:
        """A member left the room on some node."""
        self.members.remove(key, order)

    def topic(self, topic: str) -> None:
        """The room's topic changed (or is what it was when the room was opened)."""
        self._rooms.topic_changed(self.key, topic)


@implementer(IRoomStores, ISharedRooms)
class RedisRooms:
    """Every room beside the default one, shared through Redis; and every room's topic
    (the default room's included). See the module docstring.

    C{deliver} hands an event of a room to this node's members; C{default_key} is
    the default room's key; C{max_rooms} is --max-rooms (0: off), counted over
    every node.
    """

    def __init__(
        self,
        connection: RedisConnection,
        writer: FeedWriter,
        reader: FeedReader,
        deliver: Callable[[RoomEvent], None],
        retain: int,
        max_rooms: int,
        default_key: str,
    ) -> None:
        self._connection = connection
        self._writer = writer
        self.reader = reader
        self.deliver = deliver
        self._retain = retain
        self._max_rooms = max_rooms
        self._default_key = default_key
        self._open: dict[str, _OpenRoom] = {}
        self._topic_watchers: list[TopicChanged] = []

    def is_open(self, room: _OpenRoom) -> bool:
        """Whether C{room} is still this node's open store of its room."""
        return self._open.get(room.key) is room

    def topic_changed(self, key: str, topic: str) -> None:
        """The topic of the room C{key} is C{topic} (a node set it)."""
        for changed in self._topic_watchers:
            changed(key, topic)

    # -- IRoomStores ---------------------------------------------------------

    def known(self) -> dict[str, KnownRoom]:
        """Nothing at start-up (Redis is not reached yet): `rooms` asks Redis."""
        return {}

    def open(self, key: str, name: str) -> IHistoryStore:
        """The room's store, which knows the room once L{opened} fires."""
        stream = f"{PREFIX}room:{key}:history"
        history = RedisHistory(
            self._connection,
            stream,
            room_feed(key),
            lambda fields: self._writer.room_chat(key, fields),
            self._retain,
            lambda: self._close(key),
        )
        room = self._open[key] = _OpenRoom(self, key, name, history)
        started = self._connection.run(OPEN_ROOM, Keys.all, (key, name, self._max_rooms))
        room.opening = started.addCallbacks(room.started, _unavailable)
        return history

    def _close(self, key: str) -> Deferred[None]:
        """The room's last member here left: stop reading its feed."""
        if self._open.pop(key, None) is not None:
            self.reader.unfollow(key)
        return succeed(None)

    def save_topic(self, key: str, name: str, topic: str) -> None:
        """Keep the topic in Redis; every node reading the room hears of it."""
        if not self._writer.accepting:
            raise HistoryUnavailable("Redis cannot be reached")
        self._writer.topic(None if key == self._default_key else key, topic)

    def forget(self, key: str) -> None:
        """Let the room cease to exist in Redis too, unless another node has a member in
        it (Redis decides, atomically)."""
        self._writer.forget_room(key)

    # -- ISharedRooms -------------------------------------------------------

    def opened(self, key: str) -> Deferred[OpenedRoom] | None:
        """See L{ISharedRooms.opened}."""
        return self._open[key].opening

    def entered(self, key: str, member_key: str, encoded_nickname: bytes) -> None:
        """Listed here at once, last (its join order comes back with its feed entry)."""
        room = self._open[key]
        room.members.add(member_key, encoded_nickname, math.inf)
        self._writer.room_join(key, room.name, member_key, encoded_nickname)

    def exited(self, key: str, member_key: str) -> None:
        """Unlisted here at once, and in Redis next."""
        room = self._open.get(key)
        if room is not None:
            room.members.remove(member_key)
        self._writer.room_part(key, member_key)

    def members(self, key: str) -> Sequence[bytes]:
        """See L{ISharedRooms.members} (nobody for a room this node does not read)."""
        room = self._open.get(key)
        return room.members.listed if room is not None else ()

    def rooms_of(self, member_key: str) -> Deferred[list[tuple[str, str]]]:
        """See L{ISharedRooms.rooms_of}."""
        read = self._connection.run(ROOMS_OF, Keys.all, (member_key,))

        def pairs(reply: list[bytes]) -> list[tuple[str, str]]:
            return [
                (key.decode("utf-8"), name.decode("utf-8"))
                for key, name in zip(reply[::2], reply[1::2], strict=True)
            ]

        return read.addCallbacks(pairs, _unavailable)

    def listing(self, limit: int) -> Deferred[tuple[int, list[ListedRoom]]]:
        """See L{ISharedRooms.listing}: one script call."""
        read = self._connection.run(LIST_ROOMS, Keys.all, (limit,))

        def listed(reply: list[Any]) -> tuple[int, list[ListedRoom]]:
            count, *rows = reply
            return int(count), [
                ListedRoom(
                    key.decode("utf-8"), name.decode("utf-8"), int(users), topic.decode("utf-8")
                )
                for key, name, topic, users in zip(
                    rows[::4], rows[1::4], rows[2::4], rows[3::4], strict=True
                )
            ]

        return read.addCallbacks(listed, _unavailable)

    def about(self, key: str) -> Deferred[RoomFacts | None]:
        """See L{ISharedRooms.about}: one script call."""
        read = self._connection.run(ABOUT_ROOM, Keys.all, (key,))

        def facts(reply: list[bytes]) -> RoomFacts | None:
            if not reply:
                return None
            name, topic, *users = reply
            return RoomFacts(name.decode("utf-8"), topic.decode("utf-8"), users)

        return read.addCallbacks(facts, _unavailable)

    def watch_topics(self, changed: TopicChanged) -> None:
        """See L{ISharedRooms.watch_topics}."""
        self._topic_watchers.append(changed)


def _unavailable(failure: Failure) -> NoReturn:
    raise HistoryUnavailable(f"Redis: {failure.getErrorMessage()}")
