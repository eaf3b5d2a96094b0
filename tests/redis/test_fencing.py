"""A node cut off from Redis closes its members before the others may free them (section 11)."""

from __future__ import annotations

import pytest_twisted
from twisted.logger import capturedLogs, formatEvent

from chatproto.seams.redis.scripts import Keys
from tests.loopback import connect
from tests.redis.nodes import Node, joined, start_node, stop_nodes, until
from tests.redis.partition import Partition
from tests.redis.server import RedisServer
from tests.redis.test_resume import frames_until, resumed

#: Fencing after 1 s without a renewed heartbeat, freed by the others after 1.5 s.
NODE_TIMEOUT = 2.0


async def partitioned_nodes(redis_server: RedisServer) -> tuple[Partition, Node, Node]:
    """Node a reaching Redis through a partition the test controls, node b directly."""
    partition = Partition(redis_server.port)
    behind = f"redis://127.0.0.1:{await partition.start()}/0"
    a = await start_node(behind, node_timeout=NODE_TIMEOUT)
    b = await start_node(redis_server.url, node_timeout=NODE_TIMEOUT)
    return partition, a, b


async def stop_all(partition: Partition, *nodes: Node) -> None:
    """Stop the nodes, then the partition."""
    await stop_nodes(*nodes)
    await partition.stop()


@pytest_twisted.ensureDeferred
async def test_a_partitioned_node_closes_its_members_and_they_resume_elsewhere(
    redis_server: RedisServer,
) -> None:
    partition, a, b = await partitioned_nodes(redis_server)
    old = await connect(a.port)
    token = (await old.join("alice"))[-1]["resume_token"]
    bob = await connect(b.port)
    await bob.join("bob")
    await until(lambda: len(a.redis.presence.listed()) == 2, "node a to hear of bob")
    old.send_json({"message": "before"})
    assert (await bob.next_chat())["id"] == 1

    with capturedLogs() as logged:
        partition.hold()  # node a and Redis no longer hear each other; b does
        await old.closed()  # fenced: alice's connection is closed by node a
        new, after = await resumed(b, "alice", 1, token)
        assert after[-1]["event"] == "welcome"
        # The partition lasts until node b has found node a silent and dropped it.
        node_a = a.redis.node_id.encode()

        async def a_is_dropped() -> bool:
            return await b.redis._commands.execute("ZSCORE", Keys.nodes, node_a) is None

        await until(a_is_dropped, "node b to drop node a")
        partition.release()
        await until(lambda: not a.redis.presence.fenced, "node a to renew its presence")
        await a.redis.writer.idle()
    said = [formatEvent(event) for event in logged]
    fenced = [text for text in said if "could not renew its presence in Redis" in text]
    assert len(fenced) == 1 and "closed its 1 members" in fenced[0], said

    # Bob saw alice leave and come back, or (her place taken over in time) neither.
    new.send_json({"message": "after"})
    events = [f.get("event") for f in await frames_until(bob, "after") if "event" in f]
    assert events in ([], ["leave", "join"]), events
    bob.send_json({"command": "who"})
    assert sorted((await bob.until_event("who"))["users"]) == ["alice", "bob"]
    # Node a takes members again.
    carol = await connect(a.port)
    await carol.join("carol")
    await stop_all(partition, a, b)


@pytest_twisted.ensureDeferred
async def test_a_fenced_node_back_in_time_frees_its_members_itself_with_one_leave(
    redis_server: RedisServer,
) -> None:
    partition, a, b = await partitioned_nodes(redis_server)
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    await until(lambda: len(b.redis.presence.listed()) == 2, "node b to hear of alice")
    partition.hold()
    await alice.closed()
    partition.release()  # perhaps before node b found node a silent: a frees alice itself
    leave = await bob.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("alice", "disconnected")
    again = await connect(b.port)
    assert await again.choose("alice") == "READY"
    again.send_json({"message": "back"})
    events = [f.get("event") for f in await frames_until(bob, "back") if "event" in f]
    assert events == ["join"]  # one leave in all
    await stop_all(partition, a, b)


@pytest_twisted.ensureDeferred
async def test_a_fenced_nodes_member_leaves_each_of_its_rooms_once(
    redis_server: RedisServer,
) -> None:
    partition, a, b = await partitioned_nodes(redis_server)
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    for client in (alice, bob):
        client.send_json({"command": "join", "room": "#rust"})
        await client.until_event("welcome")
    partition.hold()
    await alice.closed()
    partition.release()  # freed by node a itself, or by node b: one leave per room either way
    leaves = []
    while len(leaves) < 2:
        leave = await bob.until_event("leave")
        leaves.append((leave["user"], leave["reason"], leave.get("room")))
    assert sorted(leaves, key=str) == [
        ("alice", "disconnected", "#rust"),
        ("alice", "disconnected", None),
    ]
    bob.send_json({"command": "who", "room": "#rust"})
    assert (await bob.until_event("who"))["users"] == ["bob"]
    bob.send_json({"message": "after", "room": "#rust"})
    events = [f.get("event") for f in await frames_until(bob, "after") if "event" in f]
    assert events == []  # no second leave
    await stop_all(partition, a, b)
