"""A raw IRC client for loopback tests of the IRC door."""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from tests.loopback import DEADLINE


class RawIrcClient(Protocol):
    """Queues every line it receives (decoded, without CR LF); sends raw lines."""

    def __init__(self) -> None:
        self.received: DeferredQueue[str] = DeferredQueue()
        self.lost: Deferred[None] = Deferred()
        self._partial = b""

    def dataReceived(self, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\r\n")
        for line in lines:
            self.received.put(line.decode("utf-8"))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost.callback(None)

    def send(self, *lines: str | bytes) -> None:
        """Send lines, CR LF added, in one write."""
        data = [line.encode("utf-8") if isinstance(line, str) else line for line in lines]
        self.transport.write(b"".join(line + b"\r\n" for line in data))  # type: ignore[union-attr]

    async def next(self) -> str:
        """The next line, or a timeout failure after DEADLINE seconds."""
        got = self.received.get()
        got.addTimeout(DEADLINE, reactor)
        return await got

    async def until(self, last: Callable[[str], bool]) -> list[str]:
        """Every line up to and including the first one for which C{last} holds."""
        lines = []
        while True:
            line = await self.next()
            lines.append(line)
            if last(line):
                return lines

    async def synced(self) -> list[str]:
        """Every line the server owes before the answer to a PING (which ends the list)."""
        self.send("PING :sync")
        lines = await self.until(lambda line: line.endswith(" PONG irc.test sync"))
        return lines[:-1]

    async def register(self, nickname: str, *capabilities: str) -> list[str]:
        """Register as C{nickname} with C{capabilities}; the lines up to the names' end."""
        if capabilities:
            self.send("CAP LS 302", f"CAP REQ :{' '.join(capabilities)}")
        self.send(f"NICK {nickname}", f"USER {nickname} 0 * :{nickname}")
        if capabilities:
            self.send("CAP END")
        return await self.until(lambda line: " 366 " in line)

    async def closed(self) -> None:
        """Wait until the server closes the connection."""
        self.lost.addTimeout(DEADLINE, reactor)
        await self.lost


async def connect_irc(port: int) -> RawIrcClient:
    """Connect a RawIrcClient to 127.0.0.1:C{port}."""
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    return await connectProtocol(endpoint, RawIrcClient())
