"""A raw protocol client for tests over real loopback sockets, written from docs/protocol.md."""

from __future__ import annotations

import json
import socket
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.protocols.basic import Int16StringReceiver
from twisted.python.failure import Failure

#: How long a test waits for a frame before failing (a deadline, not a sleep).
DEADLINE = 10.0


class Conversation:
    """A test client's side of the packet dialogue, whatever the door: it queues every
    frame it receives (control words as str, JSON packets as dicts)."""

    def __init__(self) -> None:
        self.frames: DeferredQueue[Any] = DeferredQueue()
        self.lost: Deferred[None] = Deferred()

    def received_text(self, data: bytes) -> None:
        """Queue one frame's text."""
        text = data.decode("utf-8")
        self.frames.put(json.loads(text) if text.startswith("{") else text)

    def send(self, text: str) -> None:
        """Send one frame's text."""
        raise NotImplementedError

    def send_json(self, packet: dict[str, Any]) -> None:
        """Send a JSON packet."""
        self.send(json.dumps(packet))

    async def next(self) -> Any:
        """The next frame, or a timeout failure after DEADLINE seconds."""
        got = self.frames.get()
        got.addTimeout(DEADLINE, reactor)
        return await got

    async def next_chat(self) -> dict[str, Any]:
        """The next chat packet, skipping notices."""
        while True:
            frame = await self.next()
            if isinstance(frame, dict) and "event" not in frame:
                return frame

    async def until_event(self, event: str) -> dict[str, Any]:
        """The next notice with this event, skipping everything before it."""
        while True:
            frame = await self.next()
            if isinstance(frame, dict) and frame.get("event") == event:
                return frame

    async def join(self, nickname: str) -> list[Any]:
        """Handshake as C{nickname}; return the replay and welcome that follow READY."""
        assert await self.next() == "HELLO"
        assert await self.next() == "NICK"
        self.send(nickname)
        answer = await self.next()
        assert answer == "READY", answer
        after = []
        while True:
            frame = await self.next()
            after.append(frame)
            if isinstance(frame, dict) and frame.get("event") == "welcome":
                return after

    async def choose(self, nickname: str) -> str:
        """Send C{nickname} after HELLO and NICK; READY or RETRY (after READY, the replay
        and welcome are read too)."""
        assert [await self.next(), await self.next()] == ["HELLO", "NICK"]
        self.send(nickname)
        answer: str = await self.next()
        if answer == "READY":
            await self.until_event("welcome")
        return answer

    async def closed(self) -> None:
        """Wait until the server closes the connection."""
        self.lost.addTimeout(DEADLINE, reactor)
        await self.lost


class RawClient(Conversation, Int16StringReceiver):
    """A word-packet client over TCP."""

    #: Why the connection ended, once it has (over TLS: ConnectionDone only after the
    #: server's close_notify).
    end_reason: Failure | None = None

    def stringReceived(self, data: bytes) -> None:
        self.received_text(data)

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        self.end_reason = reason
        self.lost.callback(None)

    def send(self, text: str) -> None:
        """Send one frame."""
        self.sendString(text.encode("utf-8"))


async def connect(port: int, host: str = "127.0.0.1") -> RawClient:
    """Connect a RawClient to C{host}:C{port} (loopback unless a test host is named)."""
    endpoint = TCP4ClientEndpoint(reactor, host, port)
    return await connectProtocol(endpoint, RawClient())


class RawPeer(Protocol):
    """A client that writes exactly the bytes a test gives it and keeps every byte it
    receives: for what no well-behaved client sends (attacks on the web port)."""

    def __init__(self) -> None:
        self.received = b""
        self.lost: Deferred[None] = Deferred()
        self._arrival: Deferred[None] | None = None

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        self._arrived()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost.callback(None)
        self._arrived()

    def _arrived(self) -> None:
        arrival, self._arrival = self._arrival, None
        if arrival is not None:
            arrival.callback(None)

    def send(self, data: bytes) -> None:
        """Write C{data} as it is."""
        assert self.transport is not None
        self.transport.write(data)

    async def received_until(self, marker: bytes) -> bytes:
        """What was received up to and including the first C{marker}, once it came;
        fails if the connection closes first or nothing comes for DEADLINE seconds."""
        while marker not in self.received:
            assert not self.lost.called, f"closed before {marker!r}: {self.received[-300:]!r}"
            self._arrival = Deferred()
            self._arrival.addTimeout(DEADLINE, reactor)
            await self._arrival
        return self.received[: self.received.index(marker) + len(marker)]

    async def closed(self) -> None:
        """Wait until the server closes the connection (at most DEADLINE seconds)."""
        self.lost.addTimeout(DEADLINE, reactor)
        await self.lost


async def connect_raw(port: int, receive_buffer: int | None = None) -> RawPeer:
    """Connect a L{RawPeer} to 127.0.0.1:C{port}; with C{receive_buffer}, its socket's
    receive buffer is that small from the start (a window once advertised is never
    taken back, and a buffer shrunk below it makes the kernel drop the server's ACKs)."""
    if receive_buffer is None:
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
        return await connectProtocol(endpoint, RawPeer())
    peer = RawPeer()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.connect(("127.0.0.1", port))  # the kernel completes it; the server accepts later
        sock.setblocking(False)
        reactor.adoptStreamConnection(sock.fileno(), socket.AF_INET, _Only(peer))
    return peer


class _Only(Factory):
    """Builds one given protocol."""

    def __init__(self, protocol: Protocol) -> None:
        self._protocol = protocol

    def buildProtocol(self, addr: object) -> Protocol:
        return self._protocol
