"""A logged-in member's place across nodes (docs/protocol.md sections 2, 11 and 13): a
password login on another node takes it over, as a resume token does, a token alone
keeps its account wherever it is used, and IRC clients of every node see the account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString

from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.manager import Accounts
from chatproto.doors.irc.protocol import IrcFactory
from chatproto.seams.redis.accounts import RedisAccountStore
from chatproto.seams.redis.address import parse_redis_url
from tests.accounts.test_wire import PASSWORD, greeted, logged_in
from tests.irc.clients import connect_irc
from tests.irc.fakes import SERVER
from tests.loopback import Conversation, connect
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


async def alice_on(node: Node, seen_by: Node) -> tuple[Conversation, dict[str, Any]]:
    """alice logged in with PASSWORD on C{node}, once C{seen_by} has heard of her; her
    welcome."""
    client = await greeted(await connect(node.port))
    welcome = await logged_in(client, {"nickname": "alice", "password": PASSWORD})
    await until(lambda: seen_by.room.everyone() == [b'"alice"'], "the other node to hear of alice")
    return client, welcome


@pytest_twisted.ensureDeferred
async def test_a_password_login_on_another_node_takes_the_place_over(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    first, _ = await alice_on(a, seen_by=b)
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
    first, first_welcome = await alice_on(a, seen_by=b)
    token = first_welcome["resume_token"]
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


@pytest_twisted.ensureDeferred
async def test_irc_clients_on_another_node_see_the_account(two_nodes: tuple[Node, Node]) -> None:
    a, b = two_nodes
    irc = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        IrcFactory(b.room, SERVER)
    )
    try:
        carol = await connect_irc(irc.getHost().port)
        await carol.register("carol", "account-tag", "extended-join")
        alice = await greeted(await connect(a.port))
        await logged_in(alice, {"nickname": "alice", "password": PASSWORD})
        joined = await carol.until(lambda line: " JOIN " in line)
        assert joined[-1] == "@account=alice :alice!alice@chatproto JOIN #chat alice :alice"
        alice.send_json({"message": "hello"})
        said = await carol.until(lambda line: " PRIVMSG " in line)
        assert said[-1] == "@account=alice :alice!alice@chatproto PRIVMSG #chat :hello"
        carol.send("WHOIS alice")
        assert ":irc.test 330 carol alice alice :is logged in as" in await carol.until(
            lambda line: " 318 " in line
        )
    finally:
        await irc.stopListening()
