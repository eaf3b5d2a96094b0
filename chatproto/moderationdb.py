"""The SQLite moderation store (docs/moderation.md): bans, mutes, roles and switches that
survive a restart.

They live in the account database (`--accounts-db`), in tables of their own beside
the accounts'; with `--redis`, whose accounts are in Redis, in the SQLite file
`--moderation-db`. As for the accounts, one worker thread owns the only
connection, so the reactor thread never touches the file; the file is read
once, at start-up, before the server has threads (L{read_snapshot}).
"""

from __future__ import annotations

import sqlite3
from typing import Final

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger
from zope.interface import implementer

from chatproto.accounts.sqlite import connect_wal
from chatproto.seams.moderation import (
    BanEntry,
    Flag,
    FlagEntry,
    IModerationStore,
    ModerationSnapshot,
    MuteEntry,
    Role,
    RoleEntry,
)
from chatproto.sqlitefile import SQLiteFile

#: Writes queued at most; more fail at once (`unavailable`). Each connection has one
#: moderation command in flight at a time, so this is reached only under attack.
MAX_WAITING: Final = 1024

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS moderation_bans (
        scope TEXT NOT NULL, mask TEXT NOT NULL, by_name TEXT NOT NULL,
        comment TEXT NOT NULL, until REAL, PRIMARY KEY (scope, mask))""",
    """CREATE TABLE IF NOT EXISTS moderation_mutes (
        room TEXT NOT NULL, target TEXT NOT NULL, by_name TEXT NOT NULL,
        until REAL, PRIMARY KEY (room, target))""",
    """CREATE TABLE IF NOT EXISTS moderation_roles (
        room TEXT NOT NULL, account TEXT NOT NULL, role TEXT NOT NULL,
        PRIMARY KEY (room, account, role))""",
    """CREATE TABLE IF NOT EXISTS moderation_flags (
        room TEXT NOT NULL, flag TEXT NOT NULL, PRIMARY KEY (room, flag))""",
)


def read_snapshot(path: str) -> ModerationSnapshot:
    """Create the moderation tables in the SQLite file C{path} if needed and read them,
    now, in this thread (start-up, before the server has threads); fails with
    L{sqlite3.Error} or L{chatproto.accounts.sqlite.UnusableDatabase}."""
    connection = _connect(path)
    try:
        return _load(connection)
    finally:
        connection.close()


_log = Logger("chatproto.moderation")


@implementer(IModerationStore)
class SQLiteModerationStore(Service):
    """Moderation in the SQLite file at C{path}; a service: its worker thread runs while
    the server does, and the file is closed when it stops (after the doors)."""

    def __init__(self, reactor: IReactorFromThreads, path: str) -> None:
        self.path = path
        self._file = SQLiteFile(reactor, path, _connect, "chatproto-moderation-db", MAX_WAITING)

    def startService(self) -> None:
        """Start the worker thread and open the file in it."""
        super().startService()  # type: ignore[no-untyped-call]
        # Start-up read the file already (read_snapshot): an open failing now is a file
        # gone bad since; every change then answers `unavailable`, and the log says why.
        self._file.open().addErrback(
            lambda failure: _log.failure(
                "the moderation database {path} cannot be opened",
                failure,
                path=self.path,
                event_kind="store",
            )
        )

    def stopService(self) -> Deferred[None]:
        """Finish the writes given, close the file, stop the thread."""
        super().stopService()  # type: ignore[no-untyped-call]
        return self.close()

    def load(self) -> Deferred[ModerationSnapshot]:
        """See L{IModerationStore.load}."""
        return self._file.run(_load)

    def put_ban(self, ban: BanEntry) -> Deferred[None]:
        """See L{IModerationStore.put_ban}."""
        return self._file.run(
            _execute,
            "INSERT OR REPLACE INTO moderation_bans VALUES (?, ?, ?, ?, ?)",
            (ban.scope, ban.mask, ban.by, ban.comment, ban.until),
        )

    def drop_ban(self, scope: str, mask: str) -> Deferred[None]:
        """See L{IModerationStore.drop_ban}."""
        return self._file.run(
            _execute, "DELETE FROM moderation_bans WHERE scope = ? AND mask = ?", (scope, mask)
        )

    def put_mute(self, mute: MuteEntry) -> Deferred[None]:
        """See L{IModerationStore.put_mute}."""
        return self._file.run(
            _execute,
            "INSERT OR REPLACE INTO moderation_mutes VALUES (?, ?, ?, ?)",
            (mute.room, mute.target, mute.by, mute.until),
        )

    def drop_mute(self, room: str, target: str) -> Deferred[None]:
        """See L{IModerationStore.drop_mute}."""
        return self._file.run(
            _execute, "DELETE FROM moderation_mutes WHERE room = ? AND target = ?", (room, target)
        )

    def put_role(self, entry: RoleEntry) -> Deferred[None]:
        """See L{IModerationStore.put_role} (a room has one founder: a new one replaces)."""
        return self._file.run(_put_role, entry)

    def drop_role(self, entry: RoleEntry) -> Deferred[None]:
        """See L{IModerationStore.drop_role}."""
        return self._file.run(
            _execute,
            "DELETE FROM moderation_roles WHERE room = ? AND account = ? AND role = ?",
            (entry.room, entry.account, str(entry.role)),
        )

    def put_flag(self, entry: FlagEntry) -> Deferred[None]:
        """See L{IModerationStore.put_flag}."""
        return self._file.run(
            _execute,
            "INSERT OR IGNORE INTO moderation_flags VALUES (?, ?)",
            (entry.room, str(entry.flag)),
        )

    def drop_flag(self, entry: FlagEntry) -> Deferred[None]:
        """See L{IModerationStore.drop_flag}."""
        return self._file.run(
            _execute,
            "DELETE FROM moderation_flags WHERE room = ? AND flag = ?",
            (entry.room, str(entry.flag)),
        )

    def close(self) -> Deferred[None]:
        """See L{IModerationStore.close}: the writes given first."""
        return self._file.close()


def _connect(path: str) -> sqlite3.Connection:
    """Connect (see L{connect_wal}) and create the moderation tables if needed."""
    return connect_wal(path, _prepare)


def _prepare(connection: sqlite3.Connection, path: str) -> None:
    """Create the moderation tables (the account schema's version is not theirs)."""
    with connection:
        for statement in _SCHEMA:
            connection.execute(statement)


def _execute(connection: sqlite3.Connection, statement: str, values: tuple[object, ...]) -> None:
    connection.execute(statement, values)


def _put_role(connection: sqlite3.Connection, entry: RoleEntry) -> None:
    if entry.role is Role.FOUNDER:
        connection.execute(
            "DELETE FROM moderation_roles WHERE room = ? AND role = ?", (entry.room, "founder")
        )
    connection.execute(
        "INSERT OR IGNORE INTO moderation_roles VALUES (?, ?, ?)",
        (entry.room, entry.account, str(entry.role)),
    )


def _load(connection: sqlite3.Connection) -> ModerationSnapshot:
    """Every entry; a role or switch this version does not know is left out."""
    snapshot = ModerationSnapshot()
    for row in connection.execute("SELECT * FROM moderation_bans ORDER BY rowid"):
        snapshot.bans.append(BanEntry(*row))
    for row in connection.execute("SELECT * FROM moderation_mutes ORDER BY rowid"):
        snapshot.mutes.append(MuteEntry(*row))
    roles = {str(role) for role in Role}
    for room, account, role in connection.execute("SELECT * FROM moderation_roles"):
        if role in roles:
            snapshot.roles.append(RoleEntry(room, account, Role(role)))
    flags = {str(flag) for flag in Flag}
    for room, flag in connection.execute("SELECT * FROM moderation_flags"):
        if flag in flags:
            snapshot.flags.append(FlagEntry(room, Flag(flag)))
    return snapshot
