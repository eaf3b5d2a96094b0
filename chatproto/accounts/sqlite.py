"""The SQLite account store (`--accounts-db`, docs/protocol.md section 13).

One worker thread owns the only connection: the reactor thread never touches the
file, and writes are serialised. The database is in WAL mode, so that the operator's
tool (`chatproto-accounts`) can write while a server reads, and each side sees the
other's change at its next query. A new file is created with mode 0600 (SQLite gives
its `-wal` and `-shm` files the same mode). The schema's version is SQLite's
`user_version`; a file written by a newer version is refused rather than guessed at.

A database that holds no account answers L{SQLiteAccountStore.find} without the
thread, until anything writes to its files (L{NoAccountsWatch}).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from typing import Final

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorFromThreads
from zope.interface import implementer

from chatproto.accounts.emptiness import NoAccountsWatch
from chatproto.core.nicknames import nickname_key
from chatproto.core.skeletons import UNICODE_VERSION, skeleton
from chatproto.seams.accounts import Account, AccountExists, IAccountStore, NoSuchAccount
from chatproto.sqlitefile import SQLiteFile

#: The schema this code writes (SQLite's user_version).
SCHEMA_VERSION: Final = 1
#: Seconds a query waits for the operator's tool (or a server) to finish writing.
BUSY_TIMEOUT: Final = 5.0
#: Queries queued at most; more fail at once (they come from logins, which are bounded too).
MAX_WAITING: Final = 1024

_SCHEMA: Final = (
    """CREATE TABLE accounts (
        key TEXT PRIMARY KEY,
        skeleton TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL
    )""",
    # 'unicode': the Unicode version of the stored skeletons.
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class UnusableDatabase(Exception):
    """The file is not an account database this version can use; the message says why."""


@implementer(IAccountStore)
class SQLiteAccountStore:
    """Accounts in the SQLite file at C{path}; L{open} makes one."""

    def __init__(self, reactor: IReactorFromThreads, path: str) -> None:
        self.path = path
        self._file = SQLiteFile(reactor, path, _connect, "chatproto-accounts-db", MAX_WAITING)
        self._no_accounts: NoAccountsWatch | None = None

    @classmethod
    def open(cls, reactor: IReactorFromThreads, path: str) -> Deferred[SQLiteAccountStore]:
        """Open (creating it if needed) the account database at C{path}; fails with
        L{UnusableDatabase} or L{sqlite3.Error} when it cannot be used."""
        return Deferred.fromCoroutine(cls(reactor, path)._opened(reactor))

    async def _opened(self, reactor: IReactorFromThreads) -> SQLiteAccountStore:
        try:
            await self._file.open()
        except BaseException:
            await self._file.close()  # stops the thread again
            raise
        # The file and its WAL exist now (the connection stays open).
        self._no_accounts = NoAccountsWatch(reactor, [self.path, self.path + "-wal"])
        return self

    def add(self, name: str, password_hash: str) -> Deferred[None]:
        """See L{IAccountStore.add}."""
        key = nickname_key(name)
        return self._file.run(_add, key, skeleton(key), name, password_hash)

    def find(self, nickname: str) -> Deferred[Account | None]:
        """See L{IAccountStore.find}; at once when the database is known to be empty."""
        watch = self._no_accounts
        if watch is None:
            key = nickname_key(nickname)
            return self._file.run(_find, key, skeleton(key))
        if watch.known_empty():
            return succeed(None)
        token = watch.before_query()

        def found(answer: tuple[Account | None, bool]) -> Account | None:
            account, no_accounts = answer
            watch.after_query(token, no_accounts)
            return account

        key = nickname_key(nickname)
        return self._file.run(_find_or_none_at_all, key, skeleton(key)).addCallback(found)

    def set_password_hash(
        self, name: str, password_hash: str, replacing: str | None = None
    ) -> Deferred[None]:
        """See L{IAccountStore.set_password_hash}."""
        return self._file.run(_set_hash, nickname_key(name), password_hash, replacing)

    def delete(self, name: str) -> Deferred[None]:
        """See L{IAccountStore.delete}."""
        return self._file.run(_delete, nickname_key(name))

    def names(self) -> Deferred[Sequence[str]]:
        """See L{IAccountStore.names}."""
        return self._file.run(_names)

    def close(self) -> Deferred[None]:
        """Close the file, then stop the worker thread."""
        if self._no_accounts is not None:
            self._no_accounts.close()
            self._no_accounts = None
        return self._file.close()


def prepare_database(path: str) -> None:
    """Create (0600) or migrate the account database at C{path} now, in this thread, and
    close it: a server checks its file so at start-up, before it has threads, to stop
    with one line when the file cannot be used (L{UnusableDatabase}, L{sqlite3.Error})."""
    _connect(path).close()


def _connect(path: str) -> sqlite3.Connection:
    """Connect (see L{connect_wal}) and migrate."""
    return connect_wal(path, _prepare)


def connect_wal(
    path: str, prepare: Callable[[sqlite3.Connection, str], None]
) -> sqlite3.Connection:
    """Create the file 0600 if needed, connect, switch to WAL, then C{prepare} the schema
    (the accounts', or moderation's in the same file: L{chatproto.moderationdb})."""
    # O_CREAT with 0600 before SQLite opens it (it would use 0644 less the umask).
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
    try:
        if connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise UnusableDatabase(f"{path} cannot be put in WAL mode")
        prepare(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _prepare(connection: sqlite3.Connection, path: str) -> None:
    """Make C{connection}'s database the current account schema."""
    # IMMEDIATE: a server and the tool creating the file at once must not both create it.
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UnusableDatabase(
                f"{path} has account schema {version}; this version of chatproto knows"
                f" {SCHEMA_VERSION} at most"
            )
        if version == 0:
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        _refresh_skeletons(connection)
    except BaseException:
        connection.rollback()
        raise
    connection.commit()


def _refresh_skeletons(connection: sqlite3.Connection) -> None:
    """Recompute the skeletons when Unicode's confusables data changed since they were
    stored. A name whose new skeleton another account has keeps its old one."""
    stored = connection.execute("SELECT value FROM settings WHERE name = 'unicode'").fetchone()
    if stored is not None and stored[0] == UNICODE_VERSION:
        return
    for key, old in connection.execute("SELECT key, skeleton FROM accounts").fetchall():
        new = skeleton(key)
        if new != old:
            connection.execute(
                "UPDATE OR IGNORE accounts SET skeleton = ? WHERE key = ?", (new, key)
            )
    connection.execute("INSERT OR REPLACE INTO settings VALUES ('unicode', ?)", (UNICODE_VERSION,))


def _add(
    connection: sqlite3.Connection, key: str, skeleton_: str, name: str, password_hash: str
) -> None:
    existing = _find(connection, key, skeleton_)
    if existing is not None:
        raise AccountExists(existing.name)
    connection.execute(
        "INSERT INTO accounts (key, skeleton, name, password_hash) VALUES (?, ?, ?, ?)",
        (key, skeleton_, name, password_hash),
    )


def _find(connection: sqlite3.Connection, key: str, skeleton_: str) -> Account | None:
    # The account of the same key first: it wins over a lookalike.
    row = connection.execute(
        "SELECT name, password_hash FROM accounts WHERE key = ? OR skeleton = ?"
        " ORDER BY key = ? DESC LIMIT 1",
        (key, skeleton_, key),
    ).fetchone()
    return None if row is None else Account(row[0], row[1])


def _find_or_none_at_all(
    connection: sqlite3.Connection, key: str, skeleton_: str
) -> tuple[Account | None, bool]:
    """The account of C{key} (see L{_find}), and whether the database holds no account."""
    account = _find(connection, key, skeleton_)
    if account is not None:
        return account, False
    return None, connection.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is None


def _set_hash(
    connection: sqlite3.Connection, key: str, password_hash: str, replacing: str | None
) -> None:
    if replacing is None:
        changed = connection.execute(
            "UPDATE accounts SET password_hash = ? WHERE key = ?", (password_hash, key)
        )
    else:
        changed = connection.execute(
            "UPDATE accounts SET password_hash = ? WHERE key = ? AND password_hash = ?",
            (password_hash, key, replacing),
        )
    if changed.rowcount == 0 and not _exists(connection, key):
        raise NoSuchAccount(key)


def _delete(connection: sqlite3.Connection, key: str) -> None:
    if connection.execute("DELETE FROM accounts WHERE key = ?", (key,)).rowcount == 0:
        raise NoSuchAccount(key)


def _exists(connection: sqlite3.Connection, key: str) -> bool:
    return connection.execute("SELECT 1 FROM accounts WHERE key = ?", (key,)).fetchone() is not None


def _names(connection: sqlite3.Connection) -> list[str]:
    return [row[0] for row in connection.execute("SELECT name FROM accounts ORDER BY key")]
