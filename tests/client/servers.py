"""Real chat servers that a test can stop and start again on the same port and history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort

from chatproto.config import RoomConfig
from chatproto.history import JsonLinesHistory
from chatproto.room import ChatRoom


@dataclass
class Server:
    """A room with its history file, listening on some ports."""

    room: ChatRoom
    history: JsonLinesHistory
    ports: list[IListeningPort]

    async def listen(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:C{port} too; return the port number."""
        listening = await serverFromString(reactor, f"tcp:{port}:interface=127.0.0.1").listen(
            self.room
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
    return Server(ChatRoom(RoomConfig(), history, reactor), history, [])
