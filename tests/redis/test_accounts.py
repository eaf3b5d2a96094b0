"""Accounts kept in Redis: every node sees a registration at once (docs/protocol.md section 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import DeferredList

from chatproto.seams.accounts import Account, AccountExists
from chatproto.seams.redis.accounts import RedisAccountStore
from chatproto.seams.redis.address import parse_redis_url
from chatproto.seams.redis.client import RedisUnavailable
from tests.redis.server import RedisServer

#: The working tree, so that `python -m` runs this checkout's code.
ROOT = Path(__file__).resolve().parents[2]


@pytest_twisted.ensureDeferred
async def test_a_registration_is_seen_by_every_node_at_once(redis_server: RedisServer) -> None:
    address = parse_redis_url(redis_server.url)
    one = await RedisAccountStore.open(address, reactor)
    other = await RedisAccountStore.open(address, reactor)
    try:
        await one.add("alice", "h")
        assert await other.find("ALICE") == Account("alice", "h")
        await other.delete("alice")
        assert await one.find("alice") is None
    finally:
        await one.close()
        await other.close()


@pytest_twisted.ensureDeferred
async def test_two_nodes_registering_lookalikes_at_once_one_wins(redis_server: RedisServer) -> None:
    address = parse_redis_url(redis_server.url)
    stores = [await RedisAccountStore.open(address, reactor) for _ in range(2)]
    try:
        results = await DeferredList(
            [stores[0].add("alice", "h0"), stores[1].add("\u0430lice", "h1")], consumeErrors=True
        )
        assert sorted(success for success, _ in results) == [False, True]
        assert [f.check(AccountExists) for success, f in results if not success] == [AccountExists]
        assert len(await stores[0].names()) == 1
    finally:
        for store in stores:
            await store.close()


@pytest_twisted.ensureDeferred
async def test_opening_fails_when_redis_cannot_be_reached(tmp_path: Path) -> None:
    nobody = RedisServer(tmp_path)  # its port is chosen, nothing listens there
    with pytest.raises(RedisUnavailable):
        await RedisAccountStore.open(parse_redis_url(nobody.url), reactor)


def _tool(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatproto.accounts.tool", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest_twisted.ensureDeferred
async def test_the_operator_s_tool_works_on_redis(redis_server: RedisServer) -> None:
    store = await RedisAccountStore.open(parse_redis_url(redis_server.url), reactor)
    try:
        added = _tool("--redis", redis_server.url, "add", "alice", stdin="pw\n")
        assert (added.returncode, added.stdout) == (0, "account alice added\n")
        alice = await store.find("alice")
        assert alice is not None and alice.password_hash.startswith("$argon2id$")
        assert _tool("--redis", redis_server.url, "list").stdout == "alice\n"
    finally:
        await store.close()


def test_the_tool_says_when_redis_cannot_be_reached(tmp_path: Path) -> None:
    nobody = RedisServer(tmp_path)
    result = _tool("--redis", nobody.url, "list")
    assert result.returncode == 1
    assert result.stderr.startswith(f"chatproto-accounts: cannot reach Redis at {nobody.url}")


def test_the_tool_takes_a_database_or_a_redis_not_both(tmp_path: Path) -> None:
    result = _tool("--db", str(tmp_path / "a.sqlite3"), "--redis", "redis://127.0.0.1/0", "list")
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr
