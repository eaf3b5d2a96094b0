"""The accounts as a part of the server (`--accounts-db`, `--redis`, `--register-per-hour`).

L{AccountsService} holds the hashing threads and the store, started and stopped with
the server. A store opens in its own thread (SQLite) or over the network (Redis), after
the listeners may already have taken a connection: L{OpeningStore} makes the doors'
first lookups wait for it rather than fail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorCore
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.manager import Accounts
from chatproto.seams.accounts import Account, IAccountStore

_T = TypeVar("_T")


@implementer(IAccountStore)
class OpeningStore:
    """An L{IAccountStore} whose calls wait until the store being opened is there (or
    fail as its opening did). The calls waiting are bounded by the connections: each
    waits for its answer before it asks again."""

    def __init__(self) -> None:
        self._store: IAccountStore | None = None
        self._failure: Failure | None = None
        self._waiting: list[Deferred[IAccountStore]] = []

    def opened(self, store: IAccountStore) -> None:
        """The store is open: run the calls that wait, and every later one, on it."""
        self._store = store
        waiting, self._waiting = self._waiting, []
        for call in waiting:
            call.callback(store)

    def failed(self, failure: Failure) -> None:
        """The store could not be opened: every call fails with C{failure}."""
        self._failure = failure
        waiting, self._waiting = self._waiting, []
        for call in waiting:
            call.errback(failure)

    def _then(self, call: Callable[[IAccountStore], Deferred[_T]]) -> Deferred[_T]:
        store: Deferred[IAccountStore]
        if self._store is not None:
            store = succeed(self._store)
        elif self._failure is not None:
            store = fail(self._failure)
        else:
            store = Deferred()
            self._waiting.append(store)
        return store.addCallback(call)

    def add(self, name: str, password_hash: str) -> Deferred[None]:
        """See L{IAccountStore.add}."""
        return self._then(lambda store: store.add(name, password_hash))

    def find(self, nickname: str) -> Deferred[Account | None]:
        """See L{IAccountStore.find}."""
        return self._then(lambda store: store.find(nickname))

    def set_password_hash(
        self, name: str, password_hash: str, replacing: str | None = None
    ) -> Deferred[None]:
        """See L{IAccountStore.set_password_hash}."""
        return self._then(lambda store: store.set_password_hash(name, password_hash, replacing))

    def delete(self, name: str) -> Deferred[None]:
        """See L{IAccountStore.delete}."""
        return self._then(lambda store: store.delete(name))

    def names(self) -> Deferred[Sequence[str]]:
        """See L{IAccountStore.names}."""
        return self._then(lambda store: store.names())

    def close(self) -> Deferred[None]:
        """Close the store if it was opened."""
        if self._store is None:
            return succeed(None)
        return self._store.close()


class AccountsService(MultiService):
    """The hashing threads and the account store, for the server's lifetime.

    C{open_store} opens the store (called at start: threads and connections are not
    made before twistd forks); C{describe} names it in the log. A store that cannot be
    opened stops the server with one line saying why.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        open_store: Callable[[], Deferred[Any]],
        describe: str,
        register_per_hour: int,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._reactor: IReactorCore = reactor
        self._open_store = open_store
        self._describe = describe
        self._store = OpeningStore()
        hashing = PasswordHashing(reactor)
        hashing.setServiceParent(self)  # type: ignore[no-untyped-call]
        self.accounts = Accounts(self._store, hashing, reactor, register_per_hour)

    def startService(self) -> None:
        """Start the hashing threads and open the store."""
        super().startService()  # type: ignore[no-untyped-call]
        self._open_store().addCallbacks(self._opened, self._failed)

    def _opened(self, store: IAccountStore) -> None:
        self.log.info("accounts in {store}", store=self._describe, event_kind="start")
        self._store.opened(store)

    def _failed(self, failure: Failure) -> None:
        self.log.critical(
            "cannot use the accounts in {store}: {why}",
            store=self._describe,
            why=failure.value,
            event_kind="start",
        )
        self._store.failed(failure)
        self._reactor.stop()

    def stopService(self) -> Deferred[None]:
        """Join the hashing threads, then close the store."""
        stopped: Deferred[object] = super().stopService()  # type: ignore[no-untyped-call]
        return stopped.addCallback(lambda _: self._store.close())
