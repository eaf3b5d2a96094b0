"""The SQLite account store on a real file (docs/protocol.md section 13)."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from chatproto.accounts import sqlite as sqlite_store
from chatproto.accounts.sqlite import SCHEMA_VERSION, SQLiteAccountStore, UnusableDatabase
from chatproto.core.skeletons import skeleton
from chatproto.seams.accounts import Account

CYRILLIC_ALICE = "\u0430lice"
#: "bob" with a Cyrillic small o: it belongs to bob's account.
LOOKALIKE_BOB = "b\u043eb"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest_twisted.ensureDeferred
async def test_the_new_file_is_readable_by_its_owner_only(
    store: SQLiteAccountStore, db_path: Path
) -> None:
    await store.add("alice", "h")
    # While the store is open, WAL keeps the -wal and -shm files beside it.
    files = [
        db_path,
        db_path.with_name(db_path.name + "-wal"),
        db_path.with_name(db_path.name + "-shm"),
    ]
    assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}


def test_the_file_is_in_wal_mode_with_a_versioned_schema(
    store: SQLiteAccountStore, db_path: Path
) -> None:
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


@pytest_twisted.ensureDeferred
async def test_accounts_persist_across_a_restart(db_path: Path) -> None:
    first = await SQLiteAccountStore.open(reactor, str(db_path))
    await first.add("alice", "h")
    await first.close()
    second = await SQLiteAccountStore.open(reactor, str(db_path))
    try:
        assert await second.find("alice") == Account("alice", "h")
    finally:
        await second.close()


@pytest_twisted.ensureDeferred
async def test_two_stores_on_one_file_see_each_others_changes(
    store: SQLiteAccountStore, db_path: Path
) -> None:
    other = await SQLiteAccountStore.open(reactor, str(db_path))
    try:
        await other.add("bob", "h")
        assert await store.find("bob") == Account("bob", "h")
        await store.delete("bob")
        assert await other.find("bob") is None
    finally:
        await other.close()


@pytest_twisted.ensureDeferred
async def test_an_empty_database_answers_without_its_thread(store: SQLiteAccountStore) -> None:
    assert await store.find("alice") is None  # asked the database: it holds no account
    answer = store.find("alice")
    assert answer.called  # answered at once, without the database thread
    assert await answer is None


@pytest_twisted.ensureDeferred
async def test_an_account_added_to_an_empty_database_by_another_writer_is_found_at_once(
    store: SQLiteAccountStore, db_path: Path
) -> None:
    assert await store.find("bob") is None
    assert store.find("bob").called  # known to be empty
    # Another writer (chatproto-accounts, another server) registers bob, and finishes.
    with sqlite3.connect(db_path) as connection:
        connection.execute(
            "INSERT INTO accounts (key, skeleton, name, password_hash) VALUES (?, ?, ?, ?)",
            ("bob", skeleton("bob"), "bob", "h"),
        )
    assert await store.find("bob") == Account("bob", "h")
    assert await store.find(LOOKALIKE_BOB) == Account("bob", "h")


@pytest_twisted.ensureDeferred
async def test_a_database_emptied_by_another_writer_is_known_empty_again(
    store: SQLiteAccountStore, db_path: Path
) -> None:
    await store.add("bob", "h")
    other = await SQLiteAccountStore.open(reactor, str(db_path))
    try:
        await other.delete("bob")
    finally:
        await other.close()
    assert await store.find("bob") is None
    assert store.find("bob").called


@pytest_twisted.ensureDeferred
async def test_a_newer_schema_is_refused(db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UnusableDatabase, match="account schema 2; this version"):
        await SQLiteAccountStore.open(reactor, str(db_path))


@pytest_twisted.ensureDeferred
async def test_a_file_that_is_not_a_database_is_refused(db_path: Path) -> None:
    db_path.write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        await SQLiteAccountStore.open(reactor, str(db_path))


@pytest_twisted.ensureDeferred
async def test_skeletons_are_recomputed_when_unicode_changes(db_path: Path) -> None:
    first = await SQLiteAccountStore.open(reactor, str(db_path))
    await first.add("alice", "h")
    await first.close()
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE accounts SET skeleton = 'stale'")
        connection.execute("UPDATE settings SET value = '1.0' WHERE name = 'unicode'")
    second = await SQLiteAccountStore.open(reactor, str(db_path))
    try:
        assert await second.find(CYRILLIC_ALICE) == Account("alice", "h")
    finally:
        await second.close()


@pytest_twisted.ensureDeferred
async def test_the_file_is_never_touched_on_the_reactor_thread(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    connect = sqlite3.connect

    def recording_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        threads.append(threading.current_thread().name)
        return connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_store.sqlite3, "connect", recording_connect)
    opened = await SQLiteAccountStore.open(reactor, str(db_path))
    await opened.add("alice", "h")
    await opened.close()
    # One connection, made in the store's thread: sqlite3 refuses its use from any other.
    assert len(threads) == 1
    assert threads[0] != threading.main_thread().name
    assert "chatproto-accounts-db" in threads[0]
