"""A logged-in member's place across nodes (docs/protocol.md sections 2, 11 and 13): a
password login on another node takes it over, as a resume token does, and a token alone
keeps its account wherever it is used."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_twisted
from twisted.internet import reactor

from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.manager import Accounts
from chatproto.seams.redis.accounts import RedisAccountStore
from chatproto.seams.redis.address import parse_redis_url
from tests.accounts.test_wire import PASSWORD, greeted, logged_in
from tests.loopback import connect
from tests.redis.nodes import Node, start_node, stop_nodes, until
from tests.redis.server import RedisServer


@pytest_twisted.async_yield_fixture
async def two_nodes(redis_server: RedisServer) -> AsyncIterator[tuple[Node, Node]]:
    """Two nodes sharing accounts in Redis, `alice` registered with PASSWORD."""
    hashing = PasswordHashing(reactor)
    hashing.startService()
    store = await RedisAccountStore.open(parse_redis_url(redis_server.url), reactor)
    accounts = Accounts(store, hashing, reactor, register_per_hour=0)
    await accounts.register("alice", PASSWORD, None)
    nodes = [await start_node(redis_server.url, accounts=accounts) for _ in range(2)]
    try:
        yield nodes[0], nodes[1]
    finally:
        await stop_nodes(*nodes)
        await store.close()
        hashing.stopService()


@pytest_twisted.ensureDeferred
async def test_a_password_login_on_another_node_takes_the_place_over(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    first = await greeted(await connect(a.port))
    await logged_in(first, {"nickname": "alice", "password": PASSWORD})
    await until(lambda: b.room.everyone() == [b'"alice"'], "node b to hear of alice")
    second = await greeted(await connect(b.port))
    welcome = await logged_in(second, {"nickname": "ALICE", "password": PASSWORD})
    assert (welcome["account"], welcome["users"]) == ("alice", ["alice"])
    await first.closed()  # its place is taken: closed without a leave
    member = b.room.local_member("alice")
    assert member is not None and member.account == "alice"


@pytest_twisted.ensureDeferred
async def test_a_token_alone_on_another_node_keeps_the_account(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    first = await greeted(await connect(a.port))
    token = (await logged_in(first, {"nickname": "alice", "password": PASSWORD}))["resume_token"]
    await until(lambda: b.room.everyone() == [b'"alice"'], "node b to hear of alice")
    resumed = await greeted(await connect(b.port))
    welcome = await logged_in(resumed, {"nickname": "alice", "token": token})
    assert welcome["account"] == "alice"
    await first.closed()
    # And a password login back on node a takes the place again: it still has its account.
    again = await greeted(await connect(a.port))
    assert (await logged_in(again, {"nickname": "alice", "password": PASSWORD}))["account"] == (
        "alice"
    )
    await resumed.closed()
