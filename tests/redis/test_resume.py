"""A resume token issued by one node takes the place back through any node (sections 2, 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest_twisted

from chatproto.seams.redis.scripts import Keys
from tests.loopback import RawClient, connect
from tests.redis.nodes import Node, start_node, stop_node, stop_nodes, until
from tests.redis.server import RedisServer


async def resumed(node: Node, nickname: str, since: int, token: str) -> tuple[RawClient, Any]:
    """A client that asked C{node} for C{nickname} with the resume form; its answer
    (READY, then the frames up to the welcome, or RETRY)."""
    client = await connect(node.port)
    assert [await client.next(), await client.next()] == ["HELLO", "NICK"]
    client.send(json.dumps({"nickname": nickname, "since": since, "token": token}))
    answer = await client.next()
    if answer != "READY":
        return client, answer
    after = []
    while not after or after[-1].get("event") != "welcome":
        after.append(await client.next())
    return client, after


async def frames_until(client: RawClient, message: str) -> list[Any]:
    """Everything C{client} receives up to the chat message C{message}."""
    frames: list[Any] = []
    while not frames or frames[-1].get("message") != message:
        frames.append(await client.next())
    return frames


@pytest_twisted.ensureDeferred
async def test_a_token_from_one_node_takes_the_place_back_through_another(
    redis_server: RedisServer,
) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    old = await connect(a.port)
    token = (await old.join("Alice"))[-1]["resume_token"]
    bob = await connect(b.port)
    await bob.join("bob")
    await until(lambda: len(a.redis.presence.listed()) == 2, "node a to hear of bob")
    old.send_json({"message": "before"})
    assert (await bob.next_chat())["id"] == 1
    bob.send_json({"message": "while alice's link is dying"})
    assert (await bob.next_chat())["id"] == 2

    # Alice's old connection is still open (the server has not noticed it is lost).
    new, after = await resumed(b, "alice", 1, token)
    assert [(p["id"], p["message"], p["history"]) for p in after[:-1]] == [
        (2, "while alice's link is dying", True)
    ]
    welcome = after[-1]
    assert welcome["users"] == ["Alice", "bob"]  # the place keeps the spelling others know
    assert welcome["resume_token"] != token
    await old.closed()
    new.send_json({"message": "back"})
    seen_by_bob = await frames_until(bob, "back")
    assert [f.get("event") for f in seen_by_bob if "event" in f] == []  # no leave, no join
    assert seen_by_bob[-1]["nickname"] == "Alice"
    new.send_json({"command": "who"})
    assert (await new.until_event("who"))["users"] == ["Alice", "bob"]

    # The used token is spent; a wrong one changes nothing; the new one works on node a.
    stale, answer = await resumed(a, "alice", 3, token)
    assert answer == "RETRY"
    _guess, answer = await resumed(a, "alice", 3, "x" * 22)
    assert answer == "RETRY"
    _again, after = await resumed(a, "alice", 3, welcome["resume_token"])
    assert after[-1]["event"] == "welcome"
    await new.closed()
    stale.transport.loseConnection()
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_redis_keeps_a_hash_of_each_token_and_forgets_it_when_its_member_leaves(
    redis_server: RedisServer,
) -> None:
    node = await start_node(redis_server.url)
    alice = await connect(node.port)
    token = (await alice.join("alice"))[-1]["resume_token"]
    kept = await node.redis._commands.execute("HGETALL", Keys.tokens)
    assert kept[0] == b"alice"
    assert len(kept[1]) == 64 and token.encode() not in kept[1]
    alice.send("BYE")
    await alice.closed()
    assert await node.redis._commands.execute("HLEN", Keys.tokens) == 0
    await stop_node(node)
