"""Rooms shared by several nodes (docs/protocol.md sections 11 and 12), on a real
redis-server."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest_twisted

from chatproto.seams.redis.reader import room_feed
from tests.loopback import RawClient, connect
from tests.redis.nodes import (
    CONFIG,
    Node,
    crash_node,
    joined,
    start_node,
    stop_node,
    stop_nodes,
    until,
)
from tests.redis.server import RedisServer
from tests.redis.test_resume import frames_until, resumed


async def enter(client: RawClient, room: str, since: int | None = None) -> list[Any]:
    """Join C{room}; the frames about it up to its welcome (the replay, then the welcome).
    Rooms in these tests differ in case only, not in width."""
    client.send_json(
        {"command": "join", "room": room, **({} if since is None else {"since": since})}
    )
    frames: list[Any] = []
    while not frames or frames[-1].get("event") != "welcome":
        frame = await client.next()
        if isinstance(frame, dict) and str(frame.get("room")).lower() == room.lower():
            frames.append(frame)
    return frames


async def members_in_redis(node: Node, room: str) -> list[bytes]:
    """The nickname keys Redis lists in C{room} (by key), in join order."""
    members = f"{{chatproto}}:room:{room}:members"
    reply: list[bytes] = await node.redis._commands.execute("ZRANGE", members, 0, -1)
    return reply


def reads(node: Node) -> set[str]:
    """The rooms (by key) whose feeds C{node} reads besides the default room's."""
    return {
        key for key in ("#rust", "#go", "#a", "#b") if room_feed(key) in node.redis._reader.followed
    }


async def in_room(client: RawClient, room: str | None, event: str) -> dict[str, Any]:
    """The next notice C{event} about C{room} (None: the default room)."""
    while True:
        frame = await client.until_event(event)
        if frame.get("room") == room:
            return frame


@pytest_twisted.ensureDeferred
async def test_three_nodes_share_a_rooms_ids_members_and_history(
    redis_server: RedisServer,
) -> None:
    a, b, c = [await start_node(redis_server.url) for _ in range(3)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    carol, _ = await joined(c, "carol")
    await enter(alice, "#rust")
    await until(lambda: members_in_redis(a, "#rust"), "alice's join to reach Redis")
    assert (await enter(bob, "#Rust"))[-1]["users"] == ["alice", "bob"]
    assert (await in_room(alice, "#rust", "join"))["user"] == "bob"
    welcome = (await enter(carol, "#rust"))[-1]
    assert (welcome["users"], welcome["room"]) == (["alice", "bob", "carol"], "#rust")
    for n in range(3):
        alice.send_json({"message": f"a{n}", "room": "#rust"})
        bob.send_json({"message": f"b{n}", "room": "#RUST"})
    carol.send_json({"message": "in the default room"})
    seen = []
    for client in (alice, bob, carol):
        chats = [await client.next_chat() for _ in range(7)]
        in_rust = [chat for chat in chats if chat.get("room") == "#rust"]
        assert [chat["id"] for chat in in_rust] == [1, 2, 3, 4, 5, 6]
        default = [chat for chat in chats if "room" not in chat]
        assert [(chat["id"], chat["message"]) for chat in default] == [(1, "in the default room")]
        seen.append(in_rust)
    assert seen[0] == seen[1] == seen[2]
    carol.send_json({"command": "who", "room": "#rust"})
    assert (await in_room(carol, "#rust", "who"))["users"] == ["alice", "bob", "carol"]
    bob.send_json({"command": "part", "room": "#rust"})
    for client in (alice, carol):
        leave = await in_room(client, "#rust", "leave")
        assert (leave["user"], leave["reason"]) == ("bob", "part")
    await until(lambda: reads(b) == set(), "node b to stop reading #rust")
    carol.send_json({"command": "who", "room": "#rust"})
    assert (await in_room(carol, "#rust", "who"))["users"] == ["alice", "carol"]
    await stop_nodes(a, b, c)


@pytest_twisted.ensureDeferred
async def test_a_node_reads_only_the_rooms_its_members_are_in(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    await enter(alice, "#rust")
    await enter(bob, "#go")
    assert (reads(a), reads(b)) == ({"#rust"}, {"#go"})
    alice.send_json({"message": "rust only", "room": "#rust"})
    bob.send_json({"message": "go only", "room": "#go"})
    assert (await alice.next_chat())["message"] == "rust only"
    assert (await bob.next_chat())["message"] == "go only"
    alice.send_json({"command": "part", "room": "#rust"})
    await in_room(alice, "#rust", "leave")
    await until(lambda: reads(a) == set(), "node a to stop reading #rust")
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_topics_and_the_rooms_list_are_shared(redis_server: RedisServer) -> None:
    a, b, c = [await start_node(redis_server.url) for _ in range(3)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    carol, _ = await joined(c, "carol")
    await enter(alice, "#rust")
    await enter(bob, "#rust")
    await enter(bob, "#b")
    alice.send_json({"command": "topic", "room": "#rust", "topic": "crabs"})
    for client in (alice, bob):
        topic = await in_room(client, "#rust", "topic")
        assert (topic["topic"], topic["user"]) == ("crabs", "alice")
    assert (await enter(carol, "#rust"))[-1]["topic"] == "crabs"
    carol.send_json({"command": "topic", "topic": "the default room"})
    assert (await bob.until_event("topic"))["topic"] == "the default room"
    await until(lambda: len(c.redis.presence.listed()) == 3, "node c to hear of every member")
    carol.send_json({"command": "rooms"})
    listed = (await carol.until_event("rooms"))["rooms"]
    assert listed == [
        {"room": "#b", "users": 1, "topic": ""},
        {"room": "#chat", "users": 3, "topic": "the default room"},
        {"room": "#rust", "users": 3, "topic": "crabs"},
    ]
    await until(lambda: a.room.default_room.topic == "the default room", "node a's topic")
    dave = await connect(a.port)
    assert (await dave.join("dave"))[-1]["topic"] == "the default room"
    await stop_nodes(a, b, c)
    started = await start_node(redis_server.url)
    assert started.room.default_room.topic == "the default room"
    await stop_node(started)


@pytest_twisted.ensureDeferred
async def test_history_before_and_since_across_nodes(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    await enter(alice, "#rust")
    for n in range(1, 6):
        alice.send_json({"message": f"m{n}", "room": "#rust"})
    assert [(await alice.next_chat())["id"] for _ in range(5)] == [1, 2, 3, 4, 5]
    replay = await enter(bob, "#rust", since=2)
    assert [(p["id"], p["history"]) for p in replay[:-1]] == [(3, True), (4, True), (5, True)]
    assert (replay[-1]["last_id"], replay[-1]["first_id"]) == (5, 1)
    for fields, ids in [({"before": 4, "limit": 2}, [2, 3]), ({"since": 3}, [4, 5])]:
        bob.send_json({"command": "history", "room": "#rust", **fields})
        got = [await bob.next_chat() for _ in ids]
        assert [(p["id"], p["history"]) for p in got] == [(n, True) for n in ids]
        summary = await bob.until_event("history")
        assert (summary["event"], summary["count"], summary["room"]) == ("history", 2, "#rust")
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_resuming_on_another_node_keeps_the_rooms(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    old, after_ready = await joined(a, "alice")
    token = after_ready[-1]["resume_token"]
    bob, _ = await joined(b, "bob")
    await enter(old, "#rust")
    await enter(old, "#go")
    await until(lambda: members_in_redis(a, "#rust"), "alice's join to reach Redis")
    await enter(bob, "#rust")
    new, after = await resumed(b, "alice", 0, token)
    assert "room" not in after[-1]  # the default room's welcome first
    welcomes = [await new.until_event("welcome") for _ in range(2)]
    assert sorted(w["room"] for w in welcomes) == ["#go", "#rust"]
    rust = next(w for w in welcomes if w["room"] == "#rust")
    assert rust["users"] == ["alice", "bob"]
    await old.closed()
    await until(lambda: reads(a) == set(), "node a to stop reading the rooms")
    assert reads(b) == {"#rust", "#go"}
    new.send_json({"message": "still here", "room": "#rust"})
    frames = await frames_until(bob, "still here")
    assert frames[-1]["room"] == "#rust"
    # Nobody left and nobody joined a room (alice's `join` of the default room, from
    # before bob was there, may come late: section 11).
    events = [(f["event"], f.get("room")) for f in frames if "event" in f]
    assert set(events) <= {("join", None)}, events
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_a_crashed_nodes_member_leaves_each_of_its_rooms_once(
    redis_server: RedisServer,
) -> None:
    timeout = 2.0  # fencing after 1 s without a heartbeat: a busy machine must not cause it
    a, b = [await start_node(redis_server.url, node_timeout=timeout) for _ in range(2)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    for room in ("#rust", "#go"):
        await enter(alice, room)
        await enter(bob, room)
    await crash_node(a)
    leaves = []
    while len(leaves) < 3:
        frame = await bob.until_event("leave")
        leaves.append((frame["user"], frame["reason"], frame.get("room")))
    assert sorted(leaves, key=str) == sorted(
        [("alice", "disconnected", room) for room in (None, "#rust", "#go")], key=str
    )
    bob.send_json({"command": "who", "room": "#go"})
    assert (await in_room(bob, "#go", "who"))["users"] == ["bob"]
    bob.send_json({"message": "after", "room": "#go"})
    assert (await bob.next())["message"] == "after"  # no second leave came before it
    await stop_node(b)


@pytest_twisted.ensureDeferred
async def test_max_rooms_counts_the_rooms_of_every_node(redis_server: RedisServer) -> None:
    config = replace(CONFIG, max_rooms=3)
    a, b = [await start_node(redis_server.url, config=config) for _ in range(2)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    await enter(alice, "#a")
    await enter(bob, "#b")
    alice.send_json({"command": "join", "room": "#rust"})
    assert (await alice.until_event("error"))["code"] == "too-many-rooms"
    assert (await enter(alice, "#b"))[-1]["users"] == ["bob", "alice"]
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_the_default_room_keeps_its_keys(redis_server: RedisServer) -> None:
    a = await start_node(redis_server.url)
    alice, _ = await joined(a, "alice")
    alice.send_json({"message": "default"})
    assert (await alice.next_chat())["id"] == 1
    commands = a.redis._commands
    assert await commands.execute("GET", "{chatproto}:last_id") == b"1"
    assert await commands.execute("XLEN", "{chatproto}:history") == 1
    await stop_node(a)


@pytest_twisted.ensureDeferred
async def test_a_member_who_parts_the_default_room_is_unlisted_on_every_node(
    redis_server: RedisServer,
) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    await until(lambda: len(b.redis.presence.listed()) == 2, "node b to hear of alice")
    alice.send_json({"command": "part"})
    assert (await bob.until_event("leave"))["reason"] == "part"
    await until(lambda: b.redis.presence.listed() == [b'"bob"'], "node b to unlist alice")
    bob.send_json({"command": "who"})
    assert (await bob.until_event("who"))["users"] == ["bob"]
    carol = await connect(b.port)
    assert (await carol.join("carol"))[-1]["users"] == ["bob", "carol"]
    alice.send_json({"command": "join", "room": "#chat"})
    while (await bob.until_event("join"))["user"] != "alice":
        pass  # carol's
    await until(lambda: len(b.redis.presence.listed()) == 3, "node b to list alice again")
    bob.send_json({"command": "who"})
    assert (await bob.until_event("who"))["users"] == ["alice", "bob", "carol"]
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_rooms_answer_unavailable_while_redis_is_down(redis_server: RedisServer) -> None:
    a = await start_node(redis_server.url)
    alice, _ = await joined(a, "alice")
    redis_server.stop()
    await until(lambda: not a.redis.connected, "node a to lose Redis")
    for command in (
        {"command": "join", "room": "#rust"},
        {"command": "rooms"},
        {"command": "topic", "topic": "down"},
    ):
        alice.send_json(command)
        got = await alice.next()
        assert got.get("code") == "unavailable", (command, got)
    assert reads(a) == set() and "#rust" not in a.room.registry.rooms
    redis_server.start()
    await until(lambda: a.redis.connected, "node a to reach Redis again")
    assert (await enter(alice, "#rust"))[-1]["users"] == ["alice"]
    await stop_node(a)
