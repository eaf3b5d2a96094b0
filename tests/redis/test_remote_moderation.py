"""Moderation of a member another node holds, through a real redis-server (docs/moderation.md):
the issuer's node judges it with the target's standing as Redis knows it, and the
target's node carries it out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest_twisted
from twisted.internet import reactor

from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.manager import Accounts
from chatproto.seams.redis.accounts import RedisAccountStore
from chatproto.seams.redis.address import parse_redis_url
from tests.accounts.test_wire import PASSWORD, greeted, logged_in
from tests.loopback import RawClient, connect
from tests.redis.nodes import CONFIG, Node, joined, start_node, stop_nodes, until
from tests.redis.server import RedisServer
from tests.redis.test_irc import irc_client, irc_door
from tests.redis.test_moderation import refused, two_in_rust
from tests.redis.test_rooms import enter, in_room, members_in_redis

#: The nodes' limits: `root` operates the server.
OPERATED = replace(CONFIG, operators=frozenset({"root"}))


@pytest_twisted.async_yield_fixture
async def two_nodes(redis_server: RedisServer) -> AsyncIterator[tuple[Node, Node]]:
    """Two nodes sharing accounts in Redis: `root` (a server operator) and `dave`
    registered with PASSWORD."""
    hashing = PasswordHashing(reactor)
    hashing.startService()
    store = await RedisAccountStore.open(parse_redis_url(redis_server.url), reactor)
    accounts = Accounts(store, hashing, reactor, register_per_hour=0)
    for name in ("root", "dave"):
        await accounts.register(name, PASSWORD, None)
    nodes = [
        await start_node(redis_server.url, config=OPERATED, accounts=accounts) for _ in range(2)
    ]
    try:
        yield nodes[0], nodes[1]
    finally:
        await stop_nodes(*nodes)
        await store.close()
        hashing.stopService()


async def account_in_rust(node: Node, seen_by: Node, name: str) -> RawClient:
    """A member logged in to the account C{name} on C{node}, in #rust, once C{seen_by}
    lists it there with its account."""
    client = await greeted(await connect(node.port))
    await logged_in(client, {"nickname": name, "password": PASSWORD})
    await enter(client, "#rust")
    await listed(seen_by, name)
    await until(lambda: seen_by.room.account_held(name) == name, f"{name}'s account to be known")
    return client


async def listed(node: Node, nickname: str, present: bool = True) -> None:
    """Wait until C{node} lists C{nickname} in #rust (not C{present}: no longer lists it)."""
    room = node.room.room_named("#rust")
    assert room is not None
    await until(
        lambda: (nickname in node.room.users_of(room)) is present,
        f"{nickname} {'listed' if present else 'gone'} in #rust",
    )


def in_rust(node: Node, nickname: str) -> bool:
    """Whether C{node} holds C{nickname} in #rust."""
    member = node.room.local_member(nickname)
    return member is not None and "#rust" in member.rooms


@pytest_twisted.ensureDeferred
async def test_an_operator_kicks_a_member_of_another_node(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    alice, bob = await two_in_rust(a, b)
    carol, _ = await joined(b, "carol")
    await enter(carol, "#rust")
    await listed(a, "bob")
    alice.send_json({"command": "kick", "room": "#rust", "user": "bob", "comment": "enough"})
    for client in (alice, bob, carol):
        leave = await in_room(client, "#rust", "leave")
        assert (leave["user"], leave["reason"], leave["by"], leave["comment"]) == (
            "bob",
            "kicked",
            "alice",
            "enough",
        )
    assert not in_rust(b, "bob")
    assert (await enter(bob, "#rust"))[-1]["room"] == "#rust"


@pytest_twisted.ensureDeferred
async def test_a_server_operator_outside_the_room_gets_the_leave(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    _, bob = await two_in_rust(a, b)
    await listed(a, "bob")
    root = await greeted(await connect(a.port))
    await logged_in(root, {"nickname": "root", "password": PASSWORD})
    root.send_json({"command": "kick", "room": "#rust", "user": "bob"})
    leave = await in_room(root, "#rust", "leave")
    assert (leave["user"], leave["reason"], leave["by"]) == ("bob", "kicked", "root")
    assert (await in_room(bob, "#rust", "leave"))["by"] == "root"


@pytest_twisted.ensureDeferred
async def test_an_op_on_one_node_lets_a_member_of_another_operate(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    alice, bob = await two_in_rust(a, b)
    dave = await account_in_rust(b, a, "dave")
    await listed(a, "bob")
    # dave is logged in: his account's role is kept, and node b hears of it.
    alice.send_json({"command": "op", "room": "#rust", "user": "dave"})
    opped = await in_room(dave, "#rust", "moderation")
    assert (opped["action"], opped["user"]) == ("op", "dave")
    await until(lambda: b.room.moderation.ledger.rules("#rust").roles, "node b to hear of it")
    dave.send_json({"command": "kick", "room": "#rust", "user": "bob"})
    assert (await in_room(bob, "#rust", "leave"))["by"] == "dave"
    await listed(a, "bob", present=False)  # node a has seen him go before he comes back
    await enter(bob, "#rust")
    # bob is not: he operates while he stays in the room, as node b knows.
    await listed(a, "bob")
    alice.send_json({"command": "voice", "room": "#rust", "user": "bob"})
    await in_room(bob, "#rust", "moderation")
    await until(
        lambda: b.room.moderation.ledger.rules("#rust").present_voices, "node b to voice bob"
    )
    switch = {"command": "moderated", "room": "#rust", "on": True}
    assert (await refused(bob, switch))["code"] == "not-permitted"
    alice.send_json({"command": "op", "room": "#rust", "user": "bob"})
    await in_room(bob, "#rust", "moderation")
    await until(
        lambda: b.room.moderation.ledger.rules("#rust").present_operators, "node b to op bob"
    )
    bob.send_json(switch)
    switched = await in_room(bob, "#rust", "moderation")
    assert (switched["action"], switched["by"]) == ("moderated", "bob")


@pytest_twisted.ensureDeferred
async def test_a_server_operator_on_another_node_is_not_kicked(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    alice, _ = await two_in_rust(a, b)
    await account_in_rust(b, a, "root")
    refusal = await refused(alice, {"command": "kick", "room": "#rust", "user": "root"})
    assert refusal["code"] == "not-permitted"
    assert in_rust(b, "root")


@pytest_twisted.ensureDeferred
async def test_a_mute_and_a_deop_reach_a_member_of_another_node(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    alice, _ = await two_in_rust(a, b)
    dave = await account_in_rust(b, a, "dave")
    alice.send_json({"command": "op", "room": "#rust", "user": "dave"})
    await in_room(dave, "#rust", "moderation")
    rules = b.room.moderation.ledger.rules("#rust")
    await until(lambda: rules.roles, "node b to hear of the op")
    alice.send_json({"command": "deop", "room": "#rust", "user": "dave"})
    await in_room(dave, "#rust", "moderation")
    await until(lambda: not rules.roles, "node b to hear of the deop")
    kick = {"command": "kick", "room": "#rust", "user": "bob"}
    assert (await refused(dave, kick))["code"] == "not-permitted"
    # The mute holds for dave's account, as on one node.
    alice.send_json({"command": "mute", "room": "#rust", "user": "dave"})
    await in_room(dave, "#rust", "moderation")
    await until(lambda: "account:dave" in rules.mutes, "node b to hear of the mute")
    muted = await refused(dave, {"message": "hi", "room": "#rust"})
    assert muted["code"] == "muted"


@pytest_twisted.ensureDeferred
async def test_an_irc_kick_reaches_a_member_of_another_node(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    door = await irc_door(a)
    irma = await irc_client(door, "irma")
    irma.send("JOIN #rust")
    await irma.until(lambda line: " 366 " in line)
    await until(lambda: members_in_redis(a, "#rust"), "irma's join to reach Redis")
    bob, _ = await joined(b, "bob")
    await enter(bob, "#rust")
    await listed(a, "bob")
    irma.send("KICK #rust bob :out")
    kicked = await irma.until(lambda line: " KICK " in line)
    assert kicked[-1] == ":irma!irma@chatproto KICK #rust bob :out"
    leave = await in_room(bob, "#rust", "leave")
    assert (leave["reason"], leave["by"], leave["comment"]) == ("kicked", "irma", "out")
    await door.stopListening()
