"""Knowing that an account database holds no account, without asking it on every join.

Every join without a password asks the store whether the nickname is registered
(docs/protocol.md section 13). A server whose database holds no account at all
(the usual case: `--accounts-db` defaults to a file that nobody fills) would
otherwise send each join to the database thread and back, which cost a join about
a sixth of its time (docs/performance.md, "Where a join's time goes").

L{NoAccountsWatch} remembers that a query found the database empty, and forgets it
as soon as anything writes to the database's files: the kernel (Linux's inotify)
queues a change event during the writer's own write call, before its commit
returns, and the watch reads the queue synchronously (one non-blocking read)
before every answer it gives. So a nickname that `chatproto-accounts add`
registers is seen by the next join after the tool has finished, as without the
watch. Where inotify is not available the watch never knows, and every lookup asks
the database.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from twisted.python.filepath import FilePath

try:  # Linux only
    from twisted.internet import inotify
except (ImportError, NotImplementedError):  # pragma: no cover - not Linux
    inotify = None  # type: ignore[assignment]

# One inotify event's header: watch, mask, cookie, length of the name that follows.
_EVENT = struct.Struct("=LLLL")


class NoAccountsWatch:
    """Whether the database at C{paths} (the file and its WAL) is known to hold no
    account; see the module docstring.

    Use: take L{before_query} before asking the database whether it has accounts,
    give the answer and that token to L{after_query}; L{known_empty} is then True
    until something writes to the files.
    """

    def __init__(self, reactor: Any, paths: Sequence[str]) -> None:
        self._generation = 0
        self._empty = False
        self._notifier: _Notifier | None = None
        if inotify is None:
            return
        notifier = _Notifier(self, reactor)
        try:
            for path in paths:
                notifier.watch(FilePath(path), mask=_Notifier.CHANGES)  # type: ignore[no-untyped-call]
        except inotify.INotifyError:  # a file is missing or the watches ran out
            notifier.loseConnection()  # type: ignore[no-untyped-call]
            return
        notifier.startReading()  # type: ignore[no-untyped-call]
        self._notifier = notifier

    def known_empty(self) -> bool:
        """Whether the database holds no account, as far as nothing has written since
        a query found it empty."""
        if not self._empty:
            return False
        self._read_events()
        return self._empty

    def before_query(self) -> int:
        """A token to give L{after_query} with the answer of a query made after this."""
        self._read_events()
        return self._generation

    def after_query(self, token: int, no_accounts: bool) -> None:
        """A query that began after L{before_query} gave C{token} found C{no_accounts}."""
        self._read_events()
        if no_accounts and token == self._generation and self._notifier is not None:
            self._empty = True

    def close(self) -> None:
        """Stop watching: from now on the watch knows nothing."""
        self._empty = False
        if self._notifier is not None:
            self._notifier.loseConnection()  # type: ignore[no-untyped-call]
            self._notifier = None

    def changed(self, watch_gone: bool) -> None:
        """Something wrote to the files (or one is no longer watched: then for good)."""
        self._generation += 1
        self._empty = False
        if watch_gone:
            self.close()

    def _read_events(self) -> None:
        if self._notifier is not None:
            self._notifier.doRead()  # type: ignore[no-untyped-call]


if inotify is not None:

    class _Notifier(inotify.INotify):
        """Twisted's inotify reader, telling its watch of every event, the queue's
        overflow included (which Twisted's own dispatch skips)."""

        #: Events that may change what a file holds.
        CHANGES = (
            inotify.IN_MODIFY | inotify.IN_ATTRIB | inotify.IN_DELETE_SELF | inotify.IN_MOVE_SELF
        )
        #: Events after which a file is no longer watched: the watch knows nothing more.
        GONE = (
            inotify.IN_IGNORED
            | inotify.IN_Q_OVERFLOW
            | inotify.IN_UNMOUNT
            | inotify.IN_DELETE_SELF
            | inotify.IN_MOVE_SELF
        )

        def __init__(self, watch: NoAccountsWatch, reactor: Any) -> None:
            super().__init__(reactor)  # type: ignore[no-untyped-call]
            self._owner = watch

        def _doRead(self, in_: bytes) -> None:
            data = self._buffer + in_
            gone = False
            offset = 0
            while len(data) - offset >= _EVENT.size:
                _, mask, _, size = _EVENT.unpack_from(data, offset)
                if len(data) - offset < _EVENT.size + size:
                    break  # the rest of this event comes with the next read
                offset += _EVENT.size + size
                gone = gone or bool(mask & self.GONE)
            self._buffer = data[offset:]
            if offset:
                self._owner.changed(gone)
