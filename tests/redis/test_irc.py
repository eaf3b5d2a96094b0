"""The IRC door of nodes sharing their rooms through a real redis-server (docs/irc.md)."""

from __future__ import annotations

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort

from chatproto.doors.irc.protocol import IrcFactory
from tests.irc.clients import RawIrcClient, connect_irc
from tests.irc.fakes import SERVER
from tests.loopback import RawClient
from tests.redis.nodes import Node, joined, start_node, stop_nodes, until
from tests.redis.server import RedisServer
from tests.redis.test_rooms import enter, in_room, members_in_redis


async def irc_door(node: Node) -> IListeningPort:
    """An IRC door for C{node}'s hall on a free loopback port."""
    port: IListeningPort = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        IrcFactory(node.room, SERVER)
    )
    return port


async def irc_client(door: IListeningPort, nickname: str, *capabilities: str) -> RawIrcClient:
    """An IRC client registered through C{door} (and so in the default room)."""
    client = await connect_irc(door.getHost().port)
    await client.register(nickname, *capabilities)
    return client


async def alice_in_rust(node: Node) -> RawClient:
    """alice, joined on C{node}, in #rust, whose topic she has set to `crabs`."""
    alice, _ = await joined(node, "alice")
    await enter(alice, "#rust")
    alice.send_json({"command": "topic", "room": "#rust", "topic": "crabs"})
    await in_room(alice, "#rust", "topic")
    return alice


@pytest_twisted.ensureDeferred
async def test_list_shows_the_rooms_of_every_node(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    door = await irc_door(b)
    await alice_in_rust(a)
    await until(lambda: members_in_redis(a, "#rust"), "alice's join to reach Redis")
    dave = await irc_client(door, "dave")
    await until(lambda: len(b.redis.presence.listed()) == 2, "node b to hear of alice")
    dave.send("LIST")
    assert await dave.until(lambda line: " 323 " in line) == [
        ":irc.test 322 dave #chat 2 :",
        ":irc.test 322 dave #rust 1 :crabs",
        ":irc.test 323 dave :End of /LIST",
    ]
    dave.send("LIST #RUST,#go")
    assert await dave.until(lambda line: " 323 " in line) == [
        ":irc.test 322 dave #rust 1 :crabs",
        ":irc.test 323 dave :End of /LIST",
    ]
    await door.stopListening()
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_own_messages_come_back_with_echo_message_only(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    door = await irc_door(a)
    plain = await irc_client(door, "plain")
    echoed = await irc_client(door, "echoed", "echo-message", "labeled-response", "batch")
    bob, _ = await joined(b, "bob")
    plain.send("PRIVMSG #chat :from plain")
    assert (await bob.next_chat())["message"] == "from plain"
    echoed.send("@label=e1 PRIVMSG #chat :from echoed")
    assert (await bob.next_chat())["message"] == "from echoed"
    # The copy carries the label, or (it came before the store's answer) an ACK follows it.
    answer = await echoed.until(lambda line: line.startswith("@label=e1 "))
    shown = [line for line in answer if "PRIVMSG #chat" in line]
    assert [line.split(" :")[-1] for line in shown] == ["from plain", "from echoed"]
    assert answer[-1] in (
        "@label=e1 :echoed!echoed@chatproto PRIVMSG #chat :from echoed",
        "@label=e1 :irc.test ACK",
    )
    assert [line for line in await plain.synced() if "PRIVMSG" in line] == [
        ":echoed!echoed@chatproto PRIVMSG #chat :from echoed"
    ]
    await door.stopListening()
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_names_who_and_topic_of_a_room_of_another_node(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    door = await irc_door(b)
    await alice_in_rust(a)
    dave = await irc_client(door, "dave")
    dave.send("NAMES #Rust,#go", "TOPIC #rust", "WHO #rust", "TOPIC #go")
    # Redis answers in order: the answers come as the commands went.
    assert await dave.until(lambda line: " 403 " in line) == [
        ":irc.test 353 dave = #rust :alice",
        ":irc.test 366 dave #rust :End of /NAMES list",
        ":irc.test 366 dave #go :End of /NAMES list",
        ":irc.test 332 dave #rust :crabs",
        ":irc.test 352 dave #rust alice chatproto irc.test alice H :0 alice",
        ":irc.test 315 dave #rust :End of WHO list",
        ":irc.test 403 dave #go :No such channel",
    ]
    await door.stopListening()
    await stop_nodes(a, b)
