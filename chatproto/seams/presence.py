"""The presence seam: who holds which nickname, across every door (and node).

The room asks presence to claim a nickname key before it accepts a joiner and
to release it when the member leaves; `who` and `welcome` list its holders in
join order (docs/protocol.md section 5). With several nodes a member's resume
token may take its place back through another node (section 2), so presence
keeps what checks a token, and tells the room when a place of its node was
taken elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from twisted.internet.defer import Deferred, succeed
from zope.interface import Attribute, Interface, implementer

#: Called with the key of a place of this node that another node took over.
PlaceTaken = Callable[[str], None]


class Held(NamedTuple):
    """A place taken over from another node: its nickname (a JSON string) and the account
    its holder was logged in to (None: none), which the place keeps."""

    nickname: bytes
    account: str | None


class IPresence(Interface):
    """The registry of held nicknames (by key), in join order."""

    # zope.interface wants Attribute objects, mypy wants annotations: give each its own.
    if TYPE_CHECKING:
        reachable: bool
    else:
        reachable = Attribute(
            "False (bool) while claims cannot be decided (a shared registry out of "
            "reach): a claim refused then says nothing about the nickname."
        )

    def claim(key: str, encoded_nickname: bytes, resume_token: str) -> Deferred[bool]:
        """Hold C{key} (display form C{encoded_nickname}, a JSON string) if it is free,
        for a member whose resume token is C{resume_token}; fires with whether it was."""

    def take_over(key: str, token: str, resume_token: str) -> Deferred[Held | None]:
        """Move C{key}, held through another node by the member whose resume token is
        C{token}, to this node, for a member whose token is C{resume_token}; fires with
        the place (L{Held}), or None when C{token} is not that member's (then nothing
        changed)."""

    def take_over_login(key: str, account: str, resume_token: str) -> Deferred[Held | None]:
        """Move C{key}, held through another node by a member logged in to C{account}, to
        this node (a password login takes the place, as a token does), for a member whose
        token is C{resume_token}; fires with the place, or None (nothing changed)."""

    def set_account(key: str, account: str | None) -> None:
        """The member of this node holding C{key} is logged in to C{account} (None: to
        none): the place keeps it for a take-over through another node."""

    def renew(key: str, resume_token: str) -> None:
        """A member of this node holding C{key} has a new resume token."""

    def watch(taken: PlaceTaken) -> None:
        """Call C{taken(key)} when a place of this node is taken elsewhere: its member
        resumed through another node, or this node lost the shared registry for too
        long (the room then closes that member without a `leave`)."""

    def is_held(key: str) -> bool:
        """Whether C{key} is held, as far as this node knows now."""

    def release(key: str) -> Deferred[None]:
        """Free C{key} at once; fires once every node will see it free."""

    def nickname_of(key: str) -> str | None:
        """The display nickname holding C{key} (on any node), or None when it is free."""

    def account_of(key: str) -> str | None:
        """The account the holder of C{key} on another node is logged in to, as far as
        this node knows, else None (this node's members' accounts are the hall's)."""

    def set_outside(key: str, outside: bool) -> None:
        """The member of this node holding C{key} parted the default room (C{outside})
        or joined it again: L{listed} leaves it out meanwhile, on every node."""

    def listed() -> Sequence[bytes]:
        """Every holder's nickname as a JSON string, in join order, but those outside the
        default room (the default room's members)."""

    def holders() -> Sequence[bytes]:
        """Every holder's nickname as a JSON string, in join order, whatever its rooms."""


@implementer(IPresence)
class LocalPresence:
    """Presence for one node: a dict and a list in memory."""

    def __init__(self) -> None:
        self._held: dict[str, bytes] = {}
        # The nicknames again, as a list kept rather than derived: building it
        # is a Python loop over every member, at every join.
        self._listed: list[bytes] = []
        #: The keys of holders who parted the default room.
        self._outside: set[str] = set()

    reachable = True

    def claim(self, key: str, encoded_nickname: bytes, resume_token: str) -> Deferred[bool]:
        """Hold C{key} at once if nobody does (the room checks tokens itself)."""
        if key in self._held:
            return succeed(False)
        self._held[key] = encoded_nickname
        self._listed.append(encoded_nickname)
        return succeed(True)

    def take_over(self, key: str, token: str, resume_token: str) -> Deferred[Held | None]:
        """Never: every holder is a member of this node, which the room resumes itself."""
        return succeed(None)

    def take_over_login(self, key: str, account: str, resume_token: str) -> Deferred[Held | None]:
        """Never: every holder is a member of this node, which the room takes over itself."""
        return succeed(None)

    def set_account(self, key: str, account: str | None) -> None:
        """Nothing to record: the room knows its members' accounts."""

    def renew(self, key: str, resume_token: str) -> None:
        """Nothing to record: the room compares tokens itself."""

    def watch(self, taken: PlaceTaken) -> None:
        """Nothing is taken from one node by another: C{taken} is never called."""

    def is_held(self, key: str) -> bool:
        """Whether C{key} is held."""
        return key in self._held

    def release(self, key: str) -> Deferred[None]:
        """Free C{key} (a no-op when it is not held)."""
        encoded = self._held.pop(key, None)
        if encoded is not None:
            self._listed.remove(encoded)
        self._outside.discard(key)
        return succeed(None)

    def set_outside(self, key: str, outside: bool) -> None:
        """Leave the holder of C{key} out of L{listed} (C{outside}) or not."""
        if outside and key in self._held:
            self._outside.add(key)
        else:
            self._outside.discard(key)

    def nickname_of(self, key: str) -> str | None:
        """The display nickname holding C{key}, or None."""
        encoded = self._held.get(key)
        return json.loads(encoded) if encoded is not None else None

    def account_of(self, key: str) -> str | None:
        """None: every holder is a member of this node, whose account the hall knows."""
        return None

    def listed(self) -> Sequence[bytes]:
        """The held nicknames in join order, but those outside the default room (the
        live list when nobody is: do not change it)."""
        return without(self._listed, {self._held[key] for key in self._outside})

    def holders(self) -> Sequence[bytes]:
        """The held nicknames in join order (the live list: do not change it)."""
        return self._listed


def without(listed: Sequence[bytes], outside: set[bytes]) -> Sequence[bytes]:
    """C{listed} less the nicknames in C{outside} (C{listed} itself when none)."""
    if not outside:
        return listed
    return [name for name in listed if name not in outside]
