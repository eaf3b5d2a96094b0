"""Throttling guesses and registrations (docs/protocol.md section 13).

- L{LoginThrottle}: 5 failed logins for one account within 60 seconds, or 20 from one
  address, and that account (address) is refused for 60 seconds from the last of
  them, whatever the password.
- L{RegistrationLimit}: `--register-per-hour` successful registrations per address.

An address is an IPv4 address or an IPv6 /64 (L{address_key}); loopback is not exempt.
Both run on an injected clock, and forget what is older than their window: at most
L{MAX_TRACKED} accounts or addresses are remembered at once (the oldest go first).
"""

from __future__ import annotations

import ipaddress
from collections import deque
from typing import Final

from twisted.internet.interfaces import IReactorTime

#: Failed logins for one account, or from one address, before it is refused.
FAILURES_PER_ACCOUNT: Final = 5
FAILURES_PER_ADDRESS: Final = 20
#: Seconds failures are counted over, and seconds a refusal lasts.
FAILURE_WINDOW: Final = 60.0
LOCKOUT: Final = 60.0
#: Seconds registrations are counted over.
REGISTRATION_WINDOW: Final = 3600.0
#: Accounts or addresses remembered at once by each count.
MAX_TRACKED: Final = 10_000


def address_key(host: str) -> str:
    """What one address counts as: the IPv4 address, or the /64 of an IPv6 one (an
    IPv4-mapped IPv6 address counts as its IPv4 address). Anything else is itself."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class _SlidingCount:
    """Events per key within the last C{window} seconds."""

    def __init__(self, clock: IReactorTime, window: float) -> None:
        self._clock = clock
        self._window = window
        # Ordered by each key's latest event: the stale ones are at the front.
        self._events: dict[str, deque[float]] = {}

    def add(self, key: str) -> int:
        """Count an event for C{key} now; return how many it has in the window."""
        now = self._clock.seconds()
        self._forget(now)
        times = self._events.pop(key, deque())
        self._events[key] = times
        times.append(now)
        while times[0] <= now - self._window:
            times.popleft()
        return len(times)

    def events(self, key: str) -> deque[float]:
        """The times of C{key}'s events in the window, oldest first."""
        now = self._clock.seconds()
        times = self._events.get(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def clear(self, key: str) -> None:
        """Forget C{key}'s events."""
        self._events.pop(key, None)

    def _forget(self, now: float) -> None:
        """Drop keys whose latest event left the window, and the oldest past the bound."""
        while self._events:
            key = next(iter(self._events))
            times = self._events[key]
            if times and times[-1] > now - self._window and len(self._events) < MAX_TRACKED:
                break
            del self._events[key]


class LoginThrottle:
    """Counts failed logins per account key and per address; says who must wait."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._accounts = _SlidingCount(clock, FAILURE_WINDOW)
        self._addresses = _SlidingCount(clock, FAILURE_WINDOW)
        # Key -> when its refusal ends; ordered by that time (the lockout is constant).
        self._refused: dict[str, float] = {}

    def retry_after(self, account_key: str, address: str | None) -> float | None:
        """Seconds before C{account_key} (or C{address}, a peer's host) may try again, or
        None if it may now."""
        now = self._clock.seconds()
        while self._refused and next(iter(self._refused.values())) <= now:
            del self._refused[next(iter(self._refused))]
        waits = [
            self._refused[key] - now for key in _keys(account_key, address) if key in self._refused
        ]
        return max(waits, default=None)

    def failed(self, account_key: str, address: str | None) -> None:
        """Count a failed login (a wrong password, or an unknown account)."""
        limits = (FAILURES_PER_ACCOUNT, FAILURES_PER_ADDRESS)
        counts = (self._accounts, self._addresses)
        for key, limit, count in zip(_keys(account_key, address), limits, counts, strict=False):
            if count.add(key) >= limit:
                count.clear(key)
                self._refused.pop(key, None)
                self._refused[key] = self._clock.seconds() + LOCKOUT
                while len(self._refused) > MAX_TRACKED:
                    del self._refused[next(iter(self._refused))]


def _keys(account_key: str, address: str | None) -> list[str]:
    """The throttled keys of a login: the account, then the address (prefixed apart)."""
    keys = ["account:" + account_key]
    if address is not None:
        keys.append("address:" + address_key(address))
    return keys


class RegistrationLimit:
    """At most C{per_hour} successful registrations per address in any hour (0: no limit)."""

    def __init__(self, clock: IReactorTime, per_hour: int) -> None:
        self._clock = clock
        self._per_hour = per_hour
        self._registrations = _SlidingCount(clock, REGISTRATION_WINDOW)

    def retry_after(self, address: str) -> float | None:
        """Seconds before C{address} may register again, or None if it may now."""
        if not self._per_hour:
            return None
        times = self._registrations.events(address_key(address))
        if len(times) < self._per_hour:
            return None
        return times[-self._per_hour] + REGISTRATION_WINDOW - self._clock.seconds()

    def registered(self, address: str) -> None:
        """Count a successful registration from C{address}."""
        if self._per_hour:
            self._registrations.add(address_key(address))
