"""A loopback TCP proxy between one node and Redis whose traffic a test can hold: a
network partition of that node only (its connections stay open, nothing passes)."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure


class _End(Protocol):
    """One side of a proxied connection: what it reads goes to the other side."""

    def __init__(self, partition: Partition) -> None:
        self.partition = partition
        self.other: _End | None = None

    def dataReceived(self, data: bytes) -> None:
        self.partition.carry(self, data)

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.loseConnection()


class Partition:
    """Listens on loopback and connects each client to 127.0.0.1:C{target}; while
    L{hold} is on, bytes in either direction are kept, and L{release} passes them on."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.holding = False
        self._kept: list[tuple[_End, bytes]] = []
        self._listening: IListeningPort | None = None
        self._ends: list[_End] = []

    async def start(self) -> int:
        """Listen; returns the port a node should use as Redis's."""
        factory = Factory.forProtocol(lambda: self._accepted())
        endpoint = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        self._listening = await endpoint.listen(factory)
        return int(self._listening.getHost().port)

    def _accepted(self) -> _End:
        inbound = _End(self)
        outbound = _End(self)
        inbound.other, outbound.other = outbound, inbound
        self._ends += [inbound, outbound]
        connecting = TCP4ClientEndpoint(reactor, "127.0.0.1", self.target).connect(
            Factory.forProtocol(lambda: outbound)
        )
        connecting.addCallbacks(
            lambda _: self._pass_kept(), lambda _: inbound.transport.loseConnection()
        )
        return inbound

    def carry(self, source: _End, data: bytes) -> None:
        """Pass C{data} to the other side, or keep it while holding (or not yet connected)."""
        other = source.other
        if self.holding or self._kept or other is None or other.transport is None:
            self._kept.append((source, data))
        else:
            other.transport.write(data)

    def hold(self) -> None:
        """Keep everything from now on: the node and Redis no longer hear each other."""
        self.holding = True

    def release(self) -> None:
        """Pass on what was kept, in order, and everything after it."""
        self.holding = False
        self._pass_kept()

    def _pass_kept(self) -> None:
        while self._kept and not self.holding:
            source, data = self._kept[0]
            other = source.other
            if other is None or other.transport is None:
                return  # its other side is still connecting
            self._kept.pop(0)
            other.transport.write(data)

    async def stop(self) -> None:
        """Stop listening and close every proxied connection."""
        if self._listening is not None:
            await self._listening.stopListening()
        for end in self._ends:
            if end.transport is not None:
                end.transport.loseConnection()
