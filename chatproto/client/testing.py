"""A real chat server inside your test's reactor, for testing bots and integrations.

    server = await start_server()
    try:
        bot = MyBot("bot")
        await bot.connect(server.endpoint)
        ...
    finally:
        await server.stop()

It is the server's own room core (the same rules, limits, history and
notices as C{twistd chat}) behind the word-packet door on a loopback port,
with its history in a JSON Lines file: in a temporary directory unless you
name a file, so that a test can stop the server and start it again on the
same history (and the same port) to see what a bot does across a restart.
With C{accounts=True} it also has accounts (docs/protocol.md section 13;
C{config=RoomConfig(operators=...)} names server operators among them) and
keeps its moderation (section 14), both in an SQLite file beside the
history, as C{twistd chat} does.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from twisted.application.service import IService
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort, IReactorFromThreads, IReactorTime

from chatproto.accounts.serving import AccountsService
from chatproto.accounts.sqlite import SQLiteAccountStore, prepare_database
from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.doors.tcp.protocol import WordPacketFactory
from chatproto.history import JsonLinesHistory
from chatproto.moderationdb import SQLiteModerationStore, read_snapshot
from chatproto.roomfiles import RoomFiles

__all__ = ["LoopbackServer", "start_server"]


@dataclass
class LoopbackServer:
    """A room listening on 127.0.0.1; L{start_server} makes one."""

    hall: Hall
    history: JsonLinesHistory
    #: The history file (it survives L{stop} unless it is in a temporary directory).
    history_file: Path
    reactor: IReactorTime
    #: The port numbers it listens on, the first one first.
    ports: list[int] = field(default_factory=list)
    _listening: list[IListeningPort] = field(default_factory=list)
    _temporary: tempfile.TemporaryDirectory[str] | None = None
    #: The account and moderation stores' services (with C{accounts}), in start order.
    _services: list[IService] = field(default_factory=list)

    @property
    def port(self) -> int:
        """The first port it listens on."""
        return self.ports[0]

    @property
    def endpoint(self) -> str:
        """The client endpoint description of that port, for L{ChatClient.connect}."""
        return f"tcp:host=127.0.0.1:port={self.port}"

    async def listen(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:C{port} too (0: any free port); return the port number."""
        listening = await serverFromString(self.reactor, f"tcp:{port}:interface=127.0.0.1").listen(
            WordPacketFactory(self.hall)
        )
        self._listening.append(listening)
        address = listening.getHost()
        assert isinstance(address, IPv4Address)
        self.ports.append(address.port)
        return address.port

    async def stop(self) -> None:
        """Shut down as the server does (docs/protocol.md section 8) with no grace: a
        C{shutdown} notice, every connection closed, the history made durable."""
        self.hall.announce_shutdown(0)
        self.hall.close_all()
        for listening in self._listening:
            stopping = listening.stopListening()
            if stopping is not None:
                await stopping
        await self.hall.close_rooms()
        await self.history.close()
        for service in reversed(self._services):
            await service.stopService()
        if self._temporary is not None:
            self._temporary.cleanup()


async def start_server(
    history_file: str | Path | None = None,
    *,
    port: int = 0,
    config: RoomConfig | None = None,
    reactor: IReactorTime | None = None,
    accounts: bool = False,
) -> LoopbackServer:
    """Start a chat server on 127.0.0.1:C{port} (0: a free port).

    @param history_file: where it keeps its history (it may hold an earlier run's);
        by default a file in a temporary directory, removed by L{LoopbackServer.stop}.
    @param config: the room's limits and server operators (default: the server's
        defaults).
    @param reactor: the reactor (default: the global one).
    @param accounts: serve accounts (no limit on registrations) and keep moderation in
        the SQLite file beside the history (its name with C{.sqlite3}); without them
        nobody can log in and moderation lasts until L{LoopbackServer.stop}.
    """
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    temporary = None
    if history_file is None:
        temporary = tempfile.TemporaryDirectory(prefix="chatproto-test-")
        history_file = Path(temporary.name) / "chat-history.jsonl"
    history = JsonLinesHistory(str(history_file), retain=10000, fsync="never")
    rooms = RoomFiles(str(history_file), retain=10000, fsync="never")
    desk: AccountsService | None = None
    moderation: SQLiteModerationStore | None = None
    snapshot = None
    if accounts:
        database = str(Path(history_file).with_suffix(".sqlite3"))
        prepare_database(database)
        snapshot = read_snapshot(database)
        threads = cast(IReactorFromThreads, reactor)  # a real reactor: the stores use threads
        moderation = SQLiteModerationStore(threads, database)
        desk = AccountsService(
            threads, lambda: SQLiteAccountStore.open(threads, database), database, 0
        )
    services: list[IService] = [each for each in (moderation, desk) if each is not None]
    for service in services:
        service.startService()
    hall = Hall(
        config or RoomConfig(),
        history,
        reactor,
        room_stores=rooms,
        accounts=None if desk is None else desk.accounts,
        moderation_store=moderation,
    )
    if snapshot is not None:
        hall.moderation.load(snapshot)
    server = LoopbackServer(
        hall, history, Path(history_file), reactor, _temporary=temporary, _services=services
    )
    await server.listen(port)
    return server
