"""End to end: two `twistd -n chat --redis ...` processes serve one room; one is SIGKILLed."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet.error import ProcessExitedAlready

from tests.loopback import connect
from tests.redis.nodes import until
from tests.redis.server import RedisServer
from tests.redis.test_nodes import resume
from tests.test_twistd import TwistdProcess, start_twistd

NODE_TIMEOUT = "1"


def ready(server: TwistdProcess) -> bool:
    """Whether the node has reached Redis (it refuses nicknames until then)."""
    return re.search(rb"serves the room through Redis", server.output) is not None


@pytest.fixture
def nodes(tmp_path: Path, redis_server: RedisServer) -> Iterator[list[TwistdProcess]]:
    """Two chat nodes on one Redis, each in its own directory; killed if still running."""
    started = []
    for name in ("one", "two"):
        workdir = tmp_path / name
        workdir.mkdir()
        started.append(
            start_twistd(
                workdir, "--redis", redis_server.url, "--node-timeout", NODE_TIMEOUT,
                "--shutdown-grace", "0", "--rate", "0",
            )
        )  # fmt: skip
    yield started
    for server in started:
        if not server.ended.called and server.transport is not None:
            with contextlib.suppress(ProcessExitedAlready):
                server.transport.signalProcess("KILL")
            pytest_twisted.blockon(server.ended)


@pytest_twisted.ensureDeferred
async def test_two_twistd_nodes_one_killed(nodes: list[TwistdProcess]) -> None:
    one, two = nodes
    ports = [await server.listening for server in nodes]
    await until(lambda: ready(one) and ready(two), "both nodes to reach Redis")
    alice = await connect(ports[0])
    await alice.join("alice")
    bob = await connect(ports[1])
    welcome = (await bob.join("bob"))[-1]
    if welcome["users"] != ["alice", "bob"]:  # node two had not read alice's join yet
        assert (await bob.until_event("join"))["user"] == "alice"
    alice.send_json({"message": "from node one"})
    got = await bob.next_chat()
    assert (got["id"], got["message"]) == (1, "from node one")
    assert (await alice.next_chat())["id"] == 1

    assert one.transport is not None
    one.transport.signalProcess("KILL")
    await alice.closed()
    bob.send_json({"message": "while alice is away"})
    leave = await bob.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("alice", "disconnected")
    again, after = await resume(ports[1], "alice", 1)
    assert [(p["id"], p["message"]) for p in after[:-1]] == [(2, "while alice is away")]
    again.send_json({"command": "who"})
    assert (await again.until_event("who"))["users"] == ["bob", "alice"]
    assert two.transport is not None
    two.transport.signalProcess("TERM")
    await two.ended
    assert b"Traceback" not in one.output + two.output
