"""Moderation shared by several nodes (docs/protocol.md section 14 with `--redis`): the
store tells every node of each change any node makes, so that every node applies it
at once (L{chatproto.core.moderation.elsewhere}).

A change is one entry of L{chatproto.seams.moderation} kept (put) or dropped; a
dropped entry carries only what identifies it (a ban's scope and mask, a mute's room
and target, a role, a switch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zope.interface import Interface

from chatproto.seams.moderation import BanEntry, FlagEntry, MuteEntry, RoleEntry

#: One entry of the moderation store.
ModerationEntry = BanEntry | MuteEntry | RoleEntry | FlagEntry


@dataclass(frozen=True, slots=True)
class ModerationChange:
    """C{entry} was kept (C{kept}) or dropped by a node."""

    entry: ModerationEntry
    kept: bool


#: Called with each change, in the order the changes were made.
ChangeReceiver = Callable[[ModerationChange], None]


class ISharedModeration(Interface):
    """A moderation store that several nodes share: it tells this node of what the
    store holds when the node starts (each entry as a kept change) and then of every
    change another node makes."""

    def watch(changed: ChangeReceiver) -> None:
        """Call C{changed} with each such change from now on."""
