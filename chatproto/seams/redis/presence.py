"""Nicknames across every node (docs/protocol.md section 11): claims in Redis, a mirror here.

A claim is atomic in Redis (one node wins a key); this node's mirror of every
holder, in join order, follows the feed, so that `who` and `welcome` list the
members of all nodes without asking Redis, consistent with what the feed has
delivered here so far. Each entry of the mirror carries the join order of its
claim, so a stale `freed` for an earlier claim of the same key changes nothing.

Resume tokens (docs/protocol.md section 2) work through any node: Redis keeps
the SHA-256 of each holder's token beside its key, never the token, and a node
offered a token takes the place over in one step when the hashes match; the
node that held it reads that on the feed and closes its member. Beside each key
Redis keeps the account its holder is logged in to (docs/protocol.md section 13):
a place taken over keeps it, a login to that account on another node takes the
place over the same way, and the mirror carries it (IRC's account-tag).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.seams.presence import Held, IPresence, PlaceTaken, without
from chatproto.seams.redis.client import RedisCommandError, RedisUnavailable
from chatproto.seams.redis.joinorder import JoinOrder
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
        #: Set while this node could not renew its presence for too long: it takes no member.
        self.fenced = False
        #: The keys held by members of this node.
        self._mine: set[str] = set()
        self._taken: list[PlaceTaken] = []
        #: Join order and nickname (a JSON string) of every held key.
        self._held = JoinOrder()
        #: The held keys whose holders parted the default room (on any node).
        self._outside: set[str] = set()
        #: The accounts the holders of held keys are logged in to (on any node).
        self._accounts: dict[str, str] = {}

    @property
    def reachable(self) -> bool:
        """Whether claims can be decided now (Redis reachable, this node in the room)."""
        return self.ready and not self.departing and not self.fenced and self._writer.accepting

    def claim(self, key: str, encoded_nickname: bytes, resume_token: str) -> Deferred[bool]:
        """Hold C{key} in Redis if no node does; False too while Redis is unreachable."""
        if not self.reachable:
            return succeed(False)

        def answered(order: int) -> bool:
            if not order:
                return False
            self._mine.add(key)
            self.claimed(key, encoded_nickname, order)
            return True

        claim = self._writer.claim(key, encoded_nickname, _hash(resume_token))
        return claim.addCallbacks(answered, _undecided, errbackArgs=(False,))

    def take_over(self, key: str, token: str, resume_token: str) -> Deferred[Held | None]:
        """Move C{key} here from the node whose member has resume token C{token} (see the
        module); None when it is not that token's place or Redis is unreachable."""
        return self._moved(
            key, lambda: self._writer.take_over(key, _hash(token), _hash(resume_token))
        )

    def take_over_login(self, key: str, account: str, resume_token: str) -> Deferred[Held | None]:
        """Move C{key} here from the node whose member holding it is logged in to
        C{account}; None when it is not, or Redis is unreachable."""
        return self._moved(
            key, lambda: self._writer.take_over_login(key, account, _hash(resume_token))
        )

    def _moved(self, key: str, take_over: Callable[[], Deferred[Any]]) -> Deferred[Held | None]:
        """The place C{take_over} (a write) moves here, if it does."""
        if not self.reachable:
            return succeed(None)
        moved = take_over()

        def answered(place: Any) -> Held | None:
            if not isinstance(place, list):
                return None
            self._mine.add(key)
            nickname, account = place
            return Held(nickname, account.decode("utf-8") or None)

        return moved.addCallbacks(answered, _undecided, errbackArgs=(None,))

    def set_account(self, key: str, account: str | None) -> None:
        """Keep, beside this node's place C{key}, the account its holder is logged in to."""
        self._writer.login(key, account)

    def renew(self, key: str, resume_token: str) -> None:
        """Keep the hash of the new token of this node's member holding C{key}."""
        self._writer.token(key, _hash(resume_token))

    def watch(self, taken: PlaceTaken) -> None:
        """Call C{taken(key)} when a place of this node is taken (L{moved}, L{fence})."""
        self._taken.append(taken)

    def moved(self, key: str) -> None:
        """The feed says another node took over C{key} from this one."""
        self._lose(key)

    def fence(self) -> list[tuple[str, bytes]]:
        """This node could not renew its presence for too long: stop taking members,
        give up every place here; returns their keys and nicknames, in join order."""
        self.fenced = True
        places = [(key, held) for key in self._mine if (held := self._held.get(key))]
        places.sort(key=lambda place: place[1][0])
        for key in list(self._mine):
            self._lose(key)
        return [(key, encoded) for key, (_order, encoded) in places]

    def _lose(self, key: str) -> None:
        if key in self._mine:
            self._mine.discard(key)
            for taken in self._taken:
                taken(key)

    def is_held(self, key: str) -> bool:
        """Whether C{key} is held, as far as the feed has told this node."""
        return key in self._held

    def release(self, key: str) -> Deferred[None]:
        """Free C{key} (held by this node) here at once and in Redis next; fires once Redis
        has it (or is down: then it is freed when Redis is back, or by the node timeout)."""
        self._mine.discard(key)
        if self.departing:
            return succeed(None)
        if self._held.remove(key):
            self._lose(key)
        self._writer.release(key)
        return self._writer.idle()

    def nickname_of(self, key: str) -> str | None:
        """The display nickname holding C{key} on any node, or None."""
        held = self._held.get(key)
        return json.loads(held[1]) if held is not None else None

    def listed(self) -> Sequence[bytes]:
        """Every holder's nickname as a JSON string, in join order, but those outside the
        default room (the live list when nobody is)."""
        outside = {held[1] for key in self._outside if (held := self._held.get(key))}
        return without(self._held.listed, outside)

    def account_of(self, key: str) -> str | None:
        """The account the holder of C{key} (on any node) is logged in to, as far as the
        feed has told this node."""
        return self._accounts.get(key)

    def logged_in(self, key: str, account: str | None) -> None:
        """The holder of C{key} (on any node) logged in to C{account} (None: out)."""
        if account is not None and key in self._held:
            self._accounts[key] = account
        else:
            self._accounts.pop(key, None)

    def holders(self) -> Sequence[bytes]:
        """Every holder's nickname as a JSON string, in join order, whatever its rooms."""
        return self._held.listed

    def set_outside(self, key: str, outside: bool) -> None:
        """This node's member holding C{key} parted the default room or joined it again:
        here at once, on the other nodes through the feed."""
        if key in self._mine:
            self.outside(key, outside)
            self._writer.outside(key, outside)

    def outside(self, key: str, outside: bool) -> None:
        """The holder of C{key} (on any node) parted the default room or joined it again."""
        if outside and key in self._held:
            self._outside.add(key)
        else:
            self._outside.discard(key)

    # -- the mirror, as the feed changes it ---------------------------------

    def load(self, holders: Iterable[tuple[str, int, bytes, bool, str]]) -> None:
        """Start from a snapshot of (key, join order, nickname, whether outside the default
        room, the account its holder is logged in to or ""), in join order."""
        self._held.clear()
        self._outside.clear()
        self._accounts.clear()
        for key, order, encoded, outside, account in holders:
            self.claimed(key, encoded, order)
            self.outside(key, outside)
            self.logged_in(key, account or None)

    def claimed(self, key: str, encoded_nickname: bytes, order: int) -> None:
        """A node claimed C{key} (this one included)."""
        current = self._held.get(key)
        if current is not None and current[0] != order:
            self.freed(key, int(current[0]))  # a claim this mirror missed the end of
        self._held.add(key, encoded_nickname, order)

    def freed(self, key: str, order: int) -> None:
        """The claim of C{key} with join order C{order} ended."""
        if not self._held.remove(key, order):
            return
        self._outside.discard(key)
        self._accounts.pop(key, None)
        # A member of this node freed by another node (which found this one silent):
        # it must not be served any more, its nickname may be taken elsewhere.
        self._lose(key)


def _hash(token: str) -> bytes:
    """What Redis keeps of a resume token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest().encode("ascii")


def _undecided(failure: Failure, answer: Any) -> Any:
    """A claim or take-over that Redis could not decide gets C{answer}, a no (the room
    then says RETRY); any other failure is a bug and goes on."""
    if failure.check(RedisUnavailable, RedisCommandError):  # type: ignore[no-untyped-call]
        return answer
    return failure
