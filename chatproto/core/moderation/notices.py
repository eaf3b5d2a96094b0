"""The notices of moderation (docs/protocol.md section 14), as canonical records: the
`moderation` notice of an accepted command, `redact`, `bans` and `announce`. The
`leave` of a kicked or banned member is the hall's own `leave` notice, with `by` and
`comment`."""

from __future__ import annotations

from typing import Any

from chatproto.core.moderation.ledger import RoomRules
from chatproto.core.notices import listing_notice, notice
from chatproto.core.timestamps import rfc3339_millis


def moderation_notice(
    timestamp: str, text: str, room_field: dict[str, Any], action: str, by: str, **given: Any
) -> bytes:
    """The `moderation` notice of an accepted C{action} by C{by}; C{given} holds the
    command's `user`, `mask`, `seconds`, `on` and `comment` as given (None: not given)."""
    extra = {name: value for name, value in given.items() if value is not None}
    return notice(timestamp, "moderation", text, **room_field, action=action, by=by, **extra)


def redact_notice(
    timestamp: str, room_field: dict[str, Any], message_id: int, by: str, comment: str | None
) -> bytes:
    """The `redact` notice: the message C{message_id} of the room is gone."""
    extra = {} if comment is None else {"comment": comment}
    text = f"{by} redacted message {message_id}"
    return notice(timestamp, "redact", text, **room_field, id=message_id, by=by, **extra)


def bans_notice(timestamp: str, scope_field: dict[str, Any], rules: RoomRules | None) -> bytes:
    """The `bans` notice: every ban of a room (C{scope_field} its `room` field) or of the
    server (C{{"scope": "server"}}), oldest first."""
    bans = [
        {
            "mask": ban.mask,
            "by": ban.by,
            "comment": ban.comment,
            "until": None if ban.until is None else rfc3339_millis(ban.until),
        }
        for _, ban in (rules.bans.values() if rules is not None else ())
    ]
    return listing_notice(timestamp, "bans", f"{len(bans)} bans", "bans", bans, **scope_field)


def announce_notice(timestamp: str, by: str, text: str) -> bytes:
    """The `announce` notice of a server operator's announcement."""
    return notice(timestamp, "announce", text, by=by)
