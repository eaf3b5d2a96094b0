"""Nicknames in join order, as a node mirrors them from a feed (of every holder, or of
one room's members)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence


class JoinOrder:
    """Nickname keys with their join order and nickname (a JSON string), kept sorted.

    Each entry carries the join order of its claim, so that a stale removal of an
    earlier claim of the same key changes nothing; parallel sorted lists keep a
    join or leave cheap (bisect).
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[float, bytes]] = {}
        self._ranks: list[float] = []
        self._listed: list[bytes] = []

    def __contains__(self, key: str) -> bool:
        return key in self._held

    def __len__(self) -> int:
        return len(self._held)

    def get(self, key: str) -> tuple[float, bytes] | None:
        """The join order and nickname of C{key}, or None."""
        return self._held.get(key)

    def keys(self) -> list[str]:
        """Every key listed."""
        return list(self._held)

    @property
    def listed(self) -> Sequence[bytes]:
        """The nicknames in join order (the live list: do not change it)."""
        return self._listed

    def clear(self) -> None:
        """List nobody."""
        self._held.clear()
        self._ranks.clear()
        self._listed.clear()

    def add(self, key: str, encoded_nickname: bytes, order: float) -> None:
        """List C{key} at C{order} (in place of an earlier claim of it, if any)."""
        current = self._held.get(key)
        if current is not None:
            if current[0] == order:
                return
            self.remove(key)
        self._held[key] = (order, encoded_nickname)
        index = bisect.bisect(self._ranks, order)
        self._ranks.insert(index, order)
        self._listed.insert(index, encoded_nickname)

    def remove(self, key: str, order: float | None = None) -> bool:
        """Unlist C{key} if listed with C{order} (None: whatever it is); whether it was."""
        current = self._held.get(key)
        if current is None or (order is not None and current[0] != order):
            return False
        del self._held[key]
        index = bisect.bisect_left(self._ranks, current[0])
        while self._listed[index] != current[1]:  # equal orders: provisional places
            index += 1
        del self._ranks[index]
        del self._listed[index]
        return True
