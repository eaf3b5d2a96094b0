"""The rooms that exist, by key (docs/protocol.md section 12): created on a first join,
opened while they have members, closed when they have none, forgotten when they
store nothing.

The registry owns the rooms' stores (through L{IRoomStores}) and their
batchers, which all share one L{Turn}; who is in which room is the hall's.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.config import RoomConfig
from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.fanout import Turn, TurnBatcher
from chatproto.core.observer import QUIET, IRoomObserver
from chatproto.core.room import Room
from chatproto.core.roomnames import room_key, validate_room_name
from chatproto.seams.history import HistoryUnavailable, IHistoryStore
from chatproto.seams.rooms import IRoomStores, ISharedRooms, OpenedRoom, TooManyRooms

#: Why rooms beside the default one are refused by a hall without room stores.
NOT_SHARED = "rooms beside the default one are not shared across nodes yet"

#: Called with a room and the sender key of a message of it that was stored but never
#: made durable (fsync=always).
MessageLost = Callable[[Room, str], None]


class RoomRegistry:
    """Every room by key; see the module docstring.

    C{history} is the default room's store, always open; C{room_stores} keeps
    the other rooms' stores and every topic (None: only the default room is
    served); with stores shared by several nodes (L{ISharedRooms}) a room's
    store may be ready only later (C{room.opening}). C{observer} watches the
    fan-out of every room (L{Turn}).
    """

    log = Logger()

    def __init__(
        self,
        config: RoomConfig,
        history: IHistoryStore,
        reactor: IReactorTime,
        room_stores: IRoomStores | None,
        lost: MessageLost,
        moderated: Callable[[str], bool] = lambda key: False,
        observer: IRoomObserver = QUIET,
    ) -> None:
        #: The limits (--max-rooms); replaced on reload.
        self.config = config
        #: Whether the room of a key holds moderation (bans, a founder...): it outlives
        #: its members then, even when it stores no message (docs/moderation.md).
        self._moderated = moderated
        self._reactor = reactor
        self._stores = room_stores
        self._lost = lost
        #: The turn end every room's batcher shares: one write per member per turn.
        self.turn = Turn(reactor, observer)
        name = validate_room_name(config.default_room)
        started = reactor.seconds()
        self.default = Room(room_key(name), name, default=True, created=started)
        self._open_with(self.default, history)
        #: Every room that exists, by key (open ones and dormant ones).
        self.rooms: dict[str, Room] = {self.default.key: self.default}
        for key, known in (room_stores.known() if room_stores is not None else {}).items():
            if key == self.default.key:
                self.default.topic = known.topic
            else:
                self.rooms[key] = Room(key, known.name, known.topic, created=started)
        #: The room stores when several nodes share them (--redis), else None.
        self.shared: ISharedRooms | None = (
            ISharedRooms(room_stores) if ISharedRooms.providedBy(room_stores) else None
        )
        if self.shared is not None:
            self.shared.watch_topics(self._topic_changed)

    def _topic_changed(self, key: str, topic: str) -> None:
        """Another node (or this one) set the topic of a room this node reads."""
        room = self.rooms.get(key)
        if room is not None:
            room.topic = topic

    def _open_with(self, room: Room, history: IHistoryStore) -> None:
        def lost(sender_key: str) -> None:
            self._lost(room, sender_key)

        batcher = TurnBatcher(self._reactor, history, room.members, lost, self.turn)
        room.open(history, batcher)

    def for_joining(self, key: str, name: str) -> Room:
        """The room C{key} for a joiner: created and opened (display name C{name}) when
        it does not exist. A dormant room is returned dormant (see L{open}): its store
        may still be closing.

        @raise PacketRejected: C{unavailable} (no room stores, or a new room's store
            cannot be opened), C{too-many-rooms} (C{--max-rooms}).
        """
        room = self.rooms.get(key)
        if room is not None and room.is_open:
            return room
        if self._stores is None:
            raise PacketRejected(ErrorCode.UNAVAILABLE, f"{name}: {NOT_SHARED}")
        if room is not None:
            return room
        limit = self.config.max_rooms
        if limit and len(self.rooms) >= limit:
            raise PacketRejected(ErrorCode.TOO_MANY_ROOMS, "No more rooms can be created")
        room = self.rooms[key] = Room(key, name, created=self._reactor.seconds())
        # A room kept by its moderation gets no new creator; one shared by several
        # nodes neither when the others knew it (_ready).
        room.fresh = not self._moderated(key)
        try:
            self.open(room)
        except PacketRejected:
            if self.rooms.get(key) is room:  # (a shared store refused at once removed it)
                del self.rooms[key]
            raise
        return room

    def open(self, room: Room) -> None:
        """Open a room's store (it gets a member). A store shared by several nodes may
        be ready later: until then C{room.opening} is set (see L{ISharedRooms.opened}).

        @raise PacketRejected: C{unavailable} when the store cannot be opened.
        """
        assert self._stores is not None
        try:
            history = self._stores.open(room.key, room.name)
        except HistoryUnavailable as e:
            self.log.error(
                "room {room} unavailable: {why}", room=room.name, why=str(e), event_kind="store"
            )
            raise PacketRejected(
                ErrorCode.UNAVAILABLE, f"{room.name} cannot be opened now"
            ) from None
        self._open_with(room, history)
        opened = self.shared.opened(room.key) if self.shared is not None else None
        if opened is None:
            return
        settled = opened.addCallbacks(
            self._ready, self._not_opened, callbackArgs=(room,), errbackArgs=(room,)
        )
        if not settled.called:
            room.opening = settled
        elif isinstance(settled.result, PacketRejected):  # refused at once (Redis is down)
            raise settled.result

    def _ready(self, opened: OpenedRoom, room: Room) -> None:
        room.opening = None
        room.rename(opened.name)
        room.fresh = opened.created and not self._moderated(room.key)

    def _not_opened(self, failure: Failure, room: Room) -> PacketRejected:
        """A shared store that could not get ready: given back; its joiners are refused."""
        room.opening = None
        if not room.members and room.is_open:
            self.emptied(room)
        if failure.check(TooManyRooms):  # type: ignore[no-untyped-call]
            return PacketRejected(ErrorCode.TOO_MANY_ROOMS, "No more rooms can be created")
        self.log.error(
            "room {room} unavailable: {why}",
            room=room.name,
            why=failure.getErrorMessage(),
            event_kind="store",
        )
        return PacketRejected(ErrorCode.UNAVAILABLE, f"{room.name} cannot be opened now")

    def emptied(self, room: Room) -> None:
        """Nobody is left in a room: it ceases to exist when it stores nothing (and holds
        no moderation), else its store is closed (its retained window freed) until
        someone joins again."""
        forget = room.stores_nothing and not self._moderated(room.key)
        if forget:
            del self.rooms[room.key]
        closed = room.close()
        if forget and self._stores is not None:
            stores = self._stores
            closed.addCallback(lambda _: stores.forget(room.key))
        closed.addErrback(
            lambda failure: self.log.failure(
                "closing {room} failed", failure, room=room.name, event_kind="store"
            )
        )

    def save_topic(self, room: Room, topic: str) -> None:
        """Keep C{room}'s new topic, then show it in the room.

        @raise PacketRejected: C{unavailable} when it cannot be kept.
        """
        if self._stores is None:
            raise PacketRejected(ErrorCode.UNAVAILABLE, "Topics are not shared across nodes yet")
        try:
            self._stores.save_topic(room.key, room.name, topic)
        except HistoryUnavailable as e:
            self.log.error(
                "topic of {room} not stored: {why}", room=room.name, why=str(e), event_kind="store"
            )
            raise PacketRejected(ErrorCode.UNAVAILABLE, "The topic could not be stored") from None
        room.topic = topic

    def listed(self, limit: int) -> list[Room]:
        """The first C{limit} rooms, sorted by key."""
        return [self.rooms[key] for key in sorted(self.rooms)[:limit]]

    def sync(self) -> Deferred[None]:
        """Make the history of every open room but the default one durable."""
        syncs = [
            room.history.sync()
            for room in self.rooms.values()
            if not room.default and room.history is not None
        ]
        return gatherResults(syncs).addCallback(lambda _: None)

    def close(self) -> Deferred[None]:
        """Close the store of every room but the default one (shutdown)."""
        closing = [
            room.close() if room.is_open else room.closing
            for room in self.rooms.values()
            if not room.default
        ]
        waits = [closed for closed in closing if closed is not None]
        return gatherResults(waits).addCallback(lambda _: None)
