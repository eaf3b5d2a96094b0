"""The server over real loopback sockets (pytest-twisted)."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.doors.tcp.framing import frame
from chatproto.doors.tcp.protocol import WordPacketFactory
from chatproto.history import JsonLinesHistory
from tests.conftest import RunningServer
from tests.loopback import connect


@pytest_twisted.ensureDeferred
async def test_several_choose_at_once_and_everyone_hears_everyone(
    chat_server: RunningServer,
) -> None:
    clients = [await connect(chat_server.port) for _ in range(4)]
    # All four are connected and choosing before any of them picks a name.
    for client in clients:
        assert await client.next() == "HELLO"
        assert await client.next() == "NICK"
    for n, client in enumerate(clients):
        client.send(f"user{n}")
    for client in clients:
        assert await client.next() == "READY"
        await client.until_event("welcome")
    for n, client in enumerate(clients):
        client.send_json({"message": f"hi from {n}"})
    for client in clients:
        got = [await client.next_chat() for _ in clients]
        assert sorted(p["message"] for p in got) == [f"hi from {n}" for n in range(4)]
        assert [p["id"] for p in got] == [1, 2, 3, 4]
    for client in clients:
        client.send("BYE")
        await client.closed()


@pytest_twisted.ensureDeferred
async def test_join_while_another_is_still_choosing(chat_server: RunningServer) -> None:
    slow = await connect(chat_server.port)
    assert await slow.next() == "HELLO"
    alice = await connect(chat_server.port)
    await alice.join("alice")
    bob = await connect(chat_server.port)
    await bob.join("bob")
    alice.send_json({"message": "hello bob"})
    assert (await bob.next_chat())["message"] == "hello bob"
    assert await slow.next() == "NICK"
    slow.send("carol")
    assert await slow.next() == "READY"


@pytest_twisted.ensureDeferred
async def test_leave_frees_nickname_and_others_are_told(chat_server: RunningServer) -> None:
    alice = await connect(chat_server.port)
    await alice.join("alice")
    bob = await connect(chat_server.port)
    await bob.join("bob")
    bob.send("BYE")
    await bob.closed()
    leave = await alice.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("bob", "bye")
    again = await connect(chat_server.port)
    welcome = (await again.join("BOB"))[-1]
    assert welcome["users"] == ["alice", "BOB"]


@pytest_twisted.ensureDeferred
async def test_replay_and_resume_without_gap_or_duplicate(chat_server: RunningServer) -> None:
    alice = await connect(chat_server.port)
    await alice.join("alice")
    for n in range(5):
        alice.send_json({"message": f"m{n}"})
    for _ in range(5):
        await alice.next_chat()
    late = await connect(chat_server.port)
    after = await late.join("late")
    assert [(p["id"], p["history"]) for p in after[:-1]] == [(n, True) for n in range(1, 6)]
    assert after[-1]["last_id"] == 5
    late.send("BYE")
    await late.closed()
    alice.send_json({"message": "while you were away"})
    back = await connect(chat_server.port)
    assert await back.next() == "HELLO"
    assert await back.next() == "NICK"
    back.send_json({"nickname": "late", "since": 5})
    assert await back.next() == "READY"
    replayed = await back.next()
    assert (replayed["id"], replayed["message"], replayed["history"]) == (
        6,
        "while you were away",
        True,
    )
    assert (await back.next())["event"] == "welcome"
    # History is in the file, one record a line, exactly as broadcast.
    lines = chat_server.history_path.read_bytes().splitlines()
    assert len(lines) == 6 and b'"history"' not in lines[0]


@pytest_twisted.ensureDeferred
async def test_private_message(chat_server: RunningServer) -> None:
    alice = await connect(chat_server.port)
    await alice.join("alice")
    bob = await connect(chat_server.port)
    await bob.join("bob")
    carol = await connect(chat_server.port)
    await carol.join("carol")
    alice.send_json({"message": "just for you", "to": "bob"})
    got = await bob.next_chat()
    assert (got["nickname"], got["to"], got["message"]) == ("alice", "bob", "just for you")
    assert (await alice.next_chat())["to"] == "bob"
    carol.send_json({"command": "who"})
    who = await carol.until_event("who")  # nothing private reached carol before it
    assert who["users"] == ["alice", "bob", "carol"]


@pytest_twisted.ensureDeferred
async def test_shutdown_notice_then_close(chat_server: RunningServer) -> None:
    alice = await connect(chat_server.port)
    await alice.join("alice")
    choosing = await connect(chat_server.port)
    assert await choosing.next() == "HELLO"
    chat_server.room.announce_shutdown(5)
    notice = await alice.until_event("shutdown")
    assert (notice["grace"], notice["message"]) == (5, "Server closing in 5 seconds")
    alice.send_json({"message": "still served"})
    assert (await alice.next_chat())["message"] == "still served"
    chat_server.room.close_all()
    await alice.closed()
    await choosing.closed()


@pytest_twisted.ensureDeferred
async def test_fsync_always_bye_still_gets_its_own_last_message(tmp_path: Path) -> None:
    history = JsonLinesHistory(str(tmp_path / "h.jsonl"), fsync="always")
    room = Hall(RoomConfig(), history, reactor)
    port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        WordPacketFactory(room)
    )
    try:
        alice = await connect(port.getHost().port)
        await alice.join("alice")
        alice.transport.write(frame(b'{"message": "last words"}') + frame(b"BYE"))
        assert (await alice.next_chat())["message"] == "last words"
        await alice.closed()
    finally:
        await port.stopListening()
        room.close_all()
        await history.close()
