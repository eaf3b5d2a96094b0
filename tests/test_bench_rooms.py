"""The many-room configuration of the load generator (bench/) against a real server in
this process: room joins, every room flooded at once, a latency probe in one room.
Correctness only (what is counted), no timing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.threads import deferToThread

from bench.adapters import ChatAdapter
from bench.loadgen import Door, LoadGenerator, room_layout
from chatproto.core.config import RoomConfig
from tests.conftest import RunningServer, serving
from tests.test_bench_hot_loop import hot_loop

__all__ = ["hot_loop"]  # the fixture, shared with the hot loop's tests

CLIENTS = 12
ROOMS = 3
ROOMS_PER_CLIENT = 2


def test_room_layout_deals_clients_into_rooms_of_equal_size() -> None:
    rooms_of, members = room_layout(12, 3, 2)
    assert members == {"#r0": [0, 1, 2, 3], "#r1": [4, 5, 6, 7], "#r2": [8, 9, 10, 11]}
    assert rooms_of[0] == ["#r0", "#j1"]
    assert rooms_of[11] == ["#r2", "#j0"]
    with pytest.raises(ValueError, match="two clients"):
        room_layout(5, 3, 2)


def run_rooms(port: int, hot_loop: Path) -> dict[str, Any]:
    """Join, deal into rooms, flood every room and probe one, as `make bench` does."""
    gen = LoadGenerator([Door(ChatAdapter(), ("127.0.0.1", port))], None, 1, hot_loop)
    clients, _joins = gen.join(CLIENTS, 4, "R", 60.0)
    rooms_of, members = room_layout(CLIENTS, ROOMS, ROOMS_PER_CLIENT)
    result: dict[str, Any] = {"room_joins": gen.join_rooms(rooms_of, clients, 60.0)}
    gen.settle(0.5, shortest=0.1)
    rooms = {name: [clients[i] for i in indexes] for name, indexes in members.items()}
    result["flood"] = gen.rooms_flood(rooms, 2, 100, 0.1, 0.5, 0.0)
    gen.settle(0.5, shortest=0.1)
    result["latency"] = gen.latency(rooms["#r1"], 50.0, 0.5, 100, room="#r1")
    gen.leave(clients)
    result["disconnects"] = gen.disconnects
    return result


@serving(RoomConfig(rate=1e9, burst=1_000_000_000, history_replay=0))
@pytest_twisted.ensureDeferred
async def test_rooms_flood_counts_deliveries_per_room_member(
    custom_server: RunningServer, hot_loop: Path
) -> None:
    result = await deferToThread(run_rooms, custom_server.port, hot_loop)
    joins = result["room_joins"]
    assert (joins["clients"], joins["joins"]) == (CLIENTS, CLIENTS * ROOMS_PER_CLIENT)
    flood = result["flood"]
    assert (flood["rooms"], flood["senders"], flood["lost"]) == (ROOMS, ROOMS, 0)
    assert flood["deliveries"] > 0
    # A probe in #r1 reaches its 4 members, the sender included.
    latency = result["latency"]
    assert latency["probes"] > 0
    assert latency["deliveries"] == latency["expected"] == latency["probes"] * (CLIENTS // ROOMS)
    assert result["disconnects"] == 0
