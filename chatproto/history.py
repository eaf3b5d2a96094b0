"""The default history store (docs/protocol.md section 6): a JSON Lines file.

Every accepted public message is appended here before anyone sees it; clients that join
later are replayed the newest retained records. The JSON Lines file is append-only, one
record per line; see docs/history.md for its format and crash guarantees.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import itertools
import json
import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import Literal

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.core.records import with_id
from chatproto.seams.history import HistoryUnavailable, IHistoryStore, Stored

# Start-up reads the file backwards in blocks of this many bytes.
BLOCK_SIZE = 64 * 1024

# At most this many offsets of corrupt lines go into the start-up log event.
_MAX_LOGGED_OFFSETS = 20

FsyncPolicy = Literal["always", "interval", "never"]
ThreadRunner = Callable[[Callable[[], None]], Deferred[None]]

_log = Logger()


#: The longest record that can be replayed: a frame holds 65535 bytes, and a
#: replayed record grows by its `"history": true` field.
MAX_RECORD_BYTES = 65535 - 32


def _record_id(line: bytes) -> int | None:
    """The id of a stored record, or None when C{line} is not one.

    A record is written exactly as broadcast: compact JSON, one object that
    ends in C{}} and fits a frame. Anything else (even valid JSON with a
    trailing CR or space) could not be replayed as it is, so it counts as corrupt.
    """
    if not line.endswith(b"}") or len(line) > MAX_RECORD_BYTES:
        return None
    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, or absurdly deep nesting
        return None
    if not isinstance(record, dict):
        return None
    message_id = record.get("id")
    # bool is an int subclass, and true is no id.
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id <= 0:
        return None
    return message_id


def _end_of_last_line(fd: int, size: int) -> int:
    """The offset just past the last newline in the first C{size} bytes of C{fd}, or 0."""
    end = size
    while end > 0:
        start = max(0, end - BLOCK_SIZE)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


def _lines_backwards(fd: int, end: int) -> Iterator[tuple[int, bytes]]:
    """
    Yield C{(offset, line)} for every line of C{fd} before C{end}, newest first.

    C{end} is 0 or follows a newline; lines are yielded without their newline, and a line
    may be longer than L{BLOCK_SIZE}.
    """
    if end == 0:
        return
    # buf holds file bytes from buf_start; buf[:high] is what is left to split.
    buf, buf_start, high = b"", end - 1, 0
    while True:
        newline = buf.rfind(b"\n", 0, high)
        if newline >= 0:
            yield buf_start + newline + 1, buf[newline + 1 : high]
            high = newline
        elif buf_start == 0:
            yield 0, buf[:high]
            return
        else:
            start = max(0, buf_start - BLOCK_SIZE)
            buf = os.pread(fd, buf_start - start, start) + buf[:high]
            buf_start, high = start, len(buf)


@implementer(IHistoryStore)
class JsonLinesHistory:
    """
    An append-only JSON Lines file: one record per line, exactly as broadcast.

    The constructor opens and recovers the file (blocking, meant for start-up): it cuts a
    torn last line, then reads only the file's tail, backwards, until C{retain} valid
    records (and at least the newest one) are found. Corrupt lines are skipped and logged.
    C{fsync} is C{"always"} (the room awaits L{sync} before delivery), C{"interval"} (the
    service calls L{sync} once a second) or C{"never"} (no fsync but the one at
    close). C{run_in_thread} runs the blocking fsync off the reactor thread.
    """

    def __init__(
        self,
        path: str,
        retain: int = 10000,
        fsync: FsyncPolicy = "interval",
        run_in_thread: ThreadRunner | None = None,
    ) -> None:
        self.path = path
        self.durable_before_delivery = fsync == "always"
        self.last_id = 0
        self._fsync = fsync
        self._run_in_thread: ThreadRunner = run_in_thread or deferToThread
        self._retained: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=retain)
        self._fd = self._open(path)
        try:
            self._size = self._recover()
        except OSError as e:
            os.close(self._fd)
            raise HistoryUnavailable(f"cannot read history file {path!r}: {e.strerror}") from e
        # Set when a failed append may have left bytes past _size that are not yet cut off.
        self._torn = False
        self._synced_id = self.last_id
        self._sync_target: int | None = None  # last_id covered by the fsync in flight
        self._sync_waiters: list[Deferred[None]] = []  # fire when the fsync in flight ends
        self._next_sync_waiters: list[Deferred[None]] = []  # need one more fsync after it
        self._closing = False
        self._close_waiters: list[Deferred[None]] = []

    @property
    def first_id(self) -> int:
        """Oldest id still retained for replay, 0 if none."""
        return self._retained[0][0] if self._retained else 0

    @staticmethod
    def _open(path: str) -> int:
        """Open C{path} for appending and lock it so that one server at a time writes it."""
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as e:
            raise HistoryUnavailable(f"cannot open history file {path!r}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            raise HistoryUnavailable(f"history file {path!r} is in use by another process") from e
        return fd

    def _recover(self) -> int:
        """Cut a torn last line, load the tail and return the file's size."""
        size = os.fstat(self._fd).st_size
        end = _end_of_last_line(self._fd, size)
        if end != size:
            # A crash mid-append left a torn line; cut it before anything is appended after it.
            os.ftruncate(self._fd, end)
            _log.warn(
                "History file {path}: cut a torn last line of {length} bytes at offset {offset}",
                path=self.path,
                length=size - end,
                offset=end,
            )
        skipped: list[int] = []
        for offset, line in _lines_backwards(self._fd, end):
            message_id = _record_id(line)
            # Read backwards, ids must decrease; the newer line is the one the server trusted.
            if message_id is None or (self._retained and message_id >= self._retained[0][0]):
                skipped.append(offset)
                continue
            if not self.last_id:
                self.last_id = message_id
            self._retained.appendleft((message_id, line))  # a no-op when retain=0
            if len(self._retained) == self._retained.maxlen:
                break  # with retain=0, as soon as last_id is known
        if skipped:
            _log.warn(
                "History file {path}: skipped {count} corrupt lines at byte offsets {offsets}",
                path=self.path,
                count=len(skipped),
                offsets=sorted(skipped)[:_MAX_LOGGED_OFFSETS],
            )
        return end

    def add(self, fields: bytes) -> Deferred[Stored]:
        """Store the record with the next id (see L{IHistoryStore.add}); answers at once."""
        message_id = self.last_id + 1
        record = with_id(message_id, fields)
        try:
            self.append(message_id, record)
        except HistoryUnavailable as e:
            return fail(e)
        return succeed((message_id, record))

    def append(self, message_id: int, record: bytes) -> None:
        """Write C{record} and a newline to the file with C{os.write}, then retain it."""
        if self._closing:
            raise HistoryUnavailable("the history store is closed")
        if message_id <= self.last_id:
            raise ValueError(f"message id {message_id} is not above last id {self.last_id}")
        if b"\n" in record:
            raise ValueError("a history record must not contain a newline")
        line = memoryview(record + b"\n")
        try:
            self._cut_torn_bytes()
            written = 0
            while written < len(line):
                written += os.write(self._fd, line[written:])
        except OSError as e:
            self._torn = True
            with contextlib.suppress(OSError):  # the next append tries again before it writes
                self._cut_torn_bytes()
            _log.error(
                "History file {path}: could not append message {id}: {error}",
                path=self.path,
                id=message_id,
                error=e.strerror,
            )
            raise HistoryUnavailable(f"cannot append to history: {e.strerror}") from e
        self._size += len(line)
        self.last_id = message_id
        self._retained.append((message_id, record))

    def _cut_torn_bytes(self) -> None:
        """Truncate away what a failed append left, so no partial line precedes the next."""
        if self._torn:
            os.ftruncate(self._fd, self._size)
            self._torn = False

    def recent(self, count: int) -> Deferred[list[Stored]]:
        """The newest C{count} retained C{(id, record)} pairs, oldest first."""
        return succeed(self._newest(count))

    def _newest(self, count: int) -> list[Stored]:
        """L{recent}, answered synchronously."""
        newest = list(itertools.islice(reversed(self._retained), max(count, 0)))
        newest.reverse()
        return newest

    def since(self, message_id: int) -> Deferred[list[Stored]]:
        """Every retained C{(id, record)} pair with id > C{message_id}, oldest first."""
        return succeed(self._after(message_id))

    def _after(self, message_id: int) -> list[Stored]:
        """L{since}, answered synchronously."""
        newer: list[tuple[int, bytes]] = []
        for entry in reversed(self._retained):
            if entry[0] <= message_id:
                break
            newer.append(entry)
        newer.reverse()
        return newer

    def sync(self) -> Deferred[None]:
        """
        Fsync the file in a thread unless nothing was appended since the last fsync.

        Calls while an fsync is in flight share it when it covers everything appended so
        far, else share one follow-up fsync. Errbacks with L{HistoryUnavailable}.
        """
        if self._fsync == "never":
            return succeed(None)
        return self._sync_appended()

    def _sync_appended(self) -> Deferred[None]:
        """Fsync whatever was appended since the last fsync, whatever the policy."""
        if self._fd < 0 or self.last_id <= self._synced_id:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        if self._sync_target is None:
            self._sync_waiters.append(waiter)
            self._start_fsync()
        elif self._sync_target >= self.last_id:
            self._sync_waiters.append(waiter)
        else:
            self._next_sync_waiters.append(waiter)
        return waiter

    def _start_fsync(self) -> None:
        """Run one fsync covering everything appended so far."""
        target = self._sync_target = self.last_id
        done = self._run_in_thread(partial(os.fsync, self._fd))
        done.addBoth(self._fsync_done, target)

    def _fsync_done(self, result: Failure | None, target: int) -> None:
        """Tell the waiters of the finished fsync, then start the follow-up one if needed."""
        waiters = self._sync_waiters
        self._sync_waiters, self._next_sync_waiters = self._next_sync_waiters, []
        self._sync_target = None
        error: HistoryUnavailable | None = None
        if isinstance(result, Failure):
            _log.error(
                "History file {path}: fsync failed: {error}", path=self.path, error=result.value
            )
            error = HistoryUnavailable(f"cannot sync history: {result.value}")
        else:
            self._synced_id = max(self._synced_id, target)
        _fire(waiters, error)
        # A waiter's callback may already have started an fsync that covers the rest.
        if self._sync_waiters and self._sync_target is None:
            self._start_fsync()

    def close(self) -> Deferred[None]:
        """Refuse further appends, sync (with every policy: shutdown makes history
        durable), then close the file."""
        if self._fd < 0:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._close_waiters.append(waiter)
        if not self._closing:
            self._closing = True
            self._sync_appended().addBoth(self._finish_close)
        return waiter

    def _finish_close(self, result: Failure | None) -> None:
        """Close the file once the last sync has ended, and tell every close() caller."""
        os.close(self._fd)  # also releases the lock
        self._fd = -1
        waiters, self._close_waiters = self._close_waiters, []
        _fire(waiters, result)


def _fire(waiters: list[Deferred[None]], error: Failure | Exception | None) -> None:
    """Fire every waiter: errback with C{error}, or callback when it is None."""
    for waiter in waiters:
        if error is None:
            waiter.callback(None)
        else:
            waiter.errback(error)
