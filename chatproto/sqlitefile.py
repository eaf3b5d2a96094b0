"""One SQLite connection that only a worker thread of its own ever uses.

The account store and the moderation store keep their files so: the reactor
thread never touches the file, the queries are serialised, and the queries
waiting are bounded (L{chatproto.accounts.workers.Workers}).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads

from chatproto.accounts.workers import Workers

_T = TypeVar("_T")


class SQLiteFile:
    """The SQLite file at C{path}, connected by C{connect(path)} in one thread named
    C{thread_name}; at most C{max_waiting} queries queued or running."""

    def __init__(
        self,
        reactor: IReactorFromThreads,
        path: str,
        connect: Callable[[str], sqlite3.Connection],
        thread_name: str,
        max_waiting: int,
    ) -> None:
        self.path = path
        self._connect = connect
        self._workers = Workers(reactor, thread_name, 1, max_waiting)
        self._connection: sqlite3.Connection | None = None

    def open(self) -> Deferred[None]:
        """Start the thread and connect in it; the Deferred fails as C{connect} did
        (the thread runs on until L{close})."""
        self._workers.start()
        return self._workers.run(self._open)

    def run(self, query: Callable[..., _T], *args: object) -> Deferred[_T]:
        """Run C{query(connection, *args)} in the thread, in one transaction (committed
        unless it raises)."""
        return self._workers.run(self._in_transaction, query, *args)

    def close(self) -> Deferred[None]:
        """Close the connection once the queries given are done, then stop the thread."""

        def stop(result: _T) -> _T:
            self._workers.stop()
            return result

        return self._workers.run(self._close).addBoth(stop)

    def _open(self) -> None:
        self._connection = self._connect(self.path)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _in_transaction(self, query: Callable[..., _T], *args: object) -> _T:
        assert self._connection is not None, "the store is closed"
        with self._connection:
            return query(self._connection, *args)
