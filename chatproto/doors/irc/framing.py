"""Cutting an IRC byte stream into lines, bounded, before anything is decoded.

A line ends in CR LF or a lone LF. Its message part (everything after the tags) holds at
most 510 bytes, 512 with the line ending (RFC 1459); the tags before it, with their leading
C{@} and the space after them, at most 8191 bytes (IRCv3 message-tags). A line over either
bound is dropped as it streams in, never buffered whole, and reported once as
L{Overlong.LINE} so the door can answer C{417 ERR_INPUTTOOLONG}. Empty lines are skipped,
as RFC 1459 says.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

#: Bytes of the message part, without the line ending.
MAX_MESSAGE_BYTES: Final = 510
#: Bytes of the tags, with their leading C{@} and the space after them.
MAX_TAGS_BYTES: Final = 8191


class Overlong(Enum):
    """Stands, in what L{LineFramer.feed} returns, for a line that was too long and dropped."""

    LINE = "line"


def _exceeds(line: bytes, slack: int) -> bool:
    """Whether C{line} (or the start of one) is past a bound, allowing C{slack} more bytes.

    A line still streaming in may end in the CR of its CR LF: that is the slack.
    """
    message_bytes = len(line)
    if line.startswith(b"@"):
        space = line.find(b" ", 0, MAX_TAGS_BYTES)
        if space < 0:
            return len(line) >= MAX_TAGS_BYTES
        message_bytes -= space + 1
    return message_bytes > MAX_MESSAGE_BYTES + slack


class LineFramer:
    """Turns the bytes of one connection into lines (bytes, without their ending).

    Holds at most one incomplete line of bounded size between calls.
    """

    __slots__ = ("_discarding", "_pending")  # one per connection: no dict

    def __init__(self) -> None:
        self._pending = b""
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | Overlong]:
        """Take the next bytes of the stream; return the lines they complete, in order.

        An overlong line appears as L{Overlong.LINE}, once, at the point it became too long;
        its remaining bytes, up to and including its LF, are dropped as they arrive.
        """
        out: list[bytes | Overlong] = []
        if self._discarding:
            end = data.find(b"\n")
            if end < 0:
                return out
            self._discarding = False
            data = data[end + 1 :]
        buffer = self._pending + data if self._pending else data
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line = buffer[start:end]
            start = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if line:
                out.append(Overlong.LINE if _exceeds(line, 0) else line)
        rest = buffer[start:]
        if _exceeds(rest, 1):
            out.append(Overlong.LINE)
            self._discarding = True
            rest = b""
        self._pending = rest
        return out
