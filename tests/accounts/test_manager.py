"""Accounts as the doors use them: register, log in, change, unregister (section 13)."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.task import Clock

from chatproto.accounts.cred import LoginThrottled
from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.manager import Accounts, RegistrationLimited
from chatproto.accounts.passwords import WeakPassword
from chatproto.accounts.sqlite import SQLiteAccountStore
from chatproto.seams.accounts import AccountExists

HOST = "192.0.2.1"
PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: SQLiteAccountStore, hashing: PasswordHashing, clock: Clock) -> Accounts:
    return Accounts(store, hashing, clock, register_per_hour=2)


@pytest_twisted.ensureDeferred
async def test_a_registered_name_needs_its_password(accounts: Accounts) -> None:
    assert await accounts.account_of("alice") is None
    await accounts.register("alice", PASSWORD, HOST)
    assert await accounts.account_of("Alice") == "alice"
    assert await accounts.account_of("\u0430lice") == "alice"
    assert await accounts.log_in("ALICE", PASSWORD, HOST) == "alice"
    with pytest.raises(UnauthorizedLogin):
        await accounts.log_in("alice", "wrong horse battery", HOST)


@pytest.mark.parametrize("password", ["short", "x" * 257])
@pytest_twisted.ensureDeferred
async def test_a_weak_password_is_refused(accounts: Accounts, password: str) -> None:
    with pytest.raises(WeakPassword):
        await accounts.register("alice", password, HOST)
    assert await accounts.account_of("alice") is None


@pytest_twisted.ensureDeferred
async def test_a_taken_or_lookalike_name_is_refused(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD, HOST)
    for name in ("ALICE", "\u0430lice"):
        with pytest.raises(AccountExists) as refused:
            await accounts.register(name, PASSWORD, "198.51.100.1")
        assert refused.value.args == ("alice",)


@pytest_twisted.ensureDeferred
async def test_registrations_per_hour_per_address(accounts: Accounts, clock: Clock) -> None:
    await accounts.register("alice", PASSWORD, "2001:db8::1")
    await accounts.register("bob", PASSWORD, "2001:db8::2")
    with pytest.raises(RegistrationLimited) as refused:
        await accounts.register("carol", PASSWORD, "2001:db8::3")  # the same /64
    assert refused.value.retry_after == 3600
    await accounts.register("carol", PASSWORD, "2001:db8:1::1")
    clock.advance(3600)
    await accounts.register("dave", PASSWORD, "2001:db8::3")


@pytest_twisted.ensureDeferred
async def test_a_failed_registration_does_not_count(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD, HOST)
    for _ in range(3):
        with pytest.raises(AccountExists):
            await accounts.register("alice", PASSWORD, HOST)
    await accounts.register("bob", PASSWORD, HOST)


@pytest_twisted.ensureDeferred
async def test_the_password_is_changed_with_the_old_one(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD, HOST)
    with pytest.raises(UnauthorizedLogin):
        await accounts.change_password("alice", "wrong horse battery", "new password", HOST)
    with pytest.raises(WeakPassword):
        await accounts.change_password("alice", PASSWORD, "new", HOST)
    await accounts.change_password("alice", PASSWORD, "new password", HOST)
    assert await accounts.log_in("alice", "new password", HOST) == "alice"
    with pytest.raises(UnauthorizedLogin):
        await accounts.log_in("alice", PASSWORD, HOST)


@pytest_twisted.ensureDeferred
async def test_unregistering_needs_the_password(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD, HOST)
    with pytest.raises(UnauthorizedLogin):
        await accounts.unregister("alice", "wrong horse battery", HOST)
    await accounts.unregister("alice", PASSWORD, HOST)
    assert await accounts.account_of("alice") is None


@pytest_twisted.ensureDeferred
async def test_guessing_through_the_commands_is_throttled(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD, HOST)
    for _ in range(5):
        with pytest.raises(UnauthorizedLogin):
            await accounts.unregister("alice", "wrong horse battery", HOST)
    with pytest.raises(LoginThrottled):
        await accounts.change_password("alice", PASSWORD, "new password", HOST)
