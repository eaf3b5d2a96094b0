"""Nicknames across every node (docs/protocol.md section 11): claims in Redis, a mirror here.

A claim is atomic in Redis (one node wins a key); this node's mirror of every
holder, in join order, follows the feed, so that `who` and `welcome` list the
members of all nodes without asking Redis, consistent with what the feed has
delivered here so far. Each entry of the mirror carries the join order of its
claim, so a stale `freed` for an earlier claim of the same key changes nothing.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Sequence

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.seams.presence import IPresence
from chatproto.seams.redis.client import RedisCommandError, RedisUnavailable
from chatproto.seams.redis.writer import FeedWriter


@implementer(IPresence)
class RedisPresence:
    """The registry of held nicknames shared by every node (see the module)."""

    def __init__(self, writer: FeedWriter) -> None:
        self._writer = writer
        #: Set once the node knows where it starts: claims before that are refused.
        self.ready = False
        #: Set while this node leaves: its members are freed all at once, not one by one.
        self.departing = False
        #: Join order and nickname (a JSON string) of every held key.
        self._held: dict[str, tuple[int, bytes]] = {}
        # Parallel lists sorted by join order (bisect keeps a join or leave cheap).
        self._ranks: list[int] = []
        self._listed: list[bytes] = []

    def claim(self, key: str, encoded_nickname: bytes) -> Deferred[bool]:
        """Hold C{key} in Redis if no node does; False too while Redis is unreachable."""
        if not self.ready or self.departing:
            return succeed(False)

        def answered(order: int) -> bool:
            if not order:
                return False
            self.claimed(key, encoded_nickname, order)
            return True

        def failed(failure: Failure) -> Failure | bool:
            if failure.check(RedisUnavailable, RedisCommandError):  # type: ignore[no-untyped-call]
                return False
            return failure

        return self._writer.claim(key, encoded_nickname).addCallbacks(answered, failed)

    def is_held(self, key: str) -> bool:
        """Whether C{key} is held, as far as the feed has told this node."""
        return key in self._held

    def release(self, key: str) -> Deferred[None]:
        """Free C{key} (held by this node) here at once and in Redis next; fires once Redis
        has it (or is down: then it is freed when Redis is back, or by the node timeout)."""
        if self.departing:
            return succeed(None)
        held = self._held.get(key)
        if held is not None:
            self.freed(key, held[0])
        self._writer.release(key)
        return self._writer.idle()

    def nickname_of(self, key: str) -> str | None:
        """The display nickname holding C{key} on any node, or None."""
        held = self._held.get(key)
        return json.loads(held[1]) if held is not None else None

    def listed(self) -> Sequence[bytes]:
        """Every holder's nickname as a JSON string, in join order (the live list)."""
        return self._listed

    # -- the mirror, as the feed changes it ---------------------------------

    def load(self, holders: Iterable[tuple[str, int, bytes]]) -> None:
        """Start from a snapshot of (key, join order, nickname), in join order."""
        self._held.clear()
        self._ranks.clear()
        self._listed.clear()
        for key, order, encoded in holders:
            self.claimed(key, encoded, order)

    def claimed(self, key: str, encoded_nickname: bytes, order: int) -> None:
        """A node claimed C{key} (this one included)."""
        current = self._held.get(key)
        if current is not None:
            if current[0] == order:
                return
            self.freed(key, current[0])
        self._held[key] = (order, encoded_nickname)
        index = bisect.bisect(self._ranks, order)
        self._ranks.insert(index, order)
        self._listed.insert(index, encoded_nickname)

    def freed(self, key: str, order: int) -> None:
        """The claim of C{key} with join order C{order} ended."""
        current = self._held.get(key)
        if current is None or current[0] != order:
            return
        del self._held[key]
        index = bisect.bisect_left(self._ranks, order)
        del self._ranks[index]
        del self._listed[index]
