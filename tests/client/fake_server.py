"""A chat server the test scripts frame by frame: polite, slow or hostile as the test needs."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory, connectionDone
from twisted.protocols.basic import Int16StringReceiver
from twisted.python.failure import Failure

from chatproto.core.records import dump_json
from chatproto.doors.packets.parsing import parse_packet
from chatproto.doors.tcp.framing import frame, frame_text
from tests.client.processes import DEADLINE


class ScriptedConnection(Int16StringReceiver):
    """One client connection: the test reads what the client sent and writes what it likes."""

    def __init__(self, accepted: DeferredQueue[ScriptedConnection]) -> None:
        self._accepted = accepted
        self.received: DeferredQueue[str] = DeferredQueue()
        self.closed: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self._accepted.put(self)

    def stringReceived(self, string: bytes) -> None:
        self.received.put(string.decode("utf-8"))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed.callback(None)

    async def next_frame(self) -> str:
        """The next frame the client sent (failing after the test deadline)."""
        return await self.received.get().addTimeout(DEADLINE, reactor)

    async def next_packet(self) -> dict[str, Any]:
        """The next frame the client sent, which must be a JSON packet."""
        return parse_packet(await self.next_frame())

    def send_text(self, text: str) -> None:
        """Send one frame carrying C{text}."""
        self.transport.write(frame_text(text))

    def send_raw(self, payload: bytes) -> None:
        """Send one frame carrying any bytes at all."""
        self.transport.write(frame(payload))

    def send_unframed(self, data: bytes) -> None:
        """Send bytes as they are, without a length prefix (what other protocols send)."""
        self.transport.write(data)

    def send_packet(self, packet: dict[str, Any]) -> None:
        """Send one JSON packet."""
        self.transport.write(frame(dump_json(packet)))

    def close(self) -> None:
        """Close the connection (after what was written)."""
        self.transport.loseConnection()


class FakeServer:
    """Listens on 127.0.0.1 and hands each new connection to the test."""

    def __init__(self) -> None:
        self.connections: DeferredQueue[ScriptedConnection] = DeferredQueue()
        self._port: IListeningPort | None = None
        self._factory = Factory.forProtocol(lambda: ScriptedConnection(self.connections))

    async def listen(self, description: str = "tcp:0:interface=127.0.0.1") -> int:
        """Start listening (C{description} is an endpoint string); return the port number."""
        self._port = await serverFromString(reactor, description).listen(self._factory)
        return int(self._port.getHost().port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._port is not None:
            await self._port.stopListening()
            self._port = None

    async def accept(self) -> ScriptedConnection:
        """The next connection a client made (failing after the test deadline)."""
        return await self.connections.get().addTimeout(DEADLINE, reactor)
