"""The store a server opens after it starts listening (chatproto.accounts.serving)."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from chatproto.accounts.serving import OpeningStore
from chatproto.seams.accounts import Account

ALICE = Account("alice", "$argon2id$...")


class OneAccount:
    """A store that knows alice (what OpeningStore passes the calls on to)."""

    def find(self, nickname: str) -> Deferred[Account | None]:
        return succeed(ALICE if nickname == "alice" else None)

    def close(self) -> Deferred[None]:
        self.closed = True
        return succeed(None)


class OpeningStoreTests(SynchronousTestCase):
    """Calls made before the store is open wait for it, then go to it."""

    def test_calls_wait_for_the_store_then_go_to_it(self) -> None:
        opening = OpeningStore()
        early = opening.find("alice")
        self.assertNoResult(early)
        store: Any = OneAccount()
        opening.opened(store)
        self.assertEqual(self.successResultOf(early), ALICE)
        self.assertIsNone(self.successResultOf(opening.find("bob")))
        self.successResultOf(opening.close())
        self.assertTrue(store.closed)

    def test_a_store_that_could_not_be_opened_fails_every_call(self) -> None:
        opening = OpeningStore()
        early = opening.find("alice")
        opening.failed(Failure(OSError("disk gone")))
        self.failureResultOf(early, OSError)
        self.failureResultOf(opening.find("alice"), OSError)
        self.successResultOf(opening.close())  # nothing to close
