"""The default history store (docs/protocol.md section 6): a JSON Lines file.

Every accepted public message is appended here before anyone sees it; clients that join
later are replayed the newest retained records. The JSON Lines file is append-only, one
record per line; see docs/history.md for its format and crash guarantees.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import fcntl
import itertools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.core.records import with_id
from chatproto.seams.history import HistoryUnavailable, IHistoryStore, IRedactable, Stored

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

#: Start-up reads this many lines with an id beyond the retained ones, so that a few stray
#: lines near the end neither shorten the replay nor hide the greatest id stored.
WINDOW_SLACK = 1000


def _claimed_id(line: bytes) -> int | None:
    """The id C{line} claims, valid record or not: a JSON object's positive integer C{id}."""
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


def _is_replayable(line: bytes) -> bool:
    """Whether a line with an id is written exactly as broadcast: compact JSON that ends
    in C{}} and fits a frame (valid JSON with a trailing CR or space could not be replayed
    as it is)."""
    return line.endswith(b"}") and len(line) <= MAX_RECORD_BYTES


#: How a redacted record begins: its id, then this (docs/history.md). A chat record's
#: second field is its timestamp, so no chat record begins so.
REDACTED_MARK = b',"redacted":true'


def redaction_line(message_id: int, length: int) -> bytes:
    """The record that takes the place of the C{length} bytes of the record
    C{message_id} in the file: its id, the mark, spaces (JSON whitespace) and C{}}."""
    head = b'{"id":%d%s' % (message_id, REDACTED_MARK)
    return head + b" " * (length - len(head) - 1) + b"}"


def _is_redacted(line: bytes) -> bool:
    """Whether C{line} is a redacted record (L{redaction_line}): never replayed."""
    mark = line.find(REDACTED_MARK, 0, 32)
    return mark > 0 and line.startswith(b'{"id":')


def end_of_last_line(fd: int, size: int) -> int:
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


@dataclass
class Window:
    """The tail of a history file that start-up reads, checked forwards (section 6).

    A line is a valid record when it is replayable and its id is greater than the id of
    the valid line before it in the window; a redacted record is neither valid nor
    corrupt (its id counts, its line is never replayed); every other line is corrupt.
    """

    #: C{(offset, id, line)} of every valid record, oldest first.
    records: list[tuple[int, int, bytes]] = field(default_factory=list)
    #: Byte offsets of the corrupt lines, oldest first.
    corrupt: list[int] = field(default_factory=list)
    #: The greatest id any line of the window claims, corrupt ones included; 0 if none.
    greatest_id: int = 0


def read_window(fd: int, end: int, wanted: int) -> Window:
    """
    Read the lines of C{fd} before C{end} (0 or just past a newline) backwards until
    C{wanted} + L{WINDOW_SLACK} of them claim an id, then check them forwards.

    What is read depends on C{wanted}, not on the file's size (unless the tail is mostly
    lines without an id).
    """
    tail: list[tuple[int, tuple[int, bytes] | None]] = []  # newest first
    with_id = 0
    for offset, line in _lines_backwards(fd, end):
        message_id = _claimed_id(line)
        tail.append((offset, None if message_id is None else (message_id, line)))
        if message_id is not None:
            with_id += 1
            if with_id >= wanted + WINDOW_SLACK:
                break
    window = Window()
    for offset, claimed in reversed(tail):
        if claimed is None:
            window.corrupt.append(offset)
            continue
        message_id, line = claimed
        window.greatest_id = max(window.greatest_id, message_id)
        if _is_redacted(line):
            continue
        newest = window.records[-1][1] if window.records else 0
        if message_id <= newest or not _is_replayable(line):
            window.corrupt.append(offset)
        else:
            window.records.append((offset, message_id, line))
    return window


class HistoryLocked(HistoryUnavailable):
    """Another process holds the history file's lock (usually another server)."""


def lock_exclusively(fd: int, path: str) -> None:
    """Take the lock that lets one process at a time write the history file at C{path}.

    Raise L{HistoryLocked}, naming the process that holds it when the system tells.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        holder = _lock_holder(fd)
        who = f"process {holder}" if holder is not None else "another process"
        raise HistoryLocked(
            f"history file {path!r} is locked by {who} (another chat server on this file?)"
        ) from e


def _lock_holder(fd: int) -> int | None:
    """The pid that Linux's /proc/locks names for a flock on C{fd}'s file, or None."""
    st = os.fstat(fd)
    # /proc/locks names a file as major:minor:inode, the device numbers in hex.
    file_id = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:2154500 0 EOF"; waiters add "->".
                fields = line.split()
                if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == file_id:
                    pid = int(fields[4])
                    return pid if pid > 0 else None  # 0: in another pid namespace
    except (OSError, ValueError):
        return None
    return None


@implementer(IHistoryStore, IRedactable)
class JsonLinesHistory:
    """
    An append-only JSON Lines file: one record per line, exactly as broadcast.

    The constructor opens and recovers the file (blocking, meant for start-up): it cuts a
    torn last line, then reads the file's tail (see L{read_window}) and retains its newest
    C{retain} valid records; C{last_id} is the greatest id that tail holds, so that no id
    is reused. Corrupt lines are skipped and logged.
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
        #: The byte offset in the file of each retained record, in the same order.
        self._offsets: collections.deque[int] = collections.deque(maxlen=retain)
        self._fd = self._open(path)
        try:
            self._size = self._recover()
        except OSError as e:
            os.close(self._fd)
            raise HistoryUnavailable(f"cannot read history file {path!r}: {e.strerror}") from e
        # Set when a failed append may have left bytes past _size that are not yet cut off.
        self._torn = False
        self._synced_id = self.last_id
        self._synced_size = self._size
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
            lock_exclusively(fd, path)
        except HistoryLocked:
            os.close(fd)
            raise
        return fd

    def _recover(self) -> int:
        """Cut a torn last line, load the tail and return the file's size."""
        size = os.fstat(self._fd).st_size
        end = end_of_last_line(self._fd, size)
        if end != size:
            # A crash mid-append left a torn line; cut it before anything is appended after it.
            os.ftruncate(self._fd, end)
            _log.warn(
                "History file {path}: cut a torn last line of {length} bytes at offset {offset}",
                path=self.path,
                length=size - end,
                offset=end,
                event_kind="store",
            )
        window = read_window(self._fd, end, self._retained.maxlen or 0)
        self._retained.extend((message_id, line) for _, message_id, line in window.records)
        self._offsets.extend(offset for offset, _, _ in window.records)
        # Above every id the window holds, valid or not, so that no id is ever reused.
        self.last_id = window.greatest_id
        if window.corrupt:
            _log.warn(
                "History file {path}: skipped {count} corrupt lines at byte offsets {offsets}",
                path=self.path,
                count=len(window.corrupt),
                offsets=window.corrupt[:_MAX_LOGGED_OFFSETS],
                event_kind="store",
            )
        _log.info(
            "History file {path}: loaded {count} messages; new messages get ids from {next_id}",
            path=os.path.abspath(self.path),
            count=len(self._retained),
            next_id=self.last_id + 1,
            event_kind="store",
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
                event_kind="store",
            )
            raise HistoryUnavailable(f"cannot append to history: {e.strerror}") from e
        self._offsets.append(self._size)
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

    def page(self, before: int | None, since: int | None, limit: int) -> Deferred[list[Stored]]:
        """See L{IHistoryStore.page}: found by bisection in the retained window."""
        return succeed(retained_page(self._retained, before, since, limit))

    def redact(self, message_id: int) -> Deferred[bool]:
        """See L{IRedactable.redact}: the record's line is written over in place by a
        L{redaction_line} of the same length (so no offset, id or line moves), then
        fsynced (unless C{fsync} is never) before the answer."""
        index = bisect.bisect_left(self._retained, message_id, key=_id_of)
        if index == len(self._retained) or self._retained[index][0] != message_id:
            return succeed(False)
        if self._closing:
            return fail(HistoryUnavailable("the history store is closed"))
        offset, record = self._offsets[index], self._retained[index][1]
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)  # O_APPEND would ignore offsets
        except OSError as e:
            return fail(self._redaction_failed(message_id, e))
        try:
            _write_at(fd, redaction_line(message_id, len(record)), offset)
        except OSError as e:
            os.close(fd)
            return fail(self._redaction_failed(message_id, e))
        del self._retained[index]
        del self._offsets[index]
        if self._fsync == "never":
            os.close(fd)
            return succeed(True)
        synced = self._run_in_thread(partial(os.fsync, fd))

        def closed(result: object) -> object:
            os.close(fd)
            return result

        return synced.addBoth(closed).addCallbacks(lambda _: True, _redaction_unsynced)

    def _redaction_failed(self, message_id: int, error: OSError) -> HistoryUnavailable:
        """Log why the record C{message_id} could not be written over; the store's error."""
        _log.error(
            "History file {path}: could not redact message {id}: {error}",
            path=self.path,
            id=message_id,
            error=error.strerror,
        )
        return HistoryUnavailable(f"cannot redact: {error.strerror}")

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
        done.addBoth(self._fsync_done, target, self._size)

    def _fsync_done(self, result: Failure | None, target: int, size: int) -> None:
        """Tell the waiters of the finished fsync, then start the follow-up one if needed."""
        waiters = self._sync_waiters
        self._sync_waiters, self._next_sync_waiters = self._next_sync_waiters, []
        self._sync_target = None
        error: HistoryUnavailable | None = None
        if isinstance(result, Failure):
            _log.error(
                "History file {path}: fsync failed: {error}",
                path=self.path,
                error=result.value,
                event_kind="store",
            )
            error = HistoryUnavailable(f"cannot sync history: {result.value}")
            if self.durable_before_delivery:
                waiters += self._sync_waiters
                self._sync_waiters = []
                self._forget_unsynced()
        else:
            self._synced_id = max(self._synced_id, target)
            self._synced_size = max(self._synced_size, size)
        _fire(waiters, error)
        # A waiter's callback may already have started an fsync that covers the rest.
        if self._sync_waiters and self._sync_target is None:
            self._start_fsync()

    def _forget_unsynced(self) -> None:
        """With fsync=always, a failed fsync means its messages are shown to nobody
        (docs/protocol.md section 6): cut them from the file and from the replay window.
        Their ids stay used; the next message gets a new one."""
        self._size = self._synced_size
        self._torn = True  # cut now, or before the next append if the cut fails too
        with contextlib.suppress(OSError):
            self._cut_torn_bytes()
        while self._retained and self._retained[-1][0] > self._synced_id:
            self._retained.pop()
            self._offsets.pop()
        self._synced_id = self.last_id

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


def retained_page(
    retained: Sequence[Stored], before: int | None, since: int | None, limit: int
) -> list[Stored]:
    """L{IHistoryStore.page} of C{retained} (in id order), by bisection: a long history
    costs a few lookups, not a scan."""
    if since is not None:
        start = bisect.bisect_right(retained, since, key=_id_of)
        return [retained[i] for i in range(start, min(start + limit, len(retained)))]
    end = len(retained) if before is None else bisect.bisect_left(retained, before, key=_id_of)
    return [retained[i] for i in range(max(0, end - limit), end)]


def _write_at(fd: int, data: bytes, offset: int) -> None:
    """Write all of C{data} at C{offset} of C{fd}."""
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], offset + written)


def _redaction_unsynced(failure: Failure) -> bool:
    """The redaction is written but could not be fsynced: say so (its text is gone from
    the file as read, but a crash could bring it back)."""
    _log.error("History file: a redaction could not be fsynced: {error}", error=failure.value)
    raise HistoryUnavailable(f"cannot sync the redaction: {failure.value}")


def _id_of(entry: Stored) -> int:
    return entry[0]


def _fire(waiters: list[Deferred[None]], error: Failure | Exception | None) -> None:
    """Fire every waiter: errback with C{error}, or callback when it is None."""
    for waiter in waiters:
        if error is None:
            waiter.callback(None)
        else:
            waiter.errback(error)
