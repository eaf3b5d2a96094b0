"""Moderation another node changed (docs/protocol.md section 14 with `--redis`): every
node applies a change at once.

A store shared by several nodes (L{ISharedModeration}) tells this node of each change
another node made, and of everything the store held when this node started; each one
goes into the ledger here, and a new ban is enforced on this node's members: those it
matches leave the room with reason `banned` (a server-wide ban: every room, and their
connections close), as on the node that set it. The `moderation` notice itself comes
through the room, from the node that set it. An order for a member this node holds
(a kick, a role held until it leaves) is carried out here
(L{chatproto.core.moderation.remote.perform}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatproto.core.errors import PacketRejected
from chatproto.core.moderation.masks import parse_mask
from chatproto.core.moderation.remote import perform
from chatproto.seams.moderation import SERVER_SCOPE, BanEntry, FlagEntry, MuteEntry, RoleEntry
from chatproto.seams.sharedmoderation import ModerationChange, Order

if TYPE_CHECKING:
    from chatproto.core.hall import Hall


class ChangesElsewhere:
    """Applies the changes other nodes make to the moderation of C{hall}."""

    def __init__(self, hall: Hall) -> None:
        self._hall = hall

    def apply(self, change: ModerationChange | Order) -> None:
        """Take C{change} into the ledger (and enforce a new ban here), or carry out an
        order."""
        if isinstance(change, Order):
            perform(self._hall, change)
            return
        ledger = self._hall.moderation.ledger
        entry, kept = change.entry, change.kept
        match entry:
            case BanEntry():
                self._ban(entry, kept)
            case MuteEntry():
                if kept:
                    ledger.rules(entry.room).put_mute(entry)
                elif (rules := ledger.peek(entry.room)) is not None:
                    rules.mutes.pop(entry.target, None)
            case RoleEntry() if kept:
                ledger.grant(entry)
            case RoleEntry():
                ledger.revoke(entry)
            case FlagEntry():
                flags = ledger.rules(entry.room).flags
                if kept:
                    flags.add(entry.flag)
                else:
                    flags.discard(entry.flag)

    def _ban(self, ban: BanEntry, kept: bool) -> None:
        moderation = self._hall.moderation
        try:
            mask = parse_mask(ban.mask)
        except PacketRejected:  # written by a newer version: not ours
            return
        if not kept:
            rules = moderation.ledger.peek(ban.scope)
            if rules is not None:
                rules.bans.pop(mask.key, None)
            return
        moderation.ledger.rules(ban.scope).put_ban(mask, ban)
        if ban.scope == SERVER_SCOPE:
            moderation.enforce(None, mask, ban.by, ban.comment or None)
            return
        room = self._hall.registry.rooms.get(ban.scope)
        if room is not None:  # a room nobody here is in has nobody here to enforce it on
            moderation.enforce(room, mask, ban.by, ban.comment or None)
