"""Logging in through the portal: right, wrong, unknown, throttled, rehashed (section 13)."""

from __future__ import annotations

import pytest
import pytest_twisted
from argon2 import PasswordHasher
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import Portal
from twisted.internet import reactor
from twisted.internet.task import Clock

from chatproto.accounts.cred import (
    ChatAccount,
    IChatAccount,
    LoginCredentials,
    LoginThrottled,
    account_portal,
)
from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.sqlite import SQLiteAccountStore
from chatproto.accounts.throttle import LoginThrottle

PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def portal(store: SQLiteAccountStore, hashing: PasswordHashing, clock: Clock) -> Portal:
    """A portal over the real store and hasher, throttled on a fake clock; alice has
    PASSWORD."""
    pytest_twisted.blockon(hashing.hash(PASSWORD).addCallback(lambda h: store.add("alice", h)))
    return account_portal(store, hashing, LoginThrottle(clock))


async def _log_in(portal: Portal, name: str, password: str, host: str | None = "192.0.2.1") -> str:
    interface, account, logout = await portal.login(
        LoginCredentials(name, password, host), None, IChatAccount
    )
    assert interface is IChatAccount
    assert isinstance(account, ChatAccount)
    logout()
    return account.name


@pytest_twisted.ensureDeferred
async def test_the_right_password_logs_in_to_the_account(portal: Portal) -> None:
    assert await _log_in(portal, "alice", PASSWORD) == "alice"
    assert await _log_in(portal, "ALICE", PASSWORD) == "alice"
    assert await _log_in(portal, "\u0430lice", PASSWORD) == "alice"  # a lookalike: alice's


@pytest_twisted.ensureDeferred
async def test_twisted_s_own_credentials_work_too(portal: Portal) -> None:
    credentials = UsernamePassword(b"alice", PASSWORD.encode())
    _, account, _ = await portal.login(credentials, None, IChatAccount)
    assert account == ChatAccount("alice")


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("alice", "wrong horse battery"),
        ("nobody", PASSWORD),  # no such account: the same answer
        ("alice", ""),
        ("alice", PASSWORD + "x" * 1024),  # past 1024 bytes: refused before hashing
    ],
)
@pytest_twisted.ensureDeferred
async def test_refusals(portal: Portal, name: str, password: str) -> None:
    with pytest.raises(UnauthorizedLogin) as refused:
        await _log_in(portal, name, password)
    assert type(refused.value) is UnauthorizedLogin
    assert str(refused.value) == "wrong password or no such account"


@pytest_twisted.ensureDeferred
async def test_an_unknown_account_costs_a_verification_like_a_known_one(
    store: SQLiteAccountStore, clock: Clock
) -> None:
    hasher = _CountingHasher()
    hashing = PasswordHashing(reactor, hasher)
    hashing.startService()
    try:
        await store.add("alice", await hashing.hash(PASSWORD))
        portal = account_portal(store, hashing, LoginThrottle(clock))
        verifications = []
        for name in ("alice", "nobody"):
            before = hasher.verified
            with pytest.raises(UnauthorizedLogin):
                await _log_in(portal, name, "wrong horse battery")
            verifications.append(hasher.verified - before)
    finally:
        hashing.stopService()
    assert verifications == [1, 1]


@pytest_twisted.ensureDeferred
async def test_five_failures_refuse_even_the_right_password_for_60_seconds(
    portal: Portal, clock: Clock
) -> None:
    for _ in range(4):
        with pytest.raises(UnauthorizedLogin):
            await _log_in(portal, "alice", "wrong horse battery")
    with pytest.raises(UnauthorizedLogin):
        await _log_in(portal, "\u0430lice", "wrong horse battery")  # counts as alice's
    with pytest.raises(LoginThrottled) as refused:
        await _log_in(portal, "alice", PASSWORD, host="203.0.113.5")
    assert refused.value.retry_after == 60
    assert str(refused.value) == "too many failed logins; try again in 60 s"
    clock.advance(60)
    assert await _log_in(portal, "alice", PASSWORD) == "alice"


@pytest_twisted.ensureDeferred
async def test_unknown_accounts_are_throttled_alike(portal: Portal) -> None:
    for _ in range(5):
        with pytest.raises(UnauthorizedLogin):
            await _log_in(portal, "nobody", PASSWORD)
    with pytest.raises(LoginThrottled):
        await _log_in(portal, "nobody", PASSWORD)


@pytest_twisted.ensureDeferred
async def test_twenty_failures_refuse_the_address(portal: Portal) -> None:
    for number in range(20):
        with pytest.raises(UnauthorizedLogin):
            await _log_in(portal, f"user{number}", PASSWORD, host="2001:db8::1")
    with pytest.raises(LoginThrottled):
        await _log_in(portal, "alice", PASSWORD, host="2001:db8::2")  # the same /64
    assert await _log_in(portal, "alice", PASSWORD, host="2001:db8:0:1::1") == "alice"


@pytest_twisted.ensureDeferred
async def test_an_old_hash_is_rehashed_at_the_next_login(
    store: SQLiteAccountStore, portal: Portal
) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("old parameters")
    await store.add("bob", old)
    assert await _log_in(portal, "bob", "old parameters") == "bob"
    account = await store.find("bob")
    assert account is not None
    assert account.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await _log_in(portal, "bob", "old parameters") == "bob"


class _CountingHasher(PasswordHasher):
    """This version's hasher, counting verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)
