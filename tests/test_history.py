"""Tests for chatproto.history: the JSON Lines history store and its crash recovery."""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import LogEvent, LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from chatproto import history, history_tool
from chatproto.history import FsyncPolicy, HistoryLocked, JsonLinesHistory
from chatproto.seams.history import HistoryUnavailable, IHistoryStore


def record(message_id: int, message: str = "hello") -> bytes:
    """A record as the room broadcasts it: compact UTF-8 JSON."""
    packet = {
        "id": message_id,
        "timestamp": "2026-11-24T03:30:44.123Z",
        "nickname": "alice",
        "message": message,
    }
    return json.dumps(packet, separators=(",", ":"), ensure_ascii=False).encode()


def lines(*ids: int) -> bytes:
    """File content holding the records with C{ids}."""
    return b"".join(record(i) + b"\n" for i in ids)


def warnings(events: list[LogEvent]) -> list[LogEvent]:
    """The captured log events of warning level and above."""
    return [event for event in events if event["log_level"] >= LogLevel.warn]


class Runner:
    """A stand-in for deferToThread: runs jobs at once, or when the test says (C{manual})."""

    def __init__(self, manual: bool = False) -> None:
        self.manual = manual
        self.calls = 0
        self.pending: list[tuple[Callable[[], None], Deferred[None]]] = []

    def __call__(self, job: Callable[[], None]) -> Deferred[None]:
        self.calls += 1
        if not self.manual:
            job()
            return succeed(None)
        done: Deferred[None] = Deferred()
        self.pending.append((job, done))
        return done

    def finish(self) -> None:
        """Run the oldest pending job and fire its Deferred."""
        job, done = self.pending.pop(0)
        job()
        done.callback(None)

    def fail(self, error: Exception) -> None:
        """Fail the oldest pending job without running it."""
        _, done = self.pending.pop(0)
        done.errback(error)


class StoreTestCase(SynchronousTestCase):
    """Helpers: a history path in a fresh temporary directory and stores that close."""

    def setUp(self) -> None:
        self.path = self.mktemp()

    def write(self, content: bytes) -> None:
        """Replace the history file's content, as an earlier server run left it."""
        with open(self.path, "wb") as f:
            f.write(content)

    def content(self) -> bytes:
        """The history file's content."""
        with open(self.path, "rb") as f:
            return f.read()

    def open(
        self, retain: int = 10000, fsync: FsyncPolicy = "interval", runner: Runner | None = None
    ) -> JsonLinesHistory:
        """Open the store at C{self.path}; it is closed when the test ends."""
        store = JsonLinesHistory(self.path, retain, fsync, runner or Runner())
        self.addCleanup(store.close)
        return store

    def reopen(self, store: JsonLinesHistory, **kwargs: Any) -> JsonLinesHistory:
        """Close C{store} and open the file again, as a restarted server does."""
        self.successResultOf(store.close())
        return self.open(**kwargs)


class AppendAndReplayTests(StoreTestCase):
    """append, recent and since."""

    def test_provides_interface(self) -> None:
        """JsonLinesHistory provides IHistoryStore."""
        self.assertTrue(verifyObject(IHistoryStore, self.open()))

    def test_empty(self) -> None:
        """A new file has no ids and nothing to replay."""
        store = self.open()
        self.assertEqual((store.last_id, store.first_id), (0, 0))
        self.assertEqual(
            (self.successResultOf(store.recent(10)), self.successResultOf(store.since(0))), ([], [])
        )
        self.assertEqual(self.content(), b"")

    def test_append_writes_a_line(self) -> None:
        """Each record is written to the file at once as one line."""
        store = self.open()
        store.append(1, record(1))
        store.append(2, record(2, "zwei ✓"))
        self.assertEqual(self.content(), record(1) + b"\n" + record(2, "zwei ✓") + b"\n")
        self.assertEqual((store.last_id, store.first_id), (2, 1))

    def test_recent(self) -> None:
        """recent(n) is the newest n records, oldest first."""
        store = self.open()
        for i in range(1, 6):
            store.append(i, record(i))
        self.assertEqual(self.successResultOf(store.recent(2)), [(4, record(4)), (5, record(5))])
        self.assertEqual([i for i, _ in self.successResultOf(store.recent(100))], [1, 2, 3, 4, 5])
        self.assertEqual(self.successResultOf(store.recent(0)), [])

    def test_since(self) -> None:
        """since(n) is every retained record with id > n, oldest first."""
        store = self.open()
        for i in range(1, 6):
            store.append(i, record(i))
        self.assertEqual(self.successResultOf(store.since(3)), [(4, record(4)), (5, record(5))])
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [1, 2, 3, 4, 5])
        self.assertEqual(self.successResultOf(store.since(5)), [])

    def test_retain_limits_replay(self) -> None:
        """Only the newest `retain` records are replayable; first_id tells the oldest."""
        store = self.open(retain=2)
        for i in range(1, 6):
            store.append(i, record(i))
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [4, 5])
        self.assertEqual(store.first_id, 4)

    def test_ids_must_increase(self) -> None:
        """An id not above last_id is a programming error, and nothing is written."""
        store = self.open()
        store.append(5, record(5))
        self.assertRaises(ValueError, store.append, 5, record(5))
        self.assertRaises(ValueError, store.append, 4, record(4))
        self.assertEqual(self.content(), lines(5))

    def test_record_with_newline(self) -> None:
        """A record holding a newline would split into two lines: refused."""
        store = self.open()
        self.assertRaises(ValueError, store.append, 1, b'{"id":1,\n"message":"x"}')
        self.assertEqual((self.content(), store.last_id), (b"", 0))

    def test_retain_zero(self) -> None:
        """retain=0 replays nothing, but ids still continue, also across a restart."""
        store = self.open(retain=0)
        for i in range(1, 4):
            store.append(i, record(i))
        self.assertEqual(
            (
                self.successResultOf(store.recent(10)),
                self.successResultOf(store.since(0)),
                store.first_id,
            ),
            ([], [], 0),
        )
        store = self.reopen(store, retain=0)
        self.assertEqual((store.last_id, self.successResultOf(store.recent(10))), (3, []))
        store.append(4, record(4))
        self.assertEqual(self.content(), lines(1, 2, 3, 4))


class RestartTests(StoreTestCase):
    """Opening an existing file."""

    def test_restart_continues(self) -> None:
        """A restarted store knows the last id and replays the same bytes."""
        store = self.open()
        for i in range(1, 4):
            store.append(i, record(i, f"message {i}"))
        before = self.successResultOf(store.recent(10))
        store = self.reopen(store)
        self.assertEqual((store.last_id, store.first_id), (3, 1))
        self.assertEqual(self.successResultOf(store.recent(10)), before)
        store.append(4, record(4))
        self.assertEqual(
            self.successResultOf(store.since(2)), [(3, record(3, "message 3")), (4, record(4))]
        )

    def test_ids_need_not_be_contiguous(self) -> None:
        """Ids only have to increase."""
        self.write(lines(2, 7, 40))
        store = self.open()
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [2, 7, 40])
        self.assertEqual(self.successResultOf(store.since(7)), [(40, record(40))])

    def test_missing_directory(self) -> None:
        """A history file in a directory that does not exist is a clear error."""
        path = os.path.join(self.mktemp(), "history.jsonl")
        error = self.assertRaises(HistoryUnavailable, JsonLinesHistory, path)
        self.assertIn(path, str(error))
        self.assertIn("No such file or directory", str(error))

    def test_one_writer(self) -> None:
        """A file another store has open is refused, naming the lock's holder, until that
        store closes."""
        store = self.open()
        error = self.assertRaises(HistoryLocked, JsonLinesHistory, self.path)
        self.assertEqual(
            str(error),
            f"history file {self.path!r} is locked by process {os.getpid()}"
            " (another chat server on this file?)",
        )
        self.successResultOf(store.close())
        self.open()

    def test_lock_holder_unknown(self) -> None:
        """Where the system does not tell who holds the lock, the refusal says so."""
        store = self.open()
        self.patch(history, "_lock_holder", lambda fd: None)
        error = self.assertRaises(HistoryLocked, JsonLinesHistory, self.path)
        self.assertIn("is locked by another process", str(error))
        self.successResultOf(store.close())

    def test_start_up_says_what_it_loaded(self) -> None:
        """Start-up logs how many messages it loaded, from which file, and the next id."""
        self.write(lines(3, 4, 5))
        with capturedLogs() as events:
            self.open(retain=2)
        [loaded] = [formatEvent(event) for event in events]
        self.assertEqual(
            loaded,
            f"History file {os.path.abspath(self.path)}: loaded 2 messages;"
            " new messages get ids from 6",
        )


class RecoveryTests(StoreTestCase):
    """Torn and corrupt lines left by a crash or by hand."""

    def test_torn_last_line_is_cut(self) -> None:
        """A torn last line is truncated away before anything is appended, and logged."""
        self.write(lines(1, 2) + record(3)[:20])
        with capturedLogs() as events:
            store = self.open()
        self.assertEqual(self.content(), lines(1, 2))
        self.assertEqual(store.last_id, 2)
        [event] = warnings(events)
        self.assertEqual((event["length"], event["offset"]), (20, len(lines(1, 2))))
        self.assertNotIn("hello", formatEvent(event))

        store.append(3, record(3))
        store = self.reopen(store)
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [1, 2, 3])
        self.assertEqual(self.content(), lines(1, 2, 3))

    def test_file_of_only_a_torn_line(self) -> None:
        """A file without any newline is all torn line."""
        self.write(record(1)[:-3])
        store = self.open()
        self.assertEqual((self.content(), store.last_id), (b"", 0))

    def test_corrupt_lines_are_skipped(self) -> None:
        """Lines that are no records are skipped and logged by offset; nothing else is lost."""
        bad = [
            b"not json",
            b"",
            b"[1, 2]",
            b'{"id": "3"}',
            b'{"id": 0}',
            b'{"id": true}',
            b'{"message": "no id"}',
            b'{"id": 3, "message": "caf\xe9"}',  # Latin-1, not UTF-8
            b"[" * 100000 + b"]" * 100000,
            record(3) + b"\r",  # valid JSON, but not as broadcast: it could not be replayed
            record(3) + b" ",
            record(3, "x" * 70000),  # longer than a frame
        ]
        good_before, good_after = lines(1, 2), lines(3, 4)
        self.write(good_before + b"".join(line + b"\n" for line in bad) + good_after)
        with capturedLogs() as events:
            store = self.open()
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [1, 2, 3, 4])
        self.assertEqual(self.successResultOf(store.recent(4))[2], (3, record(3)))
        [event] = warnings(events)
        self.assertEqual(event["count"], len(bad))
        self.assertEqual(event["offsets"][0], len(good_before))
        self.assertNotIn("no id", formatEvent(event))

    def test_ids_not_increasing_are_skipped(self) -> None:
        """A line whose id is not above the valid line before it is corrupt (section 6),
        and so is everything a stray high id precedes; new ids continue above it."""
        self.write(lines(1, 9, 2, 3, 10))
        with capturedLogs() as events:
            store = self.open()
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [1, 9, 10])
        self.assertEqual(store.last_id, 10)
        [event] = warnings(events)
        self.assertEqual(event["offsets"], [len(lines(1, 9)), len(lines(1, 9, 2))])

    def test_stray_old_id_at_the_end_is_not_reused(self) -> None:
        """Ids 1..10 then a stray 4: the stray is corrupt and the next id is 11, not 5."""
        self.write(lines(*range(1, 11), 4))
        with capturedLogs():
            store = self.open()
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], list(range(1, 11)))
        self.assertEqual(store.last_id, 10)
        store.append(11, record(11))
        with capturedLogs():
            store = self.reopen(store)
        self.assertEqual([i for i, _ in self.successResultOf(store.since(8))], [9, 10, 11])

    def test_stray_line_hides_no_valid_line(self) -> None:
        """Ids 10..70, a stray 15, then 80..100: every valid line is replayed."""
        valid_before, valid_after = range(10, 71, 10), range(80, 101, 10)
        self.write(lines(*valid_before, 15, *valid_after))
        with capturedLogs():
            store = self.open()
        self.assertEqual(
            [i for i, _ in self.successResultOf(store.since(0))], [*valid_before, *valid_after]
        )
        self.assertEqual(store.last_id, 100)

    def test_id_of_an_unreplayable_last_line_is_not_reused(self) -> None:
        """A last line with id 6 that could not be replayed as it is (a trailing space) is
        corrupt, but its id is taken: the next id is 7."""
        self.write(lines(1, 2, 3, 4, 5) + record(6) + b" \n")
        with capturedLogs():
            store = self.open()
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [1, 2, 3, 4, 5])
        self.assertEqual(store.last_id, 6)
        self.assertRaises(ValueError, store.append, 6, record(6))

    def test_last_id_behind_corrupt_tail(self) -> None:
        """Even with retain=0, last_id is the greatest id near the end, stray or not."""
        self.write(lines(1, 2) + b"garbage\n" * 3 + lines(1))
        with capturedLogs():
            store = self.open(retain=0)
        self.assertEqual(store.last_id, 2)

    def test_only_the_window_is_checked(self) -> None:
        """A stray line before the window start-up reads is neither seen nor logged: the
        window is checked from its own first line (docs/history.md, start-up)."""
        self.patch(history, "WINDOW_SLACK", 2)
        self.write(lines(1, 500, *range(2, 11)))
        with capturedLogs() as events:
            store = self.open(retain=3)
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [8, 9, 10])
        self.assertEqual((store.last_id, warnings(events)), (10, []))

    def test_lines_longer_than_a_block(self) -> None:
        """Lines, torn or not, may span many read blocks."""
        long = record(2, "x" * 40000)
        content = lines(1) + long + b"\n" + b"junk" * 100 + b"\n" + lines(3) + long[:5000]
        for block_size in (1, 2, 7, 64, 4096, 65536):
            self.patch(history, "BLOCK_SIZE", block_size)
            self.write(content)
            store = JsonLinesHistory(self.path, run_in_thread=Runner())
            self.assertEqual(
                self.successResultOf(store.since(0)), [(1, record(1)), (2, long), (3, record(3))]
            )
            self.successResultOf(store.close())

    def test_million_lines_reads_only_the_tail(self) -> None:
        """Start-up reads about `retain` lines from the end, whatever the file's size."""
        count, retain = 1_000_000, 1000
        template = b'{"id":%d,"timestamp":"2026-11-24T03:30:44.123Z","message":"m"}\n'
        self.write(b"".join([template % i for i in range(1, count + 1)]) + b'{"id":')
        read = [0]
        real_pread = os.pread

        def counting_pread(fd: int, length: int, offset: int) -> bytes:
            data = real_pread(fd, length, offset)
            read[0] += len(data)
            return data

        self.patch(os, "pread", counting_pread)
        store = self.open(retain=retain)
        self.assertEqual((store.last_id, store.first_id), (count, count - retain + 1))
        self.assertEqual(self.successResultOf(store.recent(1)), [(count, template[:-1] % count)])
        self.assertLess(read[0], retain * len(template % count) + 3 * history.BLOCK_SIZE)


class FailedAppendTests(StoreTestCase):
    """Appends the disk refuses."""

    def fail_writes(self, after_bytes: int) -> list[bool]:
        """While the returned flag is set, os.write writes C{after_bytes} once, then ENOSPC."""
        failing = [True]
        allowance = [after_bytes]
        real_write = os.write

        def write(fd: int, data: bytes) -> int:
            if not failing[0]:
                return real_write(fd, data)
            if allowance[0]:
                written = real_write(fd, data[: allowance[0]])
                allowance[0] -= written
                return written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        self.patch(os, "write", write)
        return failing

    def test_disk_full(self) -> None:
        """A failed append raises, leaves no partial line, and the store keeps working."""
        store = self.open()
        store.append(1, record(1))
        failing = self.fail_writes(after_bytes=10)
        with capturedLogs():
            self.assertRaises(HistoryUnavailable, store.append, 2, record(2))
        self.assertEqual(self.content(), lines(1))
        self.assertEqual(
            (store.last_id, self.successResultOf(store.recent(10))), (1, [(1, record(1))])
        )

        failing[0] = False
        store.append(2, record(2))
        store = self.reopen(store)
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [1, 2])
        self.assertEqual(self.content(), lines(1, 2))

    def test_truncate_fails_too(self) -> None:
        """When the partial line cannot be cut at once, the next append cuts it first."""
        store = self.open()
        store.append(1, record(1))
        failing = self.fail_writes(after_bytes=10)
        real_ftruncate = os.ftruncate

        def ftruncate(fd: int, length: int) -> None:
            if failing[0]:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            real_ftruncate(fd, length)

        self.patch(os, "ftruncate", ftruncate)
        with capturedLogs():
            self.assertRaises(HistoryUnavailable, store.append, 2, record(2))
        self.assertEqual(self.content(), lines(1) + record(2)[:10])

        failing[0] = False
        store.append(2, record(2))
        self.assertEqual(self.content(), lines(1, 2))

    def test_append_after_close(self) -> None:
        """A closed store takes nothing."""
        store = self.open()
        self.successResultOf(store.close())
        self.assertRaises(HistoryUnavailable, store.append, 1, record(1))


class SyncTests(StoreTestCase):
    """sync() and close()."""

    def test_sync_fsyncs_in_a_thread(self) -> None:
        """sync() hands an fsync of the history file to run_in_thread."""
        fsynced: list[int] = []
        self.patch(os, "fsync", fsynced.append)
        runner = Runner()
        store = self.open(runner=runner)
        store.append(1, record(1))
        self.successResultOf(store.sync())
        self.assertEqual(runner.calls, 1)
        [fd] = fsynced
        self.assertEqual(os.fstat(fd).st_ino, os.stat(self.path).st_ino)

    def test_sync_with_nothing_new(self) -> None:
        """sync() is a cheap no-op when nothing was appended since the last one."""
        runner = Runner()
        store = self.open(runner=runner)
        self.successResultOf(store.sync())
        store.append(1, record(1))
        self.successResultOf(store.sync())
        self.successResultOf(store.sync())
        self.assertEqual(runner.calls, 1)

    def test_concurrent_syncs_coalesce(self) -> None:
        """Calls during an fsync share it, or share one follow-up when there is more to sync."""
        runner = Runner(manual=True)
        store = self.open(runner=runner)
        store.append(1, record(1))
        first = [store.sync(), store.sync()]
        store.append(2, record(2))
        second = [store.sync(), store.sync()]
        self.assertEqual(runner.calls, 1)

        runner.finish()
        for d in first:
            self.successResultOf(d)
        for d in second:
            self.assertNoResult(d)
        self.assertEqual(runner.calls, 2)

        runner.finish()
        for d in second:
            self.successResultOf(d)
        self.successResultOf(store.sync())
        self.assertEqual(runner.calls, 2)

    def test_failed_fsync(self) -> None:
        """A failed fsync errbacks with HistoryUnavailable; the next sync tries again."""
        outcomes = [fail(OSError(errno.EIO, "I/O error")), succeed(None)]
        calls: list[Callable[[], None]] = []

        def runner(job: Callable[[], None]) -> Deferred[None]:
            calls.append(job)
            return outcomes.pop(0)

        store = JsonLinesHistory(self.path, run_in_thread=runner)
        store.append(1, record(1))
        with capturedLogs():
            self.failureResultOf(store.sync(), HistoryUnavailable)
        self.successResultOf(store.sync())
        self.assertEqual(len(calls), 2)
        self.successResultOf(store.close())

    def test_failed_fsync_with_fsync_always_forgets_its_messages(self) -> None:
        """docs/protocol.md section 6: with --fsync always, messages whose fsync failed are
        shown to nobody: cut from the file and the replay, their ids never used again."""
        runner = Runner(manual=True)
        store = JsonLinesHistory(self.path, fsync="always", run_in_thread=runner)
        self.successResultOf(store.add(b'"message":"kept"}'))
        first = store.sync()
        runner.finish()
        self.successResultOf(first)
        self.successResultOf(store.add(b'"message":"lost"}'))
        failing = store.sync()
        self.successResultOf(store.add(b'"message":"lost too"}'))  # during the failing fsync
        later = store.sync()
        with capturedLogs():
            runner.fail(OSError(errno.EIO, "I/O error"))
        self.failureResultOf(failing, HistoryUnavailable)
        self.failureResultOf(later, HistoryUnavailable)
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [1])
        with open(self.path, "rb") as f:
            self.assertEqual(f.read().count(b"\n"), 1)
        message_id, _ = self.successResultOf(store.add(b'"message":"next"}'))
        self.assertEqual(message_id, 4)
        closed = store.close()
        runner.finish()
        self.successResultOf(closed)

    def test_policies(self) -> None:
        """Only fsync=always asks the room to wait for sync; fsync=never fsyncs on close only."""
        policies: list[tuple[FsyncPolicy, bool]] = [
            ("always", True),
            ("interval", False),
            ("never", False),
        ]
        for policy, durable in policies:
            store = JsonLinesHistory(self.path, fsync=policy, run_in_thread=Runner())
            self.assertIs(store.durable_before_delivery, durable)
            self.successResultOf(store.close())
        runner = Runner()
        store = self.open(fsync="never", runner=runner)
        store.append(1, record(1))
        self.successResultOf(store.sync())
        self.assertEqual(runner.calls, 0)
        self.successResultOf(store.close())
        self.assertEqual(runner.calls, 1)

    def test_close_syncs_and_is_idempotent(self) -> None:
        """close() waits for the fsync in flight, fsyncs once, and can be called again."""
        runner = Runner(manual=True)
        store = self.open(runner=runner)
        store.append(1, record(1))
        synced = store.sync()
        closes = [store.close(), store.close()]
        for d in [synced, *closes]:
            self.assertNoResult(d)
        runner.finish()
        for d in [synced, *closes]:
            self.successResultOf(d)
        self.successResultOf(store.close())
        self.successResultOf(store.sync())
        self.assertEqual(runner.calls, 1)


class TrimCommandTests(StoreTestCase):
    """`chatproto-history trim --keep N FILE`."""

    def trim(self, *args: str) -> tuple[int, str, str]:
        """Run the command; its exit status, standard output and standard error."""
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        status = history_tool.main(["trim", *args])
        return status, out.getvalue(), err.getvalue()

    def test_keeps_the_newest_messages_and_the_file_mode(self) -> None:
        """The newest N messages and every line after the oldest of them stay as they
        were; the mode stays 0600; no temporary file is left; ids continue."""
        self.write(lines(1, 2, 3) + b"junk\n" + lines(4) + b"more junk\n" + lines(5))
        os.chmod(self.path, 0o600)
        status, out, _ = self.trim("--keep", "3", self.path)
        self.assertEqual(status, 0)
        self.assertEqual(
            self.content(), lines(3) + b"junk\n" + lines(4) + b"more junk\n" + lines(5)
        )
        self.assertIn("kept the newest 3 messages (ids 3..5)", out)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        directory, name = os.path.split(os.path.abspath(self.path))
        self.assertEqual(os.listdir(directory), [name])
        with capturedLogs():
            store = self.open()
        self.assertEqual(
            ([i for i, _ in self.successResultOf(store.since(0))], store.last_id), ([3, 4, 5], 5)
        )

    def test_other_modes_are_kept_too(self) -> None:
        """A file an operator made group-readable stays group-readable."""
        self.write(lines(1, 2))
        os.chmod(self.path, 0o640)
        self.assertEqual(self.trim("--keep", "1", self.path)[0], 0)
        self.assertEqual(
            (self.content(), stat.S_IMODE(os.stat(self.path).st_mode)), (lines(2), 0o640)
        )

    def test_refused_while_a_server_holds_the_file(self) -> None:
        """A store (a running server) holds the lock: nothing changes, one line says who."""
        self.write(lines(1, 2, 3))
        with capturedLogs():
            self.open()
        status, out, err = self.trim("--keep", "1", self.path)
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(
            err,
            f"chatproto-history: not trimmed: history file {os.path.realpath(self.path)!r}"
            f" is locked by process {os.getpid()} (another chat server on this file?)\n",
        )
        self.assertEqual(self.content(), lines(1, 2, 3))

    def test_nothing_to_trim(self) -> None:
        """A file with no more than N messages is left as it is."""
        self.write(lines(1, 2))
        status, out, _ = self.trim("--keep", "5", self.path)
        self.assertEqual((status, self.content()), (0, lines(1, 2)))
        self.assertIn("2 messages, nothing to trim", out)

    def test_missing_file(self) -> None:
        """A file that does not exist is an error, and is not created."""
        status, _, err = self.trim("--keep", "5", self.path)
        self.assertEqual(status, 1)
        self.assertIn("No such file or directory", err)
        self.assertFalse(os.path.exists(self.path))

    def test_keep_must_be_positive(self) -> None:
        """Keeping nothing would restart ids at 1: refused as a usage error."""
        self.write(lines(1))
        error = self.assertRaises(SystemExit, self.trim, "--keep", "0", self.path)
        self.assertEqual(error.code, 2)
        self.assertIn("--keep: must be >= 1, got 0", sys.stderr.getvalue())
        self.assertEqual(self.content(), lines(1))
