"""Real chat servers that a test can stop and start again on the same port and history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort

from chatproto.core.config import RoomConfig
from chatproto.core.room import Room
from chatproto.doors.tcp.protocol import WordPacketFactory
from chatproto.history import JsonLinesHistory


@dataclass
class Server:
    """A room with its history file, listening on some ports."""

    room: Room
    history: JsonLinesHistory
    ports: list[IListeningPort]

    async def listen(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:C{port} too; return the port number."""
        listening = await serverFromString(reactor, f"tcp:{port}:interface=127.0.0.1").listen(
            WordPacketFactory(self.room)
        )
        self.ports.append(listening)
        return int(listening.getHost().port)

    async def stop(self) -> None:
        """Shut down as the server does: notice, close everyone, make the history durable."""
        self.room.announce_shutdown(0)
        self.room.close_all()
        for listening in self.ports:
            await listening.stopListening()
        await self.history.close()


def start_server(path: Path) -> Server:
    """A room keeping its history in C{path} (which may hold an earlier run's)."""
    history = JsonLinesHistory(str(path), retain=10000, fsync="never")
    return Server(Room(RoomConfig(), history, reactor), history, [])
