"""Several nodes, one room (docs/protocol.md section 11), on a real redis-server."""

from __future__ import annotations

from typing import Any

import pytest_twisted

from tests.loopback import RawClient, connect
from tests.redis_nodes import Node, start_node, stop_node
from tests.redis_server import RedisServer, redis_server  # noqa: F401 (a fixture)


async def joined(node: Node, nickname: str) -> tuple[RawClient, list[Any]]:
    """A client joined on C{node}, and what followed its READY."""
    client = await connect(node.port)
    return client, await client.join(nickname)


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
    for node in nodes:
        await stop_node(node)
