"""Lookalike nicknames collide across nodes (docs/protocol.md section 3): the shared
presence is keyed by the skeleton of the key, on a real redis-server."""

from __future__ import annotations

import pytest_twisted

from tests.loopback import connect
from tests.redis.nodes import start_node, stop_nodes
from tests.redis.server import RedisServer


@pytest_twisted.ensureDeferred
async def test_a_lookalike_is_refused_on_another_node(redis_server: RedisServer) -> None:
    a, b = [await start_node(redis_server.url) for _ in range(2)]
    alice = await connect(a.port)
    await alice.join("alice")
    lookalike = await connect(b.port)
    assert await lookalike.choose("\u0430lice") == "RETRY"  # a Cyrillic small a
    lookalike.send("bob")
    assert await lookalike.next() == "READY"
    await stop_nodes(a, b)
