"""Redaction in the JSON Lines history file (docs/history.md): the text leaves the disk."""

from __future__ import annotations

import json

from zope.interface.verify import verifyObject

from chatproto.seams.history import HistoryUnavailable, IRedactable
from tests.test_history import Runner, StoreTestCase, record


class RedactionTests(StoreTestCase):
    """redact writes the record over in place, and start-up never replays it."""

    def test_provides_interface(self) -> None:
        self.assertTrue(verifyObject(IRedactable, self.open()))

    def test_the_text_is_gone_from_the_file_before_the_answer(self) -> None:
        runner = Runner()
        store = self.open(runner=runner)
        for i in range(1, 4):
            store.append(i, record(i, f"secret number {i}"))
        size = len(self.content())
        self.assertIs(self.successResultOf(store.redact(2)), True)
        content = self.content()
        self.assertNotIn(b"secret number 2", content)
        self.assertEqual(len(content), size)  # written over in place
        lines = content.splitlines()
        self.assertEqual(json.loads(lines[1]), {"id": 2, "redacted": True})
        self.assertEqual(
            (lines[0], lines[2]), (record(1, "secret number 1"), record(3, "secret number 3"))
        )
        self.assertEqual(runner.calls, 1)  # fsynced before the answer
        self.assertEqual([i for i, _ in self.successResultOf(store.recent(10))], [1, 3])
        self.assertEqual([i for i, _ in self.successResultOf(store.page(3, None, 5))], [1])

    def test_start_up_never_replays_it_and_ids_go_on(self) -> None:
        store = self.open()
        for i in range(1, 4):
            store.append(i, record(i, f"secret number {i}"))
        self.successResultOf(store.redact(3))  # the newest: its id must not come back
        store = self.reopen(store)
        self.assertEqual(store.last_id, 3)
        self.assertEqual([i for i, _ in self.successResultOf(store.recent(10))], [1, 2])
        store.append(4, record(4))
        self.successResultOf(store.redact(1))
        store = self.reopen(store)
        self.assertEqual([i for i, _ in self.successResultOf(store.since(0))], [2, 4])

    def test_a_message_not_retained_is_not_redacted(self) -> None:
        store = self.open(retain=2)
        for i in range(1, 4):
            store.append(i, record(i))
        before = self.content()
        self.assertIs(self.successResultOf(store.redact(1)), False)
        self.assertIs(self.successResultOf(store.redact(9)), False)
        self.assertEqual(self.content(), before)

    def test_with_fsync_never_nothing_is_fsynced(self) -> None:
        runner = Runner()
        store = self.open(runner=runner, fsync="never")
        store.append(1, record(1, "secret"))
        self.assertIs(self.successResultOf(store.redact(1)), True)
        self.assertNotIn(b"secret", self.content())
        self.assertEqual(runner.calls, 0)

    def test_a_failed_fsync_is_unavailable(self) -> None:
        runner = Runner(manual=True)
        store = self.open(runner=runner, fsync="always")
        store.append(1, record(1, "secret"))
        redacted = store.redact(1)
        self.assertNotIn(b"secret", self.content())
        _, done = runner.pending.pop()
        done.errback(OSError(5, "Input/output error"))
        self.failureResultOf(redacted, HistoryUnavailable)
        self.flushLoggedErrors()
        runner.manual = False
