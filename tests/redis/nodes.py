"""Nodes in the test process: a Hall on Redis seams (its rooms shared) behind the TCP door."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import deferLater

from chatproto.accounts.manager import Accounts
from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.doors.tcp.protocol import WordPacketFactory
from chatproto.seams.redis.address import load_ca_certificates, parse_redis_url
from chatproto.seams.redis.node import RedisNode
from tests.loopback import DEADLINE, RawClient, connect

#: Limits of every test node: no rate limit, so clients may send as fast as they like.
CONFIG = RoomConfig(rate=0, history_replay=100)
#: How often a condition is checked while a test waits for it.
POLL_INTERVAL = 0.01


@dataclass
class Node:
    """One node: its Redis side, its room and the loopback port its door listens on."""

    redis: RedisNode
    room: Hall
    listening: IListeningPort

    @property
    def port(self) -> int:
        """The door's port."""
        return int(self.listening.getHost().port)


async def until(condition: Callable[[], Any], what: str, deadline: float = DEADLINE) -> None:
    """Wait until C{condition()} (or what it awaits) is true, checking every
    L{POLL_INTERVAL}; fail after C{deadline} seconds."""
    waited = 0.0
    while not await _outcome(condition()):
        if waited > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await deferLater(reactor, POLL_INTERVAL, lambda: None)
        waited += POLL_INTERVAL


async def _outcome(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def start_node(
    url: str,
    node_timeout: float = 10.0,
    retain: int = 10000,
    config: RoomConfig = CONFIG,
    wait: bool = True,
    redis_ca: Path | None = None,
    accounts: Accounts | None = None,
) -> Node:
    """Start a node on Redis at C{url} (trusting the CAs in C{redis_ca}, as --redis-ca
    does; with C{accounts}) and, if C{wait}, wait until it serves the room."""
    address = parse_redis_url(url)
    if redis_ca is not None:
        address = replace(address, ca_certificates=load_ca_certificates(str(redis_ca)))
    redis = RedisNode(address, reactor, retain, node_timeout, config.max_rooms, config.default_room)
    room = Hall(
        config,
        redis.history,
        reactor,
        redis.hub,
        redis.presence,
        redis.rooms,
        accounts=accounts,
        moderation_store=redis.moderation,
    )
    listening = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        WordPacketFactory(room)
    )
    redis.start()
    if wait:
        await until(lambda: redis.presence.ready, "the node to reach Redis")
    return Node(redis, room, listening)


async def stop_node(node: Node) -> None:
    """Shut a node down as its service does: close every connection, then leave Redis."""
    await node.listening.stopListening()
    node.room.close_all()
    await node.redis.history.close()


async def stop_nodes(*nodes: Node) -> None:
    """Shut each of C{nodes} down, in turn (L{stop_node})."""
    for node in nodes:
        await stop_node(node)


async def joined(node: Node, nickname: str) -> tuple[RawClient, list[Any]]:
    """A client joined on C{node} as C{nickname}, and what followed its READY (its replay,
    then its welcome, which carries the resume token)."""
    client = await connect(node.port)
    return client, await client.join(nickname)


async def crash_node(node: Node) -> None:
    """The node stops at once, as if killed: it never talks to Redis again and its
    clients' connections drop."""
    redis = node.redis
    redis._heartbeat.stop()
    redis._reader.stop()
    await redis._commands.stop()
    await redis._feed.stop()
    await node.listening.stopListening()
    for connection in node.room._admission.connections():
        connection.link.abort()
