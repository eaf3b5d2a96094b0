"""Throttled guessing and registrations, on a fake clock (docs/protocol.md section 13)."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from chatproto.accounts import throttle
from chatproto.accounts.throttle import LoginThrottle, RegistrationLimit, address_key


def _fail(limiter: LoginThrottle, times: int, account: str, host: str | None) -> None:
    for _ in range(times):
        limiter.failed(account, host)


def test_the_fifth_failure_refuses_the_account_for_60_seconds() -> None:
    clock = Clock()
    limiter = LoginThrottle(clock)
    _fail(limiter, 4, "alice", "192.0.2.1")
    assert limiter.retry_after("alice", "192.0.2.1") is None
    clock.advance(10)
    limiter.failed("alice", "198.51.100.7")  # from another address: still the account's
    assert limiter.retry_after("alice", "203.0.113.9") == 60
    clock.advance(59)
    assert limiter.retry_after("alice", None) == 1
    assert limiter.retry_after("bob", "203.0.113.9") is None
    clock.advance(1)
    assert limiter.retry_after("alice", "203.0.113.9") is None


def test_failures_older_than_a_minute_do_not_count() -> None:
    clock = Clock()
    limiter = LoginThrottle(clock)
    _fail(limiter, 4, "alice", None)
    clock.advance(60)
    limiter.failed("alice", None)
    assert limiter.retry_after("alice", None) is None


def test_after_a_refusal_the_count_starts_again() -> None:
    clock = Clock()
    limiter = LoginThrottle(clock)
    _fail(limiter, 5, "alice", None)
    clock.advance(60)
    _fail(limiter, 4, "alice", None)
    assert limiter.retry_after("alice", None) is None
    limiter.failed("alice", None)
    assert limiter.retry_after("alice", None) == 60


def test_twenty_failures_from_one_address_refuse_it_for_every_account() -> None:
    clock = Clock()
    limiter = LoginThrottle(clock)
    for number in range(19):
        limiter.failed(f"user{number}", "192.0.2.1")
    assert limiter.retry_after("alice", "192.0.2.1") is None
    limiter.failed("user19", "192.0.2.1")
    assert limiter.retry_after("alice", "192.0.2.1") == 60
    assert limiter.retry_after("alice", "192.0.2.2") is None


@pytest.mark.parametrize(
    ("failing", "refused", "spared"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"),
        ("::ffff:192.0.2.1", "192.0.2.1", "192.0.2.2"),
        ("127.0.0.1", "127.0.0.1", "127.0.0.2"),  # loopback is not exempt
        ("::1", "::1", "2001:db8::1"),
    ],
)
def test_what_counts_as_one_address(failing: str, refused: str, spared: str) -> None:
    limiter = LoginThrottle(Clock())
    for number in range(20):
        limiter.failed(f"user{number}", failing)
    assert limiter.retry_after("alice", refused) == 60
    assert limiter.retry_after("alice", spared) is None


def test_address_keys() -> None:
    assert address_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_key("fe80::1%eth0") == "fe80::/64"
    assert address_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert address_key("10.0.0.1") == "10.0.0.1"
    assert address_key("not an address") == "not an address"


def test_what_is_remembered_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MAX_TRACKED", 3)
    limiter = LoginThrottle(Clock())
    _fail(limiter, 4, "alice", None)
    for name in ("bob", "carol", "dave"):
        limiter.failed(name, None)
    # alice's four failures were the oldest remembered: forgotten to make room.
    limiter.failed("alice", None)
    assert limiter.retry_after("alice", None) is None


def test_registrations_per_hour_per_address() -> None:
    clock = Clock()
    limit = RegistrationLimit(clock, per_hour=2)
    limit.registered("2001:db8::1")
    clock.advance(600)
    assert limit.retry_after("2001:db8::2") is None
    limit.registered("2001:db8::2")  # the same /64
    assert limit.retry_after("2001:db8::3") == 3000
    assert limit.retry_after("192.0.2.1") is None
    clock.advance(3000)
    assert limit.retry_after("2001:db8::3") is None


def test_no_registration_limit_when_zero() -> None:
    limit = RegistrationLimit(Clock(), per_hour=0)
    for _ in range(100):
        limit.registered("127.0.0.1")
    assert limit.retry_after("127.0.0.1") is None
