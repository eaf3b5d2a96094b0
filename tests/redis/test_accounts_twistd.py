"""End to end: `twistd -n chat --redis ...` keeps its accounts in Redis, and says so when
`--accounts-db` is given too (docs/protocol.md section 13)."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted

from tests.loopback import connect
from tests.redis.nodes import until
from tests.redis.server import RedisServer
from tests.test_twistd import start_twistd


@pytest_twisted.ensureDeferred
async def test_accounts_in_redis_are_seen_by_another_node(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    nodes = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        nodes.append(
            start_twistd(
                tmp_path / name, "--redis", redis_server.url, "--accounts-db", "a.db",
                "--shutdown-grace", "0",
            )
        )  # fmt: skip
    one, two = [await node.listening for node in nodes]
    for node in nodes:
        await until(lambda node=node: b"accounts in Redis" in node.output, "accounts open")
    assert b"--accounts-db 'a.db' is not used with --redis" in nodes[0].output
    alice = await connect(one)
    await alice.join("alice")
    alice.send_json({"command": "register", "password": "a long password"})
    assert (await alice.until_event("registered"))["account"] == "alice"
    alice.send("BYE")
    await alice.closed()
    other = await connect(two)
    assert [await other.next(), await other.next()] == ["HELLO", "NICK"]
    other.send_json({"nickname": "alice"})
    assert (await other.next())["code"] == "account-required"
    assert await other.next() == "RETRY"
    assert not (tmp_path / "one" / "a.db").exists()
    for node in nodes:
        node.transport.signalProcess("TERM")
        await node.ended
