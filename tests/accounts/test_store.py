"""Every account store keeps the seam's promises: SQLite and Redis (docs/protocol.md section 13)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from chatproto.accounts.sqlite import SQLiteAccountStore
from chatproto.seams.accounts import Account, AccountExists, IAccountStore, NoSuchAccount
from chatproto.seams.redis.accounts import RedisAccountStore
from chatproto.seams.redis.address import parse_redis_url
from tests.redis.server import RedisServer

CYRILLIC_ALICE = "\u0430lice"


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IAccountStore]:
    """Each store in turn: SQLite on a real file, Redis in a throwaway redis-server."""
    opened: IAccountStore
    if request.param == "sqlite":
        opened = pytest_twisted.blockon(
            SQLiteAccountStore.open(reactor, str(tmp_path / "accounts.sqlite3"))
        )
    else:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed: `make test-tools` installs it")
        server = RedisServer(tmp_path)
        server.start()
        request.addfinalizer(server.stop)
        opened = pytest_twisted.blockon(
            RedisAccountStore.open(parse_redis_url(server.url), reactor)
        )
    yield opened
    pytest_twisted.blockon(opened.close())


def test_the_store_provides_the_seam(store: IAccountStore) -> None:
    assert IAccountStore.providedBy(store)


@pytest_twisted.ensureDeferred
async def test_an_added_account_is_found_by_its_key(store: IAccountStore) -> None:
    await store.add("Alice", "hash-1")
    assert await store.find("Alice") == Account("Alice", "hash-1")
    assert await store.find("ALICE") == Account("Alice", "hash-1")
    assert await store.find("\uff21lice") == Account("Alice", "hash-1")  # full-width A
    assert await store.find("bob") is None


@pytest_twisted.ensureDeferred
async def test_a_lookalike_belongs_to_the_account_it_looks_like(store: IAccountStore) -> None:
    await store.add("alice", "hash-1")
    assert await store.find(CYRILLIC_ALICE) == Account("alice", "hash-1")
    assert await store.find("a1ice") == Account("alice", "hash-1")


@pytest_twisted.ensureDeferred
async def test_a_colliding_name_cannot_be_registered(store: IAccountStore) -> None:
    await store.add("alice", "hash-1")
    for name in ("Alice", CYRILLIC_ALICE):
        with pytest.raises(AccountExists) as refused:
            await store.add(name, "hash-2")
        assert refused.value.args == ("alice",)
    assert await store.names() == ["alice"]


@pytest_twisted.ensureDeferred
async def test_names_lists_every_account(store: IAccountStore) -> None:
    for name in ("carol", "Bob", "alice"):
        await store.add(name, "h")
    assert await store.names() == ["alice", "Bob", "carol"]


@pytest_twisted.ensureDeferred
async def test_a_hash_is_replaced(store: IAccountStore) -> None:
    await store.add("alice", "old")
    await store.set_password_hash("ALICE", "new")
    assert await store.find("alice") == Account("alice", "new")


@pytest_twisted.ensureDeferred
async def test_a_rehash_does_not_undo_a_change_made_meanwhile(store: IAccountStore) -> None:
    await store.add("alice", "old")
    await store.set_password_hash("alice", "changed by the operator")
    await store.set_password_hash("alice", "rehashed old", replacing="old")
    assert await store.find("alice") == Account("alice", "changed by the operator")
    await store.set_password_hash("alice", "rehashed", replacing="changed by the operator")
    assert await store.find("alice") == Account("alice", "rehashed")


@pytest_twisted.ensureDeferred
async def test_an_account_is_deleted(store: IAccountStore) -> None:
    await store.add("alice", "h")
    await store.delete("Alice")
    assert await store.find("alice") is None
    assert await store.names() == []


@pytest_twisted.ensureDeferred
async def test_a_lookalike_name_changes_or_deletes_nothing(store: IAccountStore) -> None:
    await store.add("alice", "h")
    with pytest.raises(NoSuchAccount):
        await store.set_password_hash(CYRILLIC_ALICE, "other")
    with pytest.raises(NoSuchAccount):
        await store.delete(CYRILLIC_ALICE)
    assert await store.find("alice") == Account("alice", "h")


@pytest_twisted.ensureDeferred
async def test_no_such_account_to_change_or_delete(store: IAccountStore) -> None:
    with pytest.raises(NoSuchAccount):
        await store.set_password_hash("nobody", "h")
    with pytest.raises(NoSuchAccount):
        await store.delete("nobody")
