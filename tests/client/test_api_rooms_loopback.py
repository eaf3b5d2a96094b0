"""The client API's rooms against the real server on loopback: requests, a restart, a takeover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import DeferredQueue
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort
from twisted.protocols.portforward import ProxyFactory, ProxyServer
from twisted.python.failure import Failure

from chatproto.client.api import ChatClient, ChatError, ChatMessage, RoomInfo, Welcome
from chatproto.client.testing import start_server
from tests.client.test_api_loopback import within_deadline
from tests.conftest import RunningServer
from tests.loopback import DEADLINE


class RoomListener(ChatClient):
    """Queues every public message (with its room) and every rejoin's welcome."""

    def __init__(self, nickname: str, **options: Any) -> None:
        super().__init__(nickname, **options)
        self.messages: DeferredQueue[ChatMessage] = DeferredQueue()
        self.rejoins: DeferredQueue[Welcome] = DeferredQueue()
        self.topics: DeferredQueue[tuple[str | None, str, str]] = DeferredQueue()
        self.comings_and_goings: list[tuple[str, str, str | None]] = []

    def message_received(self, message: ChatMessage) -> None:
        self.messages.put(message)

    def rejoined(self, welcome: Welcome) -> None:
        self.rejoins.put(welcome)

    def topic_changed(self, room: str | None, topic: str, user: str) -> None:
        self.topics.put((room, topic, user))

    def user_joined(self, nickname: str, room: str | None) -> None:
        self.comings_and_goings.append(("joined", nickname, room))

    def user_left(self, nickname: str, reason: str, room: str | None) -> None:
        self.comings_and_goings.append(("left", nickname, room))

    async def next(self) -> tuple[str | None, str]:
        """The next public message's room and text (failing after the deadline)."""
        message = await self.messages.get().addTimeout(DEADLINE, reactor)
        return message.room, message.text

    async def rejoined_rooms(self, count: int) -> set[str | None]:
        """The rooms of the next C{count} rejoins."""
        return {(await within_deadline(self.rejoins.get())).room for _ in range(count)}


@pytest_twisted.ensureDeferred
async def test_rooms_keep_their_traffic_apart_with_their_own_ids() -> None:
    server = await start_server()
    try:
        alice, bob = RoomListener("alice"), RoomListener("bob")
        await alice.connect(server.endpoint)
        await bob.connect(server.endpoint)
        welcome = await alice.join("#Rust")
        assert (welcome.room, welcome.users.names, welcome.topic) == ("#Rust", ["alice"], "")
        assert (await bob.join("#rust")).users.names == ["alice", "bob"]

        receipt = await alice.send("hi crabs", room="#rust")
        assert (receipt.room, receipt.id) == ("#Rust", 1)
        await alice.send("hi everyone")
        assert await bob.next() == ("#Rust", "hi crabs")
        assert await bob.next() == (None, "hi everyone")

        await bob.set_topic("#rust", "crabs")
        assert await within_deadline(alice.topics.get()) == ("#Rust", "crabs", "bob")
        rooms = await alice.rooms()
        assert RoomInfo("#Rust", 2, "crabs") in rooms
        assert (await alice.who("#rust")).names == ["alice", "bob"]

        for n in range(3):
            await alice.send(f"m{n}", room="#rust")
        older = await bob.history("#rust", before=4, limit=2)
        assert ([m.id for m in older], older.first_id) == ([2, 3], 1)
        assert all(m.history and m.room == "#Rust" for m in older)

        await bob.part("#rust")
        with pytest.raises(ChatError) as refused:
            await bob.send("gone", room="#rust")
        assert refused.value.code == "not-in-room"
        with pytest.raises(ChatError) as bad:
            await bob.join("no hash")
        assert bad.value.code == "bad-room"
        assert bob.rooms_joined == [None]
        await alice.leave()
        await bob.leave()
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_across_a_server_restart_every_room_resumes_without_gaps_or_duplicates(
    tmp_path: Path,
) -> None:
    history = tmp_path / "history.jsonl"
    first = await start_server(history)
    bot = RoomListener("bot")
    await bot.connect(first.endpoint)
    await bot.join("#rust")
    await bot.join("#go")
    alice = ChatClient("alice", reconnect=False)
    await alice.connect(first.endpoint)
    await alice.join("#rust")
    await alice.send("before", room="#rust")
    assert await bot.next() == ("#rust", "before")
    await alice.leave()
    await first.stop()

    second = await start_server(history)
    alice = ChatClient("alice", reconnect=False)
    await alice.connect(second.endpoint)
    for room in ("#rust", "#go"):
        await alice.join(room)
        await alice.send(f"missed in {room}", room=room)
    await alice.send("missed in the default room")
    await second.listen(first.port)
    assert await bot.rejoined_rooms(3) == {None, "#rust", "#go"}
    await alice.send("after", room="#rust")
    received = [await bot.next() for _ in range(4)]
    assert sorted(received, key=str) == sorted(
        [
            ("#rust", "missed in #rust"),
            ("#go", "missed in #go"),
            (None, "missed in the default room"),
            ("#rust", "after"),
        ],
        key=str,
    )
    assert received.index(("#rust", "missed in #rust")) < received.index(("#rust", "after"))
    assert (bot.last_id_in("#rust"), bot.last_id_in("#go")) == (3, 1)
    await bot.leave()
    await alice.leave()
    await second.stop()
    assert bot.messages.pending == []


class _CuttableProxy(ProxyServer):
    """Forwards a client to the server; L{cut} drops the client's side only, so that the
    server still believes the old connection alive (a lost network)."""

    cut_off = False

    def cut(self) -> None:
        self.cut_off = True
        # Each side is the other's producer: a closed side would stop (close) the other.
        self.transport.unregisterProducer()
        self.peer.transport.unregisterProducer()
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        if not self.cut_off:
            super().connectionLost(reason)


class _Proxies(ProxyFactory):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.open: list[_CuttableProxy] = []

    def buildProtocol(self, addr: Any) -> _CuttableProxy:
        proxy = _CuttableProxy()
        proxy.factory = self
        self.open.append(proxy)
        return proxy


@pytest_twisted.ensureDeferred
async def test_after_a_takeover_kept_rooms_catch_up_with_history() -> None:
    """The bot's network goes (the server does not notice): it comes back with its resume
    token, keeps its rooms, and gets what was said meanwhile once, in order."""
    server = await start_server()
    proxies = _Proxies("127.0.0.1", server.port)
    listening: IListeningPort = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        proxies
    )
    try:
        bot = RoomListener("bot")
        await bot.connect(f"tcp:host=127.0.0.1:port={listening.getHost().port}")
        await bot.join("#rust")
        alice = RoomListener("alice", reconnect=False)
        await alice.connect(server.endpoint)
        await alice.join("#rust")
        await alice.send("one", room="#rust")
        assert await bot.next() == ("#rust", "one")

        proxies.open[0].cut()
        # The server has not noticed: what is said now goes to the dead connection.
        await alice.send("two", room="#rust")
        await alice.send("three", room="#rust")
        assert await bot.rejoined_rooms(2) == {None, "#rust"}
        await alice.send("four", room="#rust")
        assert [await bot.next() for _ in range(3)] == [
            ("#rust", "two"),
            ("#rust", "three"),
            ("#rust", "four"),
        ]
        # A takeover: the bot kept its place in both rooms, nobody saw it leave or come.
        assert (await alice.who("#rust")).names == ["bot", "alice"]
        assert alice.comings_and_goings == []
        await bot.leave()
        await alice.leave()
        assert bot.messages.pending == []
    finally:
        await listening.stopListening()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_a_room_over_the_websocket_door_meets_the_tcp_door(
    chat_server: RunningServer,
) -> None:
    web = RoomListener("web")
    await web.connect(f"ws://127.0.0.1:{chat_server.ws_port}/chat")
    tcp = RoomListener("tcp")
    await tcp.connect(f"tcp:host=127.0.0.1:port={chat_server.port}")
    await web.join("#both")
    await tcp.join("#both")
    await tcp.send("from tcp", room="#both")
    assert await web.next() == ("#both", "from tcp")
    await web.send("from the web", room="#both")
    assert [await tcp.next() for _ in range(2)] == [
        ("#both", "from tcp"),
        ("#both", "from the web"),
    ]
    await web.leave()
    await tcp.leave()
