"""End to end: two `twistd -n chat --redis ...` processes serve one room: one is SIGKILLed;
the recipe of docs/scaling.md runs as written, and a token resumes across the two."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet.error import ProcessExitedAlready

from tests.loopback import connect
from tests.redis.nodes import until
from tests.redis.server import RedisServer
from tests.redis.test_nodes import resume
from tests.test_twistd import BIN, TwistdProcess, _spawn_twistd, start_twistd

#: Short, so that the killed node is freed soon; not so short that a busy machine makes a
#: live node miss its heartbeats for half of it (it would fence itself).
NODE_TIMEOUT = "2"
#: The two node command lines of docs/scaling.md's "Two nodes on one machine".
RECIPE = re.compile(r"^    \.venv/bin/twistd (--pidfile=node\d\.pid -n chat .*)$", re.MULTILINE)
SCALING = Path(__file__).parent.parent.parent / "docs" / "scaling.md"


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


def recipe(redis_url: str) -> list[list[str]]:
    """The arguments of the recipe's two nodes, as written, but on free loopback ports
    and the test's Redis."""
    commands = RECIPE.findall(SCALING.read_text(encoding="utf-8"))
    assert len(commands) == 2, commands
    return [
        [
            re.sub(r"^tcp:\d+$", "tcp:0:interface=127.0.0.1", word).replace(
                "redis://127.0.0.1:6379/0", redis_url
            )
            for word in shlex.split(command)
        ]
        for command in commands
    ]


@pytest_twisted.ensureDeferred
async def test_the_two_node_recipe_runs_as_written_and_a_token_resumes_across_it(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    one, two = [
        _spawn_twistd(tmp_path, args, [str(BIN / "twistd")]) for args in recipe(redis_server.url)
    ]
    try:
        ports = [await server.listening for server in (one, two)]
        await until(lambda: ready(one) and ready(two), "both nodes to reach Redis")
        old = await connect(ports[0])
        token = (await old.join("alice"))[-1]["resume_token"]
        bob = await connect(ports[1])
        await bob.join("bob")
        new = await connect(ports[1])
        assert [await new.next(), await new.next()] == ["HELLO", "NICK"]
        new.send(json.dumps({"nickname": "alice", "since": 0, "token": token}))
        assert await new.next() == "READY"
        await old.closed()  # node one closed it: its place was taken through node two
        new.send_json({"message": "moved"})
        frames = []
        while not frames or frames[-1].get("message") != "moved":
            frames.append(await bob.next())
        assert "leave" not in [f.get("event") for f in frames]
        for client in (bob, new):  # nobody connected: the nodes stop without a grace
            client.transport.loseConnection()
    finally:
        for server in (one, two):
            assert server.transport is not None
            server.transport.signalProcess("TERM")
            await server.ended
    assert b"Traceback" not in one.output + two.output
