"""argon2id hashing in threads of its own (docs/protocol.md section 13)."""

from __future__ import annotations

import threading

import pytest_twisted
from argon2 import PasswordHasher
from twisted.internet import reactor

from chatproto.accounts.hashing import PasswordHashing

#: OWASP's minimum for argon2id, as every new hash carries it.
PARAMETERS = "$argon2id$v=19$m=19456,t=2,p=1$"


@pytest_twisted.ensureDeferred
async def test_a_hash_is_argon2id_with_its_parameters(hashing: PasswordHashing) -> None:
    made = await hashing.hash("correct horse")
    assert made.startswith(PARAMETERS)
    salt, tag = made.removeprefix(PARAMETERS).split("$")
    assert (len(salt), len(tag)) == (22, 43)  # 16 and 32 bytes, unpadded base64
    assert made != await hashing.hash("correct horse")  # a fresh salt each time


@pytest_twisted.ensureDeferred
async def test_the_right_password_verifies_and_others_do_not(hashing: PasswordHashing) -> None:
    made = await hashing.hash("correct horse")
    assert await hashing.verify(made, "correct horse")
    assert not await hashing.verify(made, "correct horsE")
    assert not await hashing.verify("not a hash", "correct horse")


@pytest_twisted.ensureDeferred
async def test_a_hash_with_other_parameters_needs_a_rehash(hashing: PasswordHashing) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")
    assert hashing.needs_rehash(old)
    assert await hashing.verify(old, "pw")  # still verifies until it is rehashed
    assert not hashing.needs_rehash(await hashing.hash("pw"))


@pytest_twisted.ensureDeferred
async def test_verify_nothing_costs_a_verification_and_says_no() -> None:
    hasher = _RecordingHasher()
    service = PasswordHashing(reactor, hasher)
    service.startService()
    try:
        assert not await service.verify_nothing("anything")
    finally:
        service.stopService()
    assert hasher.calls == ["hash", "verify"]  # the dummy hash at start, then one verify


@pytest_twisted.ensureDeferred
async def test_hashing_never_runs_on_the_reactor_thread() -> None:
    hasher = _RecordingHasher()
    service = PasswordHashing(reactor, hasher)
    service.startService()
    try:
        assert await service.verify(await service.hash("pw"), "pw")
    finally:
        service.stopService()
    assert hasher.threads
    assert all("chatproto-argon2" in name for name in hasher.threads)


class _RecordingHasher(PasswordHasher):
    """The real hasher (cheap parameters), noting each call and its thread."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.calls: list[str] = []
        self.threads: list[str] = []

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._note("hash")
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self._note("verify")
        return super().verify(hash, password)

    def _note(self, call: str) -> None:
        self.calls.append(call)
        self.threads.append(threading.current_thread().name)
