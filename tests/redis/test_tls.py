"""`rediss://` against a Redis that serves TLS, with and without `--redis-ca` (section 11)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.logger import capturedLogs, formatEvent

from tests.certs import make_certificate
from tests.loopback import connect
from tests.redis.nodes import start_node, stop_node, stop_nodes, until
from tests.redis.server import RedisServer


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server that serves only TLS, with a certificate for localhost."""
    certificate = make_certificate(tmp_path)
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory, tls=certificate)
    server.start()
    yield server
    server.stop()


@pytest_twisted.ensureDeferred
async def test_two_nodes_share_the_room_over_tls_trusting_the_ca_they_are_given(
    tls_redis: RedisServer,
) -> None:
    assert tls_redis.tls is not None
    ca = tls_redis.tls[0]
    a, b = [await start_node(tls_redis.url, redis_ca=ca) for _ in range(2)]
    alice = await connect(a.port)
    await alice.join("alice")
    bob = await connect(b.port)
    await bob.join("bob")
    alice.send_json({"message": "over TLS"})
    got = await bob.next_chat()
    assert (got["id"], got["message"]) == (1, "over TLS")
    await stop_nodes(a, b)


@pytest_twisted.ensureDeferred
async def test_an_untrusted_certificate_is_refused_said_once_and_the_node_stays_up(
    tls_redis: RedisServer,
) -> None:
    with capturedLogs() as logged:
        node = await start_node(tls_redis.url, wait=False)  # trusts the system's CAs only
        await until(lambda: node.redis._commands.failed_attempts >= 2, "two refused attempts")
        client = await connect(node.port)
        assert [await client.next(), await client.next()] == ["HELLO", "NICK"]
        client.send_json({"nickname": "alice"})
        error = await client.next()
        assert (error["event"], error["code"]) == ("error", "unavailable")
        assert await client.next() == "RETRY"
        await stop_node(node)
    said = [formatEvent(event) for event in logged]
    refused = [text for text in said if "Redis" in text and "cannot reach" in text]
    assert len(refused) == 1, said
    assert "TLS certificate verification failed (certificate verify failed)" in refused[0]
    assert [e for e in logged if e.get("log_level") and e["log_level"].name == "error"] == [
        e for e in logged if "cannot reach" in formatEvent(e)
    ], said
