"""The account store in Redis (`--redis`, docs/protocol.md section 13): every node sees
a registration at once.

Two hashes, under the same hash tag as the room's keys (docs/scaling.md):

- C{accounts}: nickname key to a JSON object: C{n} the name as shown, C{h} the
  password hash, C{s} the confusable skeleton;
- C{account_skeletons}: skeleton to nickname key (one account per skeleton).

Each change is one Lua script, so that two nodes registering lookalikes at once
cannot both succeed. The store has a connection of its own; while Redis cannot be
reached its calls fail at once with L{RedisUnavailable}.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from chatproto.core.nicknames import nickname_key
from chatproto.core.skeletons import skeleton
from chatproto.seams.accounts import Account, AccountExists, IAccountStore, NoSuchAccount
from chatproto.seams.redis.address import RedisAddress
from chatproto.seams.redis.client import RedisConnection, RedisUnavailable, Reply, Script
from chatproto.seams.redis.scripts import PREFIX

ACCOUNTS: Final = PREFIX + "accounts"
SKELETONS: Final = PREFIX + "account_skeletons"
_KEYS: Final = (ACCOUNTS, SKELETONS)

_PRELUDE = """
local accounts, skeletons = unpack(KEYS)
-- The key of the account a name belongs to: its own key's, else its skeleton's.
local function owner(key, skeleton)
  if redis.call('HEXISTS', accounts, key) == 1 then return key end
  return redis.call('HGET', skeletons, skeleton)
end
"""

#: ARGV: key, skeleton, name, hash. Returns the colliding account's JSON, or nil.
_ADD = Script(
    _PRELUDE
    + """
local found = owner(ARGV[1], ARGV[2])
if found then return redis.call('HGET', accounts, found) end
redis.call('HSET', accounts, ARGV[1], cjson.encode({n = ARGV[3], h = ARGV[4], s = ARGV[2]}))
redis.call('HSET', skeletons, ARGV[2], ARGV[1])
return false
"""
)

#: ARGV: key, skeleton. Returns the account's JSON, or nil.
_FIND = Script(
    _PRELUDE
    + """
local found = owner(ARGV[1], ARGV[2])
if not found then return false end
return redis.call('HGET', accounts, found)
"""
)

#: ARGV: key, new hash, and the hash to replace ('' for any). Returns 0 for no account.
_SET_HASH = Script(
    _PRELUDE
    + """
local stored = redis.call('HGET', accounts, ARGV[1])
if not stored then return 0 end
local account = cjson.decode(stored)
if ARGV[3] == '' or account.h == ARGV[3] then
  account.h = ARGV[2]
  redis.call('HSET', accounts, ARGV[1], cjson.encode(account))
end
return 1
"""
)

#: ARGV: key. Returns 0 for no account.
_DELETE = Script(
    _PRELUDE
    + """
local stored = redis.call('HGET', accounts, ARGV[1])
if not stored then return 0 end
local account = cjson.decode(stored)
if redis.call('HGET', skeletons, account.s) == ARGV[1] then
  redis.call('HDEL', skeletons, account.s)
end
redis.call('HDEL', accounts, ARGV[1])
return 1
"""
)


@implementer(IAccountStore)
class RedisAccountStore:
    """Accounts in the Redis at C{address}; L{open} makes one."""

    def __init__(self, address: RedisAddress, reactor: IReactorTime) -> None:
        self._connected: Deferred[None] | None = Deferred()
        self._connection = RedisConnection(address, reactor, self._up, self._down)

    @classmethod
    def open(cls, address: RedisAddress, reactor: IReactorTime) -> Deferred[RedisAccountStore]:
        """Connect; fires with the store once Redis answers, or fails with
        L{RedisUnavailable} if the first attempt fails (it then stops trying)."""
        store = cls(address, reactor)
        connected = store._connected
        assert connected is not None
        store._connection.start()

        async def connect() -> RedisAccountStore:
            try:
                await connected
            except RedisUnavailable:
                await store._connection.stop()
                raise
            return store

        return Deferred.fromCoroutine(connect())

    def _up(self) -> None:
        connected, self._connected = self._connected, None
        if connected is not None:
            connected.callback(None)

    def _down(self, reason: str) -> None:
        connected, self._connected = self._connected, None
        if connected is not None:
            connected.errback(RedisUnavailable(reason))

    def add(self, name: str, password_hash: str) -> Deferred[None]:
        """See L{IAccountStore.add}."""
        key = nickname_key(name)

        def added(found: Reply) -> None:
            if found is not None:
                raise AccountExists(_account(found).name)

        return self._run(_ADD, key, skeleton(key), name, password_hash).addCallback(added)

    def find(self, nickname: str) -> Deferred[Account | None]:
        """See L{IAccountStore.find}."""
        key = nickname_key(nickname)
        found = self._run(_FIND, key, skeleton(key))
        return found.addCallback(lambda reply: None if reply is None else _account(reply))

    def set_password_hash(
        self, name: str, password_hash: str, replacing: str | None = None
    ) -> Deferred[None]:
        """See L{IAccountStore.set_password_hash}."""
        key = nickname_key(name)
        done = self._run(_SET_HASH, key, password_hash, replacing or "")
        return done.addCallback(_existed, key)

    def delete(self, name: str) -> Deferred[None]:
        """See L{IAccountStore.delete}."""
        key = nickname_key(name)
        return self._run(_DELETE, key).addCallback(_existed, key)

    def names(self) -> Deferred[Sequence[str]]:
        """See L{IAccountStore.names}."""

        def listed(reply: list[bytes]) -> list[str]:
            pairs = zip(reply[::2], reply[1::2], strict=True)
            return [_account(value).name for _, value in sorted(pairs)]

        return self._connection.execute("HGETALL", ACCOUNTS).addCallback(listed)

    def close(self) -> Deferred[None]:
        """Close the connection."""
        return self._connection.stop()

    def _run(self, script: Script, *args: str) -> Deferred[Reply]:
        return self._connection.run(script, _KEYS, args)


def _account(reply: bytes) -> Account:
    fields = json.loads(reply)
    return Account(fields["n"], fields["h"])


def _existed(reply: int, key: str) -> None:
    if not reply:
        raise NoSuchAccount(key)
