"""The client API against the real server on loopback (chatproto.client.testing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_twisted
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import serverFromString

from chatproto.client.api import ChatClient, ChatError, ChatMessage, ClientStopped, Welcome
from chatproto.client.service import ChatClientService
from chatproto.client.testing import start_server
from chatproto.core.config import RoomConfig
from tests.client.test_pipe import chat_from
from tests.conftest import RunningServer
from tests.loopback import DEADLINE, connect


class Listener(ChatClient):
    """Queues every public message it receives, and each rejoin's welcome."""

    def __init__(self, nickname: str, **options: Any) -> None:
        super().__init__(nickname, **options)
        self.messages: DeferredQueue[ChatMessage] = DeferredQueue()
        self.rejoins: DeferredQueue[Welcome] = DeferredQueue()

    def message_received(self, message: ChatMessage) -> None:
        self.messages.put(message)

    def rejoined(self, welcome: Welcome) -> None:
        self.rejoins.put(welcome)

    async def next_text(self) -> str:
        """The next public message's text (failing after the deadline)."""
        message = await self.messages.get().addTimeout(DEADLINE, reactor)
        return message.text


class Pong(Listener):
    """Answers !ping with pong."""

    def message_received(self, message: ChatMessage) -> None:
        super().message_received(message)
        if message.text == "!ping" and not message.history:
            self.send("pong")


T = TypeVar("T")


def within_deadline(waiting: Deferred[T]) -> Deferred[T]:
    """C{waiting}, failed after the test deadline."""
    return waiting.addTimeout(DEADLINE, reactor)


@pytest_twisted.ensureDeferred
async def test_a_bot_in_a_few_lines() -> None:
    server = await start_server()
    try:
        bot = Pong("pongbot")
        welcome = await bot.connect(server.endpoint)
        assert welcome.users.names == ["pongbot"]
        alice = await connect(server.port)
        await alice.join("alice")
        alice.send_json({"message": "!ping"})
        assert (await alice.next_chat())["message"] == "!ping"
        pong = await alice.next_chat()
        assert (pong["nickname"], pong["message"]) == ("pongbot", "pong")
        assert (await bot.who()).names == ["pongbot", "alice"]
        await bot.leave()
        leave = await alice.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("pongbot", "bye")
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_receipts_errors_and_pacing() -> None:
    server = await start_server(config=RoomConfig(rate=50, burst=5))
    try:
        bot = ChatClient("bot")
        await bot.connect(server.endpoint)
        receipt = await bot.send("first")
        assert (receipt.own, receipt.nickname, receipt.text) == (True, "bot", "first")
        with pytest.raises(ChatError) as refused:
            await bot.send_private("nobody", "psst")
        assert refused.value.code == "no-such-user"
        burst = [bot.send(f"burst {n}") for n in range(30)]
        receipts = [await within_deadline(sent) for sent in burst]
        ids = [getattr(each, "id", 0) for each in receipts]
        assert [getattr(each, "text", "") for each in receipts] == [f"burst {n}" for n in range(30)]
        assert ids == sorted(ids) and ids[0] > (receipt.id or 0)
        await bot.leave()
        with pytest.raises(ClientStopped):
            await bot.send("too late")
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_across_a_server_restart_nothing_twice_nothing_missed(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    first = await start_server(history)
    bot = Listener("bot")
    await bot.connect(first.endpoint)
    alice = await connect(first.port)
    await alice.join("alice")
    alice.send_json({"message": "before"})
    assert await bot.next_text() == "before"
    await first.stop()

    second = await start_server(history)
    alice = await connect(second.port)
    await alice.join("alice")
    alice.send_json({"message": "while the bot was away"})
    await alice.next_chat()
    await second.listen(first.port)
    await within_deadline(bot.rejoins.get())
    alice.send_json({"message": "after"})
    assert await bot.next_text() == "while the bot was away"
    assert await bot.next_text() == "after"
    await bot.leave()
    await second.stop()
    assert bot.messages.pending == []


@pytest_twisted.ensureDeferred
async def test_connecting_to_nothing_fails_the_join() -> None:
    server = await start_server()
    port = server.port
    await server.stop()
    with pytest.raises(ClientStopped) as stopped:
        await ChatClient("bot").connect(f"tcp:host=127.0.0.1:port={port}")
    assert str(stopped.value).startswith(f"cannot connect to tcp:host=127.0.0.1:port={port}: ")


@pytest_twisted.ensureDeferred
async def test_over_the_websocket_door(chat_server: RunningServer) -> None:
    bot = Pong("wsbot")
    welcome = await bot.connect(f"ws://127.0.0.1:{chat_server.ws_port}/chat")
    assert welcome.users.names == ["wsbot"]
    alice = await connect(chat_server.port)
    await alice.join("alice")
    alice.send_json({"message": "!ping"})
    assert await chat_from(alice, "wsbot") == "pong"
    receipt = await bot.send_private("alice", "psst é")
    assert (receipt.to, receipt.text) == ("alice", "psst é")
    assert (await alice.next_chat())["message"] == "psst é"
    await bot.leave()
    leave = await alice.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("wsbot", "bye")


@pytest_twisted.ensureDeferred
async def test_a_websocket_url_that_is_not_a_chat_socket_fails_the_join(
    chat_server: RunningServer,
) -> None:
    with pytest.raises(ClientStopped) as stopped:
        await ChatClient("bot").connect(f"ws://127.0.0.1:{chat_server.ws_port}/nothing-here")
    assert "ended before we joined" in str(stopped.value)


class _Flooder(WebSocketServerProtocol):  # type: ignore[misc]
    """A WebSocket server that answers the upgrade with one message bigger than a frame."""

    def onOpen(self) -> None:
        self.sendMessage(b"x" * 70000)


@pytest_twisted.ensureDeferred
async def test_a_websocket_message_bigger_than_a_frame_closes_the_connection() -> None:
    factory = WebSocketServerFactory()
    factory.protocol = _Flooder
    listening = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
    try:
        client = ChatClient("bot", timeout=DEADLINE)
        with pytest.raises(ClientStopped) as stopped:
            await client.connect(f"ws://127.0.0.1:{listening.getHost().port}/chat")
        assert "ended before we joined" in str(stopped.value)
    finally:
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_as_a_twistd_service_it_joins_on_start_and_leaves_on_stop() -> None:
    server = await start_server()
    try:
        alice = await connect(server.port)
        await alice.join("alice")
        service = ChatClientService(ChatClient("servicebot"), server.endpoint)
        service.startService()
        assert (await alice.until_event("join"))["user"] == "servicebot"
        await service.stopService()
        leave = await alice.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("servicebot", "bye")
    finally:
        await server.stop()
