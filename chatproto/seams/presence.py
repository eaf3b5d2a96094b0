"""The presence seam: who holds which nickname, across every door (and node).

The room asks presence to claim a nickname key before it accepts a joiner and
to release it when the member leaves; `who` and `welcome` list its holders in
join order (docs/protocol.md section 5).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from twisted.internet.defer import Deferred, succeed
from zope.interface import Interface, implementer


class IPresence(Interface):
    """The registry of held nicknames (by key), in join order."""

    def claim(key: str, encoded_nickname: bytes) -> Deferred[bool]:
        """Hold C{key} (display form C{encoded_nickname}, a JSON string) if it is free;
        fires with whether it was."""

    def is_held(key: str) -> bool:
        """Whether C{key} is held, as far as this node knows now."""

    def release(key: str) -> Deferred[None]:
        """Free C{key} at once; fires once every node will see it free."""

    def nickname_of(key: str) -> str | None:
        """The display nickname holding C{key} (on any node), or None when it is free."""

    def listed() -> Sequence[bytes]:
        """Every holder's nickname as a JSON string, in join order."""


@implementer(IPresence)
class LocalPresence:
    """Presence for one node: a dict and a list in memory."""

    def __init__(self) -> None:
        self._held: dict[str, bytes] = {}
        # The nicknames again, as a list kept rather than derived: building it
        # is a Python loop over every member, at every join.
        self._listed: list[bytes] = []

    def claim(self, key: str, encoded_nickname: bytes) -> Deferred[bool]:
        """Hold C{key} at once if nobody does."""
        if key in self._held:
            return succeed(False)
        self._held[key] = encoded_nickname
        self._listed.append(encoded_nickname)
        return succeed(True)

    def is_held(self, key: str) -> bool:
        """Whether C{key} is held."""
        return key in self._held

    def release(self, key: str) -> Deferred[None]:
        """Free C{key} (a no-op when it is not held)."""
        encoded = self._held.pop(key, None)
        if encoded is not None:
            self._listed.remove(encoded)
        return succeed(None)

    def nickname_of(self, key: str) -> str | None:
        """The display nickname holding C{key}, or None."""
        encoded = self._held.get(key)
        return json.loads(encoded) if encoded is not None else None

    def listed(self) -> Sequence[bytes]:
        """The held nicknames in join order (the live list: do not change it)."""
        return self._listed
