"""Moderation shared by nodes through a real redis-server (docs/protocol.md section 14):
every node applies a change at once, and a node started later reads what holds."""

from __future__ import annotations

from typing import Any

import pytest_twisted

from chatproto.seams.moderation import (
    BanEntry,
    Flag,
    FlagEntry,
    MuteEntry,
    Role,
    RoleEntry,
)
from chatproto.seams.redis.reader import room_feed
from tests.loopback import RawClient
from tests.redis.nodes import Node, joined, start_node, stop_nodes, until
from tests.redis.server import RedisServer
from tests.redis.test_rooms import enter, in_room, members_in_redis


async def refused(client: RawClient, command: dict[str, Any]) -> dict[str, Any]:
    """The error notice that answers C{command}."""
    client.send_json(command)
    return await client.until_event("error")


async def two_in_rust(a: Node, b: Node) -> tuple[RawClient, RawClient]:
    """alice on node C{a}, who creates #rust (and so operates it), and bob on node C{b},
    both in #rust."""
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    welcome = (await enter(alice, "#rust"))[-1]
    assert welcome["operators"] == ["alice"]
    await until(lambda: members_in_redis(a, "#rust"), "alice's join to reach Redis")
    await enter(bob, "#rust")
    await in_room(alice, "#rust", "join")
    return alice, bob


@pytest_twisted.ensureDeferred
async def test_a_ban_on_one_node_holds_on_every_node(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice, bob = await two_in_rust(a, b)
    alice.send_json({"command": "ban", "room": "#rust", "mask": "bob", "comment": "spam"})
    leave = await in_room(bob, "#rust", "leave")
    assert (leave["user"], leave["reason"], leave["by"], leave["comment"]) == (
        "bob",
        "banned",
        "alice",
        "spam",
    )
    assert (await in_room(alice, "#rust", "leave"))["reason"] == "banned"
    again = await refused(bob, {"command": "join", "room": "#rust"})
    assert (again["code"], again["room"]) == ("banned", "#rust")
    alice.send_json({"command": "unban", "room": "#rust", "mask": "bob"})
    await in_room(alice, "#rust", "moderation")
    ledger = b.room.moderation.ledger
    await until(lambda: not ledger.rules("#rust").bans, "node b to lift the ban")
    assert (await enter(bob, "#rust"))[-1]["room"] == "#rust"
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_a_node_started_later_applies_what_holds(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice, bob = await two_in_rust(a, b)
    alice.send_json({"command": "mute", "room": "#rust", "user": "bob"})
    await in_room(bob, "#rust", "moderation")
    muted = await refused(bob, {"message": "hi", "room": "#rust"})
    assert (muted["code"], muted["room"]) == ("muted", "#rust")
    alice.send_json({"command": "topic-lock", "room": "#rust", "on": True})
    await in_room(bob, "#rust", "moderation")
    locked = await refused(bob, {"command": "topic", "room": "#rust", "topic": "mine"})
    assert locked["code"] == "not-permitted"
    c = await start_node(redis_server.url)
    carol, _ = await joined(c, "carol")
    await enter(carol, "#rust")
    refusal = await refused(carol, {"command": "topic", "room": "#rust", "topic": "mine"})
    assert refusal["code"] == "not-permitted"
    await stop_nodes(a, b, c)


@pytest_twisted.ensureDeferred
async def test_a_redaction_takes_the_text_out_of_redis(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice, bob = await two_in_rust(a, b)
    alice.send_json({"message": "a secret", "room": "#rust"})
    alice.send_json({"message": "kept", "room": "#rust"})
    said = [await bob.next_chat() for _ in range(2)]
    assert [chat["message"] for chat in said] == ["a secret", "kept"]
    alice.send_json({"command": "redact", "room": "#rust", "id": said[0]["id"]})
    redacted = await in_room(bob, "#rust", "redact")
    assert (redacted["id"], redacted["by"]) == (said[0]["id"], "alice")
    commands = a.redis._commands
    stored = await commands.execute("XRANGE", "{chatproto}:room:#rust:history", "-", "+")
    fed = await commands.execute("XRANGE", room_feed("#rust"), "-", "+")
    everything = repr(stored) + repr(fed)
    assert "a secret" not in everything and "kept" in everything
    bob.send_json({"command": "history", "room": "#rust"})
    assert (await bob.until_event("history"))["count"] == 1
    # The default room's messages are in streams of their own; a member redacts its own.
    bob.send_json({"message": "oops"})
    oops = await bob.next_chat()
    bob.send_json({"command": "redact", "id": oops["id"]})
    assert (await in_room(bob, None, "redact"))["id"] == oops["id"]
    stored = await commands.execute("XRANGE", "{chatproto}:history", "-", "+")
    fed = await commands.execute("XRANGE", "{chatproto}:feed", "-", "+")
    assert "oops" not in repr(stored) + repr(fed)
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_the_store_keeps_one_entry_per_key(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    store = a.redis.moderation
    await store.put_ban(BanEntry("#x", "eve", "alice", "", 2e9))
    await store.put_ban(BanEntry("#x", "eve", "alice", "again", None))
    await store.put_role(RoleEntry("#x", "alice", Role.FOUNDER))
    await store.put_role(RoleEntry("#x", "bob", Role.FOUNDER))
    await store.drop_role(RoleEntry("#x", "alice", Role.FOUNDER))  # not the founder now
    await store.put_role(RoleEntry("#x", "carol", Role.VOICE))
    await store.put_flag(FlagEntry("#x", Flag.MODERATED))
    await store.put_mute(MuteEntry("#x", "eve", "alice", None))
    await store.drop_mute("#x", "eve")
    await store.put_flag(FlagEntry("#x", Flag.TOPIC_LOCK))
    loaded = await b.redis.moderation.load()  # in the hash's order
    assert (loaded.bans, loaded.mutes) == ([BanEntry("#x", "eve", "alice", "again", None)], [])
    assert set(loaded.roles) == {
        RoleEntry("#x", "bob", Role.FOUNDER),
        RoleEntry("#x", "carol", Role.VOICE),
    }
    assert set(loaded.flags) == {FlagEntry("#x", Flag.MODERATED), FlagEntry("#x", Flag.TOPIC_LOCK)}
    # Node b applied each change as the feed brought it, in order.
    rules = b.room.moderation.ledger.rules("#x")
    await until(lambda: Flag.TOPIC_LOCK in rules.flags, "node b to apply the last change")
    assert rules.mutes == {}
    assert (rules.founder, rules.roles, list(rules.bans)) == (
        "bob",
        {"carol": {Role.VOICE}},
        ["eve"],
    )
    await stop_nodes(a, b)
