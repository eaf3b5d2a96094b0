"""Several nodes, one room (docs/protocol.md section 11), on a real redis-server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.logger import capturedLogs, formatEvent

from tests.loopback import RawClient, connect
from tests.redis.nodes import crash_node, joined, start_node, stop_node, stop_nodes, until
from tests.redis.server import RedisServer


@pytest_twisted.ensureDeferred
async def test_chat_across_three_nodes_in_one_id_order(redis_server: RedisServer) -> None:
    nodes = [await start_node(redis_server.url) for _ in range(3)]
    clients = [(await joined(node, f"user{i}"))[0] for i, node in enumerate(nodes)]
    for round_ in range(5):
        for i, client in enumerate(clients):
            client.send_json({"message": f"{i}:{round_}"})
    seen = [[await client.next_chat() for _ in range(15)] for client in clients]
    ids = [[packet["id"] for packet in packets] for packets in seen]
    assert ids[0] == list(range(1, 16))
    assert ids[1] == ids[0] and ids[2] == ids[0]
    assert seen[1] == seen[0] and seen[2] == seen[0]
    for i in range(3):  # each sender's messages keep their order
        mine = [p["message"] for p in seen[0] if p["nickname"] == f"user{i}"]
        assert mine == [f"{i}:{r}" for r in range(5)]
    await stop_nodes(*nodes)


@pytest_twisted.ensureDeferred
async def test_a_nickname_held_on_one_node_is_refused_on_another_until_its_bye(
    redis_server: RedisServer,
) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    bob, _ = await joined(b, "bob")
    alice, _ = await joined(a, "alice")
    assert (await bob.until_event("join"))["user"] == "alice"
    other = await connect(b.port)
    assert [await other.next(), await other.next()] == ["HELLO", "NICK"]
    other.send("ＡLICE")  # the same key, on the other node
    assert await other.next() == "RETRY"
    alice.send("BYE")
    await alice.closed()
    other.send("Alice")
    assert await other.next() == "READY"
    leave = await bob.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("alice", "bye")
    assert (await bob.until_event("join"))["user"] == "Alice"
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_who_and_welcome_list_the_members_of_every_node_in_join_order(
    redis_server: RedisServer,
) -> None:
    a, b, c = [await start_node(redis_server.url) for _ in range(3)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    # A welcome lists what its node's feed has delivered (a join of the last moment
    # comes as a `join` notice right after it): wait until c has heard of both.
    await until(lambda: len(c.redis.presence.listed()) == 2, "node c to hear of both joins")
    _carol, after = await joined(c, "carol")
    assert after[-1]["users"] == ["alice", "bob", "carol"]
    assert (await alice.until_event("join"))["user"] == "bob"
    assert (await alice.until_event("join"))["user"] == "carol"
    alice.send_json({"command": "who"})
    assert (await alice.until_event("who"))["users"] == ["alice", "bob", "carol"]
    bob.send("BYE")
    await bob.closed()
    assert (await alice.until_event("leave"))["user"] == "bob"
    alice.send_json({"command": "who"})
    assert (await alice.until_event("who"))["users"] == ["alice", "carol"]
    await stop_nodes(a, b, c)


@pytest_twisted.ensureDeferred
async def test_replay_and_resume_read_the_shared_history(redis_server: RedisServer) -> None:
    a, b, c = [await start_node(redis_server.url, retain=4) for _ in range(3)]
    alice, _ = await joined(a, "alice")
    for n in range(3):
        alice.send_json({"message": f"m{n}"})
    assert [(await alice.next_chat())["id"] for _ in range(3)] == [1, 2, 3]
    bob, after = await joined(b, "bob")
    assert [(p["id"], p["message"], p["history"]) for p in after[:-1]] == [
        (1, "m0", True),
        (2, "m1", True),
        (3, "m2", True),
    ]
    assert (after[-1]["last_id"], after[-1]["first_id"]) == (3, 1)
    bob.send("BYE")
    await bob.closed()
    for n in range(3, 6):
        alice.send_json({"message": f"m{n}"})
    assert [(await alice.next_chat())["id"] for _ in range(3)] == [4, 5, 6]
    # Resumed on a third node: the messages after 3, none twice; 4 retained of 6.
    again = await connect(c.port)
    assert [await again.next(), await again.next()] == ["HELLO", "NICK"]
    again.send_json({"nickname": "bob", "since": 3})
    assert await again.next() == "READY"
    replayed = [await again.next() for _ in range(4)]
    assert [p.get("id") for p in replayed[:3]] == [4, 5, 6]
    assert (replayed[3]["event"], replayed[3]["last_id"], replayed[3]["first_id"]) == (
        "welcome",
        6,
        3,
    )
    await stop_nodes(a, b, c)


@pytest_twisted.ensureDeferred
async def test_the_others_hear_one_leave_per_member_of_a_node_that_shuts_down(
    redis_server: RedisServer,
) -> None:
    a, b, c = [await start_node(redis_server.url) for _ in range(3)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    carol, _ = await joined(c, "carol")
    await stop_node(a)
    await alice.closed()
    for client in (bob, carol):
        leave = await client.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("alice", "disconnected")
    bob.send_json({"command": "who"})
    assert (await bob.until_event("who"))["users"] == ["bob", "carol"]
    assert not [
        f
        for f in alice.frames.pending
        if isinstance(f, dict) and "event" in f and f["event"] == "leave"
    ]
    await stop_nodes(b, c)


async def resume(port: int, nickname: str, since: int) -> tuple[RawClient, list[Any]]:
    """Join the node on C{port} with the resume form (retrying while the nickname is
    still held)."""
    while True:
        client = await connect(port)
        assert [await client.next(), await client.next()] == ["HELLO", "NICK"]
        client.send_json({"nickname": nickname, "since": since})
        if await client.next() == "READY":
            after = []
            while not after or after[-1].get("event") != "welcome":
                after.append(await client.next())
            return client, after
        client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_a_crashed_nodes_members_are_freed_once_and_resume_elsewhere(
    redis_server: RedisServer,
) -> None:
    timeout = 2.0  # fencing after 1 s without a heartbeat: a busy machine must not cause it
    a, b, c = [await start_node(redis_server.url, node_timeout=timeout) for _ in range(3)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    carol, _ = await joined(c, "carol")
    alice.send_json({"message": "before"})
    last_seen = (await alice.next_chat())["id"]
    await crash_node(a)
    await alice.closed()
    bob.send_json({"message": "while alice is away"})
    for client in (bob, carol):
        leave = await client.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("alice", "disconnected")
    again, after = await resume(b.port, "alice", last_seen)
    assert [p["message"] for p in after[:-1]] == ["while alice is away"]
    again.send_json({"message": "back"})
    assert (await again.next_chat())["message"] == "back"
    # Carol heard exactly one leave, then alice's join, then her message.
    frames = []
    while not frames or frames[-1].get("message") != "back":
        frames.append(await carol.next())
    events = [f.get("event") for f in frames]
    assert events.count("leave") == 0 and events.count("join") == 1
    await stop_nodes(b, c)


@pytest_twisted.ensureDeferred
async def test_redis_down_answers_unavailable_then_chat_resumes_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    redis = RedisServer(tmp_path, durable=True)
    redis.start()
    try:
        # No node may fence itself (half the timeout) during an outage as long as this test.
        a, b = [await start_node(redis.url, node_timeout=60) for _ in range(2)]
        alice, _ = await joined(a, "alice")
        bob, _ = await joined(b, "bob")
        alice.send_json({"message": "before"})
        assert (await bob.next_chat())["id"] == 1
        with capturedLogs() as logged:
            redis.stop()
            await until(lambda: not (a.redis.connected or b.redis.connected), "the nodes to notice")
            for n in range(5):
                alice.send_json({"message": f"during {n}"})
            for _ in range(5):
                assert (await alice.until_event("error"))["code"] == "unavailable"
            bob.send("BYE")  # its leave waits for Redis
            await bob.closed()
            redis.start()
            await until(lambda: a.redis.connected and b.redis.connected, "the nodes to reconnect")
        leave = await alice.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("bob", "bye")
        alice.send_json({"message": "after"})
        after = await alice.next_chat()
        assert (after["id"], after["message"]) == (2, "after")
        _bob_again, replay = await joined(a, "bob")  # freed in Redis once it was back
        assert [p["message"] for p in replay[:-1]] == ["before", "after"]
        # Once each: the loss, the refusals, the return (per node), whatever happened meanwhile.
        said = [formatEvent(event) for event in logged]
        lost = f"lost Redis at redis://127.0.0.1:{redis.port}/0: "
        assert sum(text.startswith(lost) for text in said) == 2, said
        assert sum(text.startswith("history unavailable") for text in said) == 1, said
        assert sum("is reachable again" in text for text in said) == 2, said
        # Nothing per reconnection attempt (Twisted's ClientService would log each one).
        assert not [text for text in said if "Scheduling retry" in text], said
        await stop_nodes(a, b)
    finally:
        redis.stop()


@pytest_twisted.ensureDeferred
async def test_the_messages_of_one_turn_take_one_round_trip(redis_server: RedisServer) -> None:
    node = await start_node(redis_server.url)
    writer = node.redis.writer
    before = writer.calls
    added = [
        node.redis.history.add(b'"timestamp":"t","nickname":"n","message":"m"}') for _ in range(50)
    ]
    stored = [await d for d in added]
    assert [message_id for message_id, _ in stored] == list(range(1, 51))
    assert stored[0][1] == b'{"id":1,"timestamp":"t","nickname":"n","message":"m"}'
    assert writer.calls == before + 1
    await stop_node(node)


@pytest_twisted.ensureDeferred
async def test_a_node_started_later_replays_what_was_said_before(
    redis_server: RedisServer,
) -> None:
    a = await start_node(redis_server.url)
    alice, _ = await joined(a, "alice")
    for n in range(3):
        alice.send_json({"message": f"early {n}"})
    assert [(await alice.next_chat())["id"] for _ in range(3)] == [1, 2, 3]
    late = await start_node(redis_server.url)
    _bob, after = await joined(late, "bob")
    assert [p["message"] for p in after[:-1]] == ["early 0", "early 1", "early 2"]
    assert after[-1]["users"] == ["alice", "bob"]
    await stop_nodes(a, late)


@pytest_twisted.ensureDeferred
async def test_a_nodes_shutdown_notice_stays_on_that_node(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    a.room.announce_shutdown(5)
    assert (await alice.until_event("shutdown"))["grace"] == 5
    alice.send_json({"message": "still here"})
    frames = []
    while not frames or frames[-1].get("message") != "still here":
        frames.append(await bob.next())
    # (alice's join may reach bob live: node b may not have read it when bob joined)
    assert "shutdown" not in [f.get("event") for f in frames]
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_private_messages_cross_nodes(redis_server: RedisServer) -> None:
    a, b, c = [await start_node(redis_server.url) for _ in range(3)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "Bob")
    carol, _ = await joined(c, "carol")
    # Node a knows of bob once his join has come through the feed, as alice sees it.
    assert {(await alice.until_event("join"))["user"] for _ in range(2)} == {"Bob", "carol"}
    alice.send_json({"message": "psst", "to": "BOB"})
    for client in (bob, alice):
        packet = await client.next_chat()
        assert (packet["nickname"], packet["to"], packet["message"]) == ("alice", "Bob", "psst")
        assert "id" not in packet
    alice.send_json({"message": "hello", "to": "nobody"})
    assert (await alice.until_event("error"))["code"] == "no-such-user"
    alice.send_json({"message": "public"})
    assert (await carol.next_chat())["message"] == "public"  # the private one never came
    await stop_nodes(a, b, c)


@pytest_twisted.ensureDeferred
async def test_scripts_flushed_from_redis_are_sent_again(redis_server: RedisServer) -> None:
    node = await start_node(redis_server.url)
    alice, _ = await joined(node, "alice")
    await node.redis._commands.execute("SCRIPT", "FLUSH")
    alice.send_json({"message": "after a flush"})
    assert (await alice.next_chat())["id"] == 1
    await stop_node(node)


@pytest_twisted.ensureDeferred
async def test_a_node_on_the_unix_socket_shares_the_room(redis_server: RedisServer) -> None:
    tcp = await start_node(redis_server.url)
    unix = await start_node(f"unix:{redis_server.socket}?db=0")
    alice, _ = await joined(tcp, "alice")
    bob, _ = await joined(unix, "bob")
    bob.send_json({"message": "over a unix socket"})
    assert (await alice.next_chat())["message"] == "over a unix socket"
    await stop_nodes(tcp, unix)


@pytest_twisted.ensureDeferred
async def test_history_of_the_default_room(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice, _ = await joined(a, "alice")
    bob, _ = await joined(b, "bob")
    for n in range(1, 6):
        alice.send_json({"message": f"m{n}"})
    assert [(await bob.next_chat())["id"] for _ in range(5)] == [1, 2, 3, 4, 5]
    for fields, ids in [({"before": 4, "limit": 2}, [2, 3]), ({"since": 3}, [4, 5])]:
        bob.send_json({"command": "history", **fields})
        assert [(await bob.next())["id"] for _ in ids] == ids
        summary = await bob.next()
        assert (summary["event"], summary["count"], "room" in summary) == ("history", 2, False)
    await stop_nodes(a, b)
