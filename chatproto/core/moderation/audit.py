"""The audit log of moderation (docs/moderation.md): one structured Twisted log event per
action, `event_kind="moderation"`, that an operator can filter on."""

from __future__ import annotations

from twisted.logger import Logger

from chatproto.core.timestamps import rfc3339_millis

_log = Logger(namespace="chatproto.moderation")


def audit(
    by: str,
    action: str,
    room: str | None,
    *,
    user: str | None = None,
    mask: str | None = None,
    comment: str | None = None,
    until: float | None = None,
) -> None:
    """Log that C{by} took C{action} in C{room} (None: server-wide) on C{user} or C{mask},
    saying C{comment}, lasting until C{until} (seconds since the epoch; None: no end)."""
    _log.info(
        "moderation: {by} {action} {target} in {where}{why}",
        event_kind="moderation",
        by=by,
        action=str(action),
        room=room,
        user=user,
        mask=mask,
        comment=comment,
        until=None if until is None else rfc3339_millis(until),
        target=user or mask or "",
        where=room if room is not None else "the server",
        why=f": {comment}" if comment else "",
    )
