"""The SQLite moderation store (chatproto.moderationdb): beside the accounts, read at
start-up, written from its own thread."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from zope.interface.verify import verifyObject

from chatproto.accounts.sqlite import SQLiteAccountStore, prepare_database
from chatproto.moderationdb import SQLiteModerationStore, read_snapshot
from chatproto.seams.moderation import (
    SERVER_SCOPE,
    BanEntry,
    Flag,
    FlagEntry,
    IModerationStore,
    ModerationSnapshot,
    MuteEntry,
    Role,
    RoleEntry,
)


@pytest_twisted.ensureDeferred
async def test_what_is_written_is_read_back_at_start_up(tmp_path: Path) -> None:
    path = str(tmp_path / "accounts.sqlite3")
    prepare_database(path)  # the accounts' file: moderation's tables go beside them
    assert read_snapshot(path) == ModerationSnapshot()
    store = SQLiteModerationStore(reactor, path)
    assert verifyObject(IModerationStore, store)
    store.startService()
    ban = BanEntry("#r", "203.0.113.0/24", "oper", "spam", 1.9e9)
    server_ban = BanEntry(SERVER_SCOPE, "account:mallory", "root", "", None)
    await store.put_ban(ban)
    await store.put_ban(server_ban)
    await store.put_ban(BanEntry("#r", "bob", "oper", "", None))
    await store.drop_ban("#r", "bob")
    await store.put_mute(MuteEntry("#r", "account:carol", "oper", None))
    await store.put_role(RoleEntry("#r", "alice", Role.FOUNDER))
    await store.put_role(RoleEntry("#r", "dave", Role.FOUNDER))  # one founder a room
    await store.put_role(RoleEntry("#r", "erin", Role.OPERATOR))
    await store.put_flag(FlagEntry("#r", Flag.TOPIC_LOCK))
    await store.put_flag(FlagEntry("#r", Flag.MODERATED))
    await store.drop_flag(FlagEntry("#r", Flag.MODERATED))
    assert (await store.load()).bans == [ban, server_ban]
    await store.stopService()
    snapshot = read_snapshot(path)
    assert snapshot.bans == [ban, server_ban]
    assert snapshot.mutes == [MuteEntry("#r", "account:carol", "oper", None)]
    assert sorted(snapshot.roles, key=str) == sorted(
        [RoleEntry("#r", "dave", Role.FOUNDER), RoleEntry("#r", "erin", Role.OPERATOR)], key=str
    )
    assert snapshot.flags == [FlagEntry("#r", Flag.TOPIC_LOCK)]
    # the accounts still work in the same file
    accounts = await SQLiteAccountStore.open(reactor, path)
    await accounts.add("alice", "hash")
    assert list(await accounts.names()) == ["alice"]
    await accounts.close()


def test_roles_and_switches_of_a_newer_version_are_left_out(tmp_path: Path) -> None:
    path = str(tmp_path / "moderation.sqlite3")
    read_snapshot(path)
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO moderation_roles VALUES ('#r', 'x', 'admiral')")
        connection.execute("INSERT INTO moderation_flags VALUES ('#r', 'quiet-hours')")
        connection.execute("INSERT INTO moderation_roles VALUES ('#r', 'y', 'voice')")
    connection.close()
    snapshot = read_snapshot(path)
    assert snapshot.roles == [RoleEntry("#r", "y", Role.VOICE)]
    assert snapshot.flags == []
