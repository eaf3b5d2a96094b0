"""An IRC client on a StringTransport, for unit tests of the IRC door on a fake clock."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from chatproto.core.hall import Hall
from chatproto.doors.irc.identity import ServerInfo
from chatproto.doors.irc.protocol import IrcFactory, IrcProtocol
from chatproto.doors.irc.session import IrcSession
from tests.fakes import FullBufferTransport, address_of

SERVER = ServerInfo(name="irc.test", created="today")


class FakeIrcClient:
    """One IRC connection to a room's IRC door (C{factory}, or a new one for C{room})."""

    def __init__(
        self,
        room: Hall,
        factory: IrcFactory | None = None,
        host: str = "127.0.0.1",
        buffer_limit: int | None = None,
    ) -> None:
        self.factory = factory if factory is not None else IrcFactory(room, SERVER)
        peer = address_of(host, 40001)
        self.transport = (
            StringTransport(peerAddress=peer)
            if buffer_limit is None
            else FullBufferTransport(buffer_limit, peer)
        )
        protocol = self.factory.buildProtocol(peer)
        assert isinstance(protocol, IrcProtocol)
        self.protocol = protocol
        protocol.makeConnection(self.transport)
        self._room = room

    @property
    def session(self) -> IrcSession:
        return self.protocol.session

    def send(self, *lines: str | bytes) -> None:
        """Send lines (CR LF added), all in one read."""
        data = [line.encode("utf-8") if isinstance(line, str) else line for line in lines]
        self.protocol.dataReceived(b"".join(line + b"\r\n" for line in data))

    def lines(self) -> list[str]:
        """Lines received since the last call (without CR LF), once the turn has ended."""
        clock = self._room.reactor
        assert isinstance(clock, Clock)
        clock.advance(0)
        self._room.flush()
        data = self.transport.value()
        self.transport.clear()
        return data.decode("utf-8").removesuffix("\r\n").split("\r\n") if data else []

    def register(self, nickname: str, *capabilities: str) -> list[str]:
        """Register as C{nickname} with C{capabilities}; return the lines up to the end of
        the replay (registration must succeed)."""
        if capabilities:
            self.send("CAP LS 302", f"CAP REQ :{' '.join(capabilities)}")
        self.send(f"NICK {nickname}", f"USER {nickname} 0 * :{nickname}")
        if capabilities:
            self.send("CAP END")
        lines = self.lines()
        assert any(f" 001 {nickname} " in line for line in lines), lines
        return lines

    def drop(self) -> None:
        """The network drops the connection."""
        self.protocol.connectionLost()

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)
