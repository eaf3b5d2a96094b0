"""Password hashing: argon2id in worker threads of its own (docs/protocol.md section 13).

The parameters are OWASP's recommended minimum for argon2id (Password Storage Cheat
Sheet: 19 MiB of memory, 2 iterations, 1 lane); each hash string carries the
parameters it was made with (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), so that they
can be raised later: a login whose hash was made with other parameters is rehashed
(L{PasswordHashing.needs_rehash}). argon2-cffi releases the GIL while it hashes, so
the reactor keeps turning; the threads are few and the work waiting for them bounded
(L{chatproto.accounts.workers}), so that a storm of logins costs the room at most
those threads' share of the CPU.
"""

from __future__ import annotations

import os
import secrets
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads

from chatproto.accounts.workers import Workers

#: OWASP's minimum for argon2id: memory in KiB, iterations, lanes.
MEMORY_KIB: Final = 19 * 1024
ITERATIONS: Final = 2
LANES: Final = 1
#: Threads hashing at once (each holds MEMORY_KIB while it works): one core is left to
#: the reactor, at most 8 are used.
THREADS: Final = max(1, min(8, (os.cpu_count() or 2) - 1))
#: Hashes queued or running at most (about two seconds of work per thread); more are
#: refused at once (L{WorkersBusy}).
MAX_WAITING: Final = 64 * THREADS


def password_hasher() -> PasswordHasher:
    """The hasher with this version's parameters (argon2id, a 16-byte salt, a 32-byte tag)."""
    return PasswordHasher(
        time_cost=ITERATIONS, memory_cost=MEMORY_KIB, parallelism=LANES, hash_len=32, salt_len=16
    )


class PasswordHashing(Service):
    """Hashes and verifies passwords in its own threads, started and stopped with it."""

    def __init__(self, reactor: IReactorFromThreads, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or password_hasher()
        self._workers = Workers(reactor, "chatproto-argon2", THREADS, MAX_WAITING)
        self._dummy: Deferred[str] | None = None

    def startService(self) -> None:
        """Start the threads; the first job makes the hash that unknown accounts cost."""
        super().startService()  # type: ignore[no-untyped-call]
        self._workers.start()
        self._dummy = self.hash(secrets.token_urlsafe(16))

    def stopService(self) -> None:
        """Finish the hashes started and join the threads."""
        super().stopService()  # type: ignore[no-untyped-call]
        self._workers.stop()

    def hash(self, password: str) -> Deferred[str]:
        """A new hash of C{password} (a fresh salt)."""
        return self._workers.run(self._hasher.hash, password)

    def verify(self, password_hash: str, password: str) -> Deferred[bool]:
        """Whether C{password} is the one C{password_hash} was made from."""
        return self._workers.run(self._verify, password_hash, password)

    async def verify_nothing(self, password: str) -> bool:
        """Spend the time of a L{verify} on a hash nobody's password matches (an unknown
        account is answered as slowly as a known one); always False."""
        assert self._dummy is not None, "the service is not running"
        await self.verify(await self._dummy, password)
        return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether C{password_hash} was made with other parameters than this version's
        (cheap: it only reads the string)."""
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
