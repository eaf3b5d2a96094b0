"""The account store seam (docs/protocol.md section 13): registered nicknames and their hashes.

An account is named by the nickname that registered it and found by that name's key
(section 3). A nickname belongs to an account when its key is the account's, or when
their confusable skeletons are equal (`\u0430lice`, with a Cyrillic small a, belongs to `alice`):
L{IAccountStore.find} answers that, and L{IAccountStore.add} refuses a name that
collides either way. The store keeps only password hashes (L{chatproto.accounts.hashing});
every call answers with a Deferred, so that a store on disk or in Redis never blocks
the reactor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twisted.internet.defer import Deferred
from zope.interface import Interface


@dataclass(frozen=True)
class Account:
    """One registered account: its name (the nickname that registered it, as shown)
    and its password hash (an argon2 string with its parameters)."""

    name: str
    password_hash: str


class AccountExists(Exception):
    """The name, or a name that collides with it, is registered already.

    C{args[0]} is the existing account's name."""


class NoSuchAccount(Exception):
    """No account has this name's key."""


class IAccountStore(Interface):
    """Where accounts are kept. Names are nicknames as shown; the store compares keys."""

    def add(name: str, password_hash: str) -> Deferred[None]:
        """Register C{name} with C{password_hash}; fails with L{AccountExists} when its key
        or its skeleton is an account's already."""

    def find(nickname: str) -> Deferred[Account | None]:
        """The account C{nickname} belongs to (same key, else same skeleton), or None."""

    def set_password_hash(
        name: str, password_hash: str, replacing: str | None = None
    ) -> Deferred[None]:
        """Give the account of key C{name} a new hash; fails with L{NoSuchAccount}. With
        C{replacing}, only if its hash is still that one (a rehash must not undo a change
        of password made meanwhile): otherwise nothing changes and it still succeeds."""

    def delete(name: str) -> Deferred[None]:
        """Drop the account of key C{name}; fails with L{NoSuchAccount}."""

    def names() -> Deferred[Sequence[str]]:
        """Every account's name, in the order of their keys."""

    def close() -> Deferred[None]:
        """Let go of the store (its threads, its file); fires once it has."""
