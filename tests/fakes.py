"""Fakes for unit tests: an in-memory history store and clients on StringTransports."""

from __future__ import annotations

import json
import struct
from collections import deque
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from zope.interface import implementer

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.core.records import with_id
from chatproto.doors.tcp.framing import frame
from chatproto.doors.tcp.protocol import WordPacketFactory, WordPacketProtocol
from chatproto.history import retained_page
from chatproto.seams.history import HistoryUnavailable, IHistoryStore, IRedactable, Stored
from chatproto.seams.rooms import IRoomStores, KnownRoom


@implementer(IHistoryStore, IRedactable)
class MemoryHistory:
    """An IHistoryStore in memory; C{fail} makes adds and redactions fail, C{held_syncs}
    defers syncs."""

    def __init__(self, retain: int = 10000, durable_before_delivery: bool = False) -> None:
        self.records: deque[tuple[int, bytes]] = deque(maxlen=retain)
        self.last_id = 0
        self.durable_before_delivery = durable_before_delivery
        self.fail = False
        self.held_syncs: list[Deferred[None]] | None = None
        self.closed = False

    @property
    def first_id(self) -> int:
        return self.records[0][0] if self.records else 0

    def append(self, message_id: int, record: bytes) -> None:
        """Store a record with a given id (tests set up history with it)."""
        self.records.append((message_id, record))
        self.last_id = message_id

    def add(self, fields: bytes) -> Deferred[Stored]:
        if self.fail:
            return fail(HistoryUnavailable("disk full"))
        message_id = self.last_id + 1
        record = with_id(message_id, fields)
        self.append(message_id, record)
        return succeed((message_id, record))

    def recent(self, count: int) -> Deferred[list[Stored]]:
        return succeed(list(self.records)[-count:] if count else [])

    def since(self, message_id: int) -> Deferred[list[Stored]]:
        return succeed([(i, r) for i, r in self.records if i > message_id])

    def page(self, before: int | None, since: int | None, limit: int) -> Deferred[list[Stored]]:
        return succeed(retained_page(self.records, before, since, limit))

    def redact(self, message_id: int) -> Deferred[bool]:
        if self.fail:
            return fail(HistoryUnavailable("disk full"))
        kept = [(i, r) for i, r in self.records if i != message_id]
        removed = len(kept) != len(self.records)
        self.records = deque(kept, maxlen=self.records.maxlen)
        return succeed(removed)

    def sync(self) -> Deferred[None]:
        if self.held_syncs is None:
            return succeed(None)
        held: Deferred[None] = Deferred()
        self.held_syncs.append(held)
        return held

    def close(self) -> Deferred[None]:
        self.closed = True
        return succeed(None)


@implementer(IRoomStores)
class MemoryRoomStores:
    """IRoomStores in memory: each room's MemoryHistory outlives its closing, as a file
    would (C{opened} counts the stores opened now)."""

    def __init__(self) -> None:
        self.histories: dict[str, MemoryHistory] = {}
        self.names: dict[str, str] = {}
        self.topics: dict[str, str] = {}
        self.fail = False

    def known(self) -> dict[str, KnownRoom]:
        return {
            key: KnownRoom(self.names[key], self.topics.get(key, ""))
            for key in self.names
            if self.topics.get(key) or (key in self.histories and self.histories[key].last_id)
        }

    def open(self, key: str, name: str) -> IHistoryStore:
        if self.fail:
            raise HistoryUnavailable("disk full")
        self.names.setdefault(key, name)
        history = self.histories.setdefault(key, MemoryHistory())
        history.closed = False
        return history

    @property
    def opened(self) -> int:
        return sum(not history.closed for history in self.histories.values())

    def save_topic(self, key: str, name: str, topic: str) -> None:
        if self.fail:
            raise HistoryUnavailable("disk full")
        self.names.setdefault(key, name)
        self.topics[key] = topic

    def forget(self, key: str) -> None:
        for kept in (self.histories, self.names, self.topics):
            kept.pop(key, None)


def decode_frames(data: bytes) -> list[Any]:
    """Split a byte stream into frames: control words as str, JSON packets as dicts."""
    frames: list[Any] = []
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack(">H", data[offset : offset + 2])
        text = data[offset + 2 : offset + 2 + length].decode("utf-8")
        offset += 2 + length
        frames.append(json.loads(text) if text.startswith("{") else text)
    return frames


class FullBufferTransport(StringTransport):
    """A StringTransport that, like Twisted's, pauses its producer once more than
    C{limit} unread bytes wait, and resumes it when the reader L{drain}s them."""

    def __init__(self, limit: int, peerAddress: Any) -> None:
        super().__init__(peerAddress=peerAddress)
        self.limit = limit

    def write(self, data: bytes) -> None:
        super().write(data)
        if len(self.io.getvalue()) > self.limit and self.producer is not None:
            self.producer.pauseProducing()

    def drain(self) -> bytes:
        """The reader takes everything; the producer may go on."""
        data = self.value()
        self.clear()
        if self.producer is not None:
            self.producer.resumeProducing()
        return data


class FakeClient:
    """One connection to a room over a StringTransport (or a FullBufferTransport)."""

    def __init__(
        self,
        room: Hall,
        host: str = "127.0.0.1",
        port: int = 40000,
        buffer_limit: int | None = None,
    ) -> None:
        address = address_of(host, port)
        self.transport = (
            StringTransport(peerAddress=address)
            if buffer_limit is None
            else FullBufferTransport(buffer_limit, address)
        )
        proto = WordPacketFactory(room).buildProtocol(self.transport.getPeer())
        assert isinstance(proto, WordPacketProtocol)
        self.protocol = proto
        proto.makeConnection(self.transport)
        self._clock = room.reactor
        self._room = room

    def send(self, text: str | bytes) -> None:
        """Send one frame holding C{text}."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        self.protocol.dataReceived(frame(data))

    def send_json(self, packet: dict[str, Any]) -> None:
        """Send a JSON packet."""
        self.send(json.dumps(packet))

    def received(self) -> list[Any]:
        """Frames received since the last call, once the reactor turn (and any
        window in which notices wait for company) has ended."""
        assert isinstance(self._clock, Clock)
        self._clock.advance(0)
        self._room.flush()
        data = self.transport.value()
        self.transport.clear()
        return decode_frames(data)

    def events(self) -> list[Any]:
        """Received frames reduced to control words, notice events and (nickname, message)."""
        return [_summary(f) for f in self.received()]

    def join(self, nickname: str) -> list[Any]:
        """Run the handshake and return what followed READY."""
        frames = self.received()
        self.send(nickname)
        frames = self.received()
        assert frames[0] == "READY", frames
        return frames[1:]

    def drop(self) -> None:
        """The network drops the connection."""
        self.protocol.connectionLost()

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)


def _summary(packet: Any) -> Any:
    if isinstance(packet, str):
        return packet
    if "event" in packet:
        return packet["event"]
    return (packet["nickname"], packet["message"])


def address_of(host: str, port: int) -> Any:
    """A TCP peer address for C{host} (IPv4 or IPv6) and C{port}."""
    from twisted.internet.address import IPv4Address, IPv6Address

    if ":" in host:
        return IPv6Address("TCP", host, port)
    return IPv4Address("TCP", host, port)


def make_room(
    history: MemoryHistory | None = None,
    room_stores: MemoryRoomStores | None = None,
    **limits: Any,
) -> tuple[Hall, Clock, MemoryHistory]:
    """A room on a fake clock, with a memory history unless one is given."""
    clock = Clock()
    clock.advance(1_800_000_000)
    store = history if history is not None else MemoryHistory()
    hall = Hall(RoomConfig(**limits), store, clock, room_stores=room_stores or MemoryRoomStores())
    return hall, clock, store
