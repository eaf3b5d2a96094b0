"""Rooms (docs/protocol.md section 12) over real loopback sockets: word-packet TCP and
WebSocket clients, real history files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted

from chatproto.client.testing import start_server
from chatproto.core.config import RoomConfig
from tests.conftest import RunningServer, serving
from tests.loopback import Conversation, RawClient, connect
from tests.websocket_client import connect_ws


async def joined_tcp(port: int, nickname: str) -> RawClient:
    client = await connect(port)
    await client.join(nickname)
    return client


async def join_room(client: Conversation, room: str, **extra: Any) -> list[Any]:
    """Join C{room}; the replay and welcome that answer it."""
    client.send_json({"command": "join", "room": room, **extra})
    frames = []
    while True:
        frame = await client.next()
        frames.append(frame)
        if isinstance(frame, dict) and frame.get("event") in ("welcome", "error"):
            return frames


async def until(client: Conversation, event: str, **fields: Any) -> dict[str, Any]:
    """The next notice with C{event} and C{fields}, skipping others."""
    while True:
        notice = await client.until_event(event)
        if all(notice.get(key) == value for key, value in fields.items()):
            return notice


@pytest_twisted.ensureDeferred
async def test_two_rooms_stay_apart_across_doors(chat_server: RunningServer) -> None:
    alice = await joined_tcp(chat_server.port, "alice")
    bob = await connect_ws(chat_server.ws_port)
    await bob.join("bob")
    old = await joined_tcp(chat_server.port, "old")  # never names a room
    welcome = (await join_room(alice, "#rust"))[-1]
    assert (welcome["room"], welcome["users"], welcome["topic"]) == ("#rust", ["alice"], "")
    await join_room(bob, "#go")
    await join_room(bob, "#rust")
    assert (await until(alice, "join", room="#rust"))["user"] == "bob"
    alice.send_json({"message": "in rust", "room": "#rust"})
    bob.send_json({"message": "in go", "room": "#go"})
    old.send_json({"message": "in the lobby"})
    got = [await bob.next_chat() for _ in range(3)]
    assert sorted((p["id"], p.get("room", ""), p["message"]) for p in got) == [
        (1, "", "in the lobby"),
        (1, "#go", "in go"),
        (1, "#rust", "in rust"),
    ]
    seen = {(await alice.next_chat())["message"] for _ in range(2)}
    assert seen == {"in rust", "in the lobby"}
    # The old client sees the lobby exactly as before rooms: nothing else arrives first.
    lobby = await old.next()
    assert set(lobby) == {"id", "timestamp", "nickname", "message"}
    assert (lobby["id"], lobby["message"]) == (1, "in the lobby")
    old.send_json({"command": "who"})
    who = await old.next()
    assert (who["event"], who["users"], "room" in who) == ("who", ["alice", "bob", "old"], False)


@pytest_twisted.ensureDeferred
async def test_history_before_and_since_over_websocket(chat_server: RunningServer) -> None:
    alice = await connect_ws(chat_server.ws_port)
    await alice.join("alice")
    await join_room(alice, "#log")
    for n in range(1, 8):
        alice.send_json({"message": f"m{n}", "room": "#log"})
        await alice.next_chat()
    alice.send_json({"command": "history", "room": "#log", "before": 6, "limit": 2})
    assert [(await alice.next())["id"] for _ in range(2)] == [4, 5]
    summary = await alice.next()
    assert (summary["event"], summary["room"], summary["count"]) == ("history", "#log", 2)
    alice.send_json({"command": "history", "room": "#log", "since": 5})
    page = [await alice.next() for _ in range(2)]
    assert [(p["id"], p["history"]) for p in page] == [(6, True), (7, True)]
    assert (await alice.next())["count"] == 2
    alice.send_json({"command": "history", "room": "#log", "since": 1, "before": 3})
    assert (await alice.next())["code"] == "malformed"


@pytest_twisted.ensureDeferred
async def test_ids_and_topics_continue_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    server = await start_server(path)
    alice = await joined_tcp(server.port, "alice")
    await join_room(alice, "#rust")
    alice.send_json({"command": "topic", "room": "#rust", "topic": "crabs"})
    assert (await until(alice, "topic"))["user"] == "alice"
    for text in ("one", "two"):
        alice.send_json({"message": text, "room": "#rust"})
        await alice.next_chat()
    await server.stop()
    server = await start_server(path)
    try:
        bob = await joined_tcp(server.port, "bob")
        bob.send_json({"command": "rooms"})
        listed = (await bob.until_event("rooms"))["rooms"]
        assert listed[1] == {"room": "#rust", "users": 0, "topic": "crabs"}
        frames = await join_room(bob, "#rust", since=1)
        assert [(f["id"], f["message"]) for f in frames[:-1]] == [(2, "two")]
        assert (frames[-1]["last_id"], frames[-1]["topic"]) == (2, "crabs")
        bob.send_json({"message": "three", "room": "#rust"})
        assert (await bob.next_chat())["id"] == 3
    finally:
        await server.stop()


@serving(RoomConfig(max_rooms=3, max_rooms_per_member=2))
@pytest_twisted.ensureDeferred
async def test_room_limits(custom_server: RunningServer) -> None:
    alice = await joined_tcp(custom_server.port, "alice")
    bob = await joined_tcp(custom_server.port, "bob")
    await join_room(alice, "#one")
    assert (await join_room(alice, "#two"))[-1]["code"] == "too-many-rooms"
    await join_room(bob, "#two")
    carol = await joined_tcp(custom_server.port, "carol")
    assert (await join_room(carol, "#three"))[-1]["code"] == "too-many-rooms"
    assert (await join_room(carol, "#one"))[-1]["event"] == "welcome"


@pytest_twisted.ensureDeferred
async def test_resume_takeover_keeps_rooms(chat_server: RunningServer) -> None:
    old = await connect(chat_server.port)
    token = (await old.join("alice"))[-1]["resume_token"]
    await join_room(old, "#rust")
    watcher = await joined_tcp(chat_server.port, "bob")
    await join_room(watcher, "#rust")
    new = await connect(chat_server.port)
    assert [await new.next(), await new.next()] == ["HELLO", "NICK"]
    new.send_json({"nickname": "alice", "token": token, "since": 0})
    assert await new.next() == "READY"
    welcomes = [await new.next(), await new.next()]
    assert [(w["event"], w.get("room")) for w in welcomes] == [
        ("welcome", None),
        ("welcome", "#rust"),
    ]
    assert welcomes[1]["users"] == ["alice", "bob"]
    await old.closed()
    new.send_json({"message": "still here", "room": "#rust"})
    assert (await watcher.next_chat())["message"] == "still here"


@pytest_twisted.ensureDeferred
async def test_a_drop_leaves_every_room_once(chat_server: RunningServer) -> None:
    alice = await joined_tcp(chat_server.port, "alice")
    bob = await joined_tcp(chat_server.port, "bob")
    for room in ("#a", "#b"):
        await join_room(alice, room)
        await join_room(bob, room)
    assert (await until(alice, "join", room="#b"))["user"] == "bob"
    assert bob.transport is not None
    bob.transport.loseConnection()
    left = [await alice.until_event("leave") for _ in range(3)]
    assert [(n["user"], n["reason"], n.get("room")) for n in left] == [
        ("bob", "disconnected", None),
        ("bob", "disconnected", "#a"),
        ("bob", "disconnected", "#b"),
    ]
    alice.send_json({"command": "who", "room": "#a"})
    assert (await alice.until_event("who"))["users"] == ["alice"]
