"""IRCv3 C{draft/chathistory}: the `history` command of docs/protocol.md section 12 over IRC.

    CHATHISTORY LATEST  <target> <* | msgid=... | timestamp=...> <limit>
    CHATHISTORY BEFORE  <target> <msgid=... | timestamp=...> <limit>
    CHATHISTORY AFTER   <target> <msgid=... | timestamp=...> <limit>
    CHATHISTORY AROUND  <target> <msgid=... | timestamp=...> <limit>
    CHATHISTORY BETWEEN <target> <msgid=... | timestamp=...> <msgid=... | timestamp=...> <limit>

The target is a room the client is in; the answer is one C{chathistory} batch (with the
C{batch} capability) of the room's stored messages, oldest first, each with the msgid and
time it had live. A msgid names its room and id (L{chatproto.core.msgids}); a timestamp is
found by bisection over the room's ids, a few store reads, never a scan. A limit above
L{MAX_HISTORY_LIMIT} is cut to it (C{CHATHISTORY} in RPL_ISUPPORT). A private conversation is not
stored: a nickname target gets an empty batch. Errors are IRCv3 standard replies:
C{FAIL CHATHISTORY} C{NEED_MORE_PARAMS}, C{UNKNOWN_COMMAND}, C{INVALID_PARAMS},
C{INVALID_TARGET}, C{MESSAGE_ERROR}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from chatproto.core.errors import PacketRejected
from chatproto.core.msgids import parse_msgid
from chatproto.core.roomnames import room_key
from chatproto.doors.irc.capabilities import BATCH
from chatproto.doors.irc.identity import looks_like_channel
from chatproto.doors.irc.mapping import HISTORY_BATCH_TYPE, chat_lines
from chatproto.doors.irc.message import Message
from chatproto.doors.irc.replies import MAX_HISTORY_LIMIT
from chatproto.seams.history import HistoryUnavailable, Stored

if TYPE_CHECKING:
    from chatproto.doors.irc.session import IrcSession

#: The subcommands and how many references each takes.
_REFERENCES: Final = {"LATEST": 1, "BEFORE": 1, "AFTER": 1, "AROUND": 1, "BETWEEN": 2}


class _Invalid(ValueError):
    """A parameter CHATHISTORY cannot use (INVALID_PARAMS)."""


@dataclass(frozen=True)
class Reference:
    """A point in a room's history: a message id, or a moment (RFC 3339)."""

    message_id: int | None = None
    moment: datetime | None = None


def parse_reference(text: str, key: str) -> Reference | None:
    """C{*} (None), C{msgid=...} of the room whose key is C{key}, or C{timestamp=...}.

    @raise _Invalid: for anything else, a msgid of another room included.
    """
    if text == "*":
        return None
    kind, _, value = text.partition("=")
    if kind == "msgid":
        named = parse_msgid(value)
        if named is None or named[0] != key:
            raise _Invalid(f"{value} names no message of this channel")
        return Reference(message_id=named[1])
    if kind == "timestamp":
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid(f"{value} is not a timestamp") from None
        if moment.tzinfo is None:
            raise _Invalid(f"{value} has no time zone")
        return Reference(moment=moment)
    raise _Invalid(f"{text} is not *, msgid=... or timestamp=...")


def _limit(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise _Invalid(f"{text} is not a positive number of messages")
    return min(int(text), MAX_HISTORY_LIMIT)


Page = Callable[[int | None, int | None, int], Deferred[list[Stored]]]


async def _boundary(page: Page, reference: Reference, after: bool) -> int:
    """The id where C{reference} falls: its message id, or for a moment the first id
    stored after it (C{after}) or at or after it (not C{after}); one past the newest
    when every message is older."""
    if reference.message_id is not None:
        return reference.message_id
    moment = reference.moment
    assert moment is not None
    newest = await page(None, None, 1)
    if not newest:
        return 1
    oldest = await page(None, 0, 1)
    low, high = oldest[0][0], newest[0][0] + 1  # the answer is in [low, high]
    while low < high:
        middle = (low + high) // 2
        found = await page(middle + 1, None, 1)  # the newest message up to middle
        stamp = datetime.fromisoformat(json.loads(found[0][1])["timestamp"])
        if stamp > moment or (stamp == moment and not after):
            high = middle
        else:
            low = middle + 1
    return low


async def _after(page: Page, reference: Reference) -> int:
    """The id after which messages count as after C{reference}."""
    if reference.message_id is not None:
        return reference.message_id
    return await _boundary(page, reference, after=True) - 1


async def _before(page: Page, reference: Reference) -> int:
    """The id before which messages count as before C{reference}."""
    return await _boundary(page, reference, after=False)


async def query(
    page: Page, subcommand: str, references: list[Reference | None], limit: int
) -> list[Stored]:
    """The stored messages a CHATHISTORY subcommand asks for, oldest first."""
    first = references[0]
    if subcommand == "LATEST":
        newest = await page(None, None, limit)
        if first is None:
            return newest
        since = await _after(page, first)
        return [entry for entry in newest if entry[0] > since]
    assert first is not None  # * is only for LATEST
    if subcommand == "BEFORE":
        return await page(await _before(page, first), None, limit)
    if subcommand == "AFTER":
        return await page(None, await _after(page, first), limit)
    if subcommand == "AROUND":
        center = await _before(page, first)
        older = await page(center, None, limit // 2)
        return older + await page(None, center - 1, limit - len(older))
    last = references[1]
    assert last is not None
    start, end = await _after(page, first), await _before(page, last)
    if start < end:
        return [entry for entry in await page(None, start, limit) if entry[0] < end]
    start, end = await _before(page, first), await _after(page, last)
    return [entry for entry in await page(start, None, limit) if entry[0] > end]


def chathistory(session: IrcSession, message: Message) -> None:
    """CHATHISTORY: answer from the room's store, in a batch (see the module docstring)."""
    replies = session.door.replies
    params = message.params
    subcommand = params[0].upper() if params else ""
    if subcommand and subcommand not in _REFERENCES:
        session.reply(
            [replies.fail("CHATHISTORY", "UNKNOWN_COMMAND", "Unknown command", params[0])]
        )
        return
    if len(params) < 3 + _REFERENCES.get(subcommand, 1):
        shown = params[0] if params else "*"
        session.reply(
            [replies.fail("CHATHISTORY", "NEED_MORE_PARAMS", "Missing parameters", shown)]
        )
        return
    target = params[1]
    references_text = params[2 : 2 + _REFERENCES[subcommand]]
    try:
        limit = _limit(params[2 + _REFERENCES[subcommand]])
        key = room_key(target) if looks_like_channel(target) else ""
        references = [parse_reference(text, key) for text in references_text]
        if subcommand != "LATEST" and None in references:
            raise _Invalid("* is only for LATEST")
    except _Invalid as e:
        session.reply([replies.fail("CHATHISTORY", "INVALID_PARAMS", str(e), subcommand)])
        return
    if not looks_like_channel(target):  # private messages are not stored
        session.reply(batch_of(session, target, []))
        return
    room = session.rooms.get(key)
    if room is None:
        why = f"You are not in {target}"
        session.reply([replies.fail("CHATHISTORY", "INVALID_TARGET", why, subcommand, target)])
        return
    channel = room.name
    page = _pager(session, channel)
    label = session.take_label()  # the answer may come later
    answer: Deferred[list[Stored]] = Deferred.fromCoroutine(
        query(page, subcommand, references, limit)
    )

    def answered(records: list[Stored]) -> None:
        session.reply(batch_of(session, channel, records), label)

    def failed(failure: Failure) -> Failure | None:
        if failure.check(_Invalid):  # type: ignore[no-untyped-call]
            reason, code = str(failure.value), "INVALID_PARAMS"
        elif failure.check(HistoryUnavailable, PacketRejected):  # type: ignore[no-untyped-call]
            # The store failed, or the client parted the room while it was read.
            reason, code = "Messages could not be retrieved", "MESSAGE_ERROR"
        else:
            return failure
        session.reply([replies.fail("CHATHISTORY", code, reason, subcommand, target)], label)
        return None

    answer.addCallbacks(answered, failed)


def _pager(session: IrcSession, target: str) -> Page:
    """The room's history pages as C{session} may read them (it must still be in it)."""

    def page(before: int | None, since: int | None, limit: int) -> Deferred[list[Stored]]:
        return session.hall.history_page(session, target, before, since, limit)

    return page


def batch_of(session: IrcSession, channel: str, records: list[Stored]) -> list[Message]:
    """C{records} as C{channel}'s lines in one C{chathistory} batch (without the batch
    capability: the lines alone)."""
    capabilities = session.registration.capabilities
    reference = session.next_batch_reference() if BATCH in capabilities else None
    lines: list[Message] = []
    for _, record in records:
        packet = json.loads(record)
        lines += chat_lines(packet, channel, capabilities, replayed=True, batch=reference)
    if reference is None:
        return lines
    name = session.door.server.name
    return [
        Message("BATCH", (f"+{reference}", HISTORY_BATCH_TYPE, channel), name),
        *lines,
        Message("BATCH", (f"-{reference}",), name),
    ]
