"""The room's moderation notices as IRC lines (docs/protocol.md section 14).

Whatever door a moderator used, its action reaches IRC clients as IRC shows it:

- a `moderation` notice: a MODE of the room's channel from the moderator (C{+o nick},
  C{+v nick}, C{+q nick} for a mute, C{+b mask} for a ban, C{+t}, C{+m}, and C{-} for
  their undoing); an action with no mode (a server-wide one) as a server NOTICE;
- a `leave` with reason `kicked` or `banned`: a KICK from the moderator, with the
  comment (else the moderator's nickname, or C{Banned});
- a `redact` notice: C{REDACT #room msgid [:comment]} from the moderator, to clients
  with C{draft/message-redaction} only (IRCv3 message-redaction);
- an `announce` notice: a NOTICE from the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from chatproto.core.msgids import msgid_for
from chatproto.core.nicknames import nickname_key
from chatproto.doors.irc.capabilities import MESSAGE_REDACTION
from chatproto.doors.irc.identity import member_source
from chatproto.doors.irc.mapping import event_tags, fitted_line
from chatproto.doors.irc.masks import irc_mask
from chatproto.doors.irc.message import Message, safe_text

#: The mode letter and sign of each action a `moderation` notice names, and the field of
#: the notice that is the mode's argument (None: a switch, by its `on`).
MODE_OF_ACTION: Final[Mapping[str, tuple[str, str | None]]] = {
    "op": ("+o", "user"),
    "deop": ("-o", "user"),
    "voice": ("+v", "user"),
    "devoice": ("-v", "user"),
    "mute": ("+q", "user"),
    "unmute": ("-q", "user"),
    "ban": ("+b", "mask"),
    "unban": ("-b", "mask"),
    "topic-lock": ("t", None),
    "moderated": ("m", None),
}
#: The `leave` reasons that are a moderator's doing, and the KICK text when no comment.
REMOVALS: Final = {"kicked": "", "banned": "Banned"}
#: Notices this module shows.
MODERATION_EVENTS: Final = frozenset({"moderation", "redact", "announce"})
#: The target of a server NOTICE every client gets alike (the codec is shared).
ANYONE: Final = "*"


def moderation_lines(
    packet: Mapping[str, Any], channel: str, capabilities: frozenset[str], server_name: str
) -> list[Message] | None:
    """The lines of a moderation notice or of a removal from C{channel}; None for any
    other record."""
    event = packet.get("event")
    if event == "leave" and packet.get("reason") in REMOVALS:
        return [_kick_line(packet, channel, capabilities)]
    if event == "moderation":
        return [_mode_line(packet, channel, capabilities, server_name)]
    if event == "redact":
        return _redact_lines(packet, channel, capabilities)
    if event == "announce":
        tags = event_tags(packet, capabilities)
        return [fitted_line(Message("NOTICE", (ANYONE,), server_name, tags), packet["message"])]
    return None


def _mode_line(
    packet: Mapping[str, Any], channel: str, capabilities: frozenset[str], server_name: str
) -> Message:
    """A MODE from the moderator; a server NOTICE for an action that has no mode, or is
    not about one room (a server-wide ban)."""
    tags = event_tags(packet, capabilities)
    mode = MODE_OF_ACTION.get(packet.get("action", ""))
    if mode is None or packet.get("scope") == "server":
        return fitted_line(Message("NOTICE", (ANYONE,), server_name, tags), packet["message"])
    letter, argument_field = mode
    source = member_source(packet["by"])
    if argument_field is None:
        sign = "+" if packet.get("on") else "-"
        return Message("MODE", (channel, sign + letter), source, tags)
    argument: str = packet[argument_field]
    if argument_field == "mask":
        argument = irc_mask(argument)
    return Message("MODE", (channel, letter, safe_text(argument)), source, tags)


def _kick_line(packet: Mapping[str, Any], channel: str, capabilities: frozenset[str]) -> Message:
    """A KICK of the member who left, from the moderator who removed it."""
    by: str = packet["by"]
    comment = packet.get("comment") or REMOVALS[packet["reason"]] or by
    tags = event_tags(packet, capabilities)
    return fitted_line(Message("KICK", (channel, packet["user"]), member_source(by), tags), comment)


def _redact_lines(
    packet: Mapping[str, Any], channel: str, capabilities: frozenset[str]
) -> list[Message]:
    """REDACT of the message's msgid, to a client that negotiated message-redaction."""
    if MESSAGE_REDACTION not in capabilities:
        return []
    msgid = msgid_for(nickname_key(channel), packet["id"])
    template = Message(
        "REDACT", (channel, msgid), member_source(packet["by"]), event_tags(packet, capabilities)
    )
    comment = packet.get("comment")
    return [fitted_line(template, comment) if comment else template]
