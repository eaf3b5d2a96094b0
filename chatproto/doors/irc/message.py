"""One IRC message: parsing a line and writing one (RFC 1459/2812 with IRCv3 message-tags).

A line is C{[@tags ][:source ]COMMAND[ params][ :trailing]}. Lines arrive here already
framed and bounded (L{chatproto.doors.irc.framing}), as bytes: decoding happens per line, so
text that is not UTF-8 is caught with the command it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

#: Tag value escapes of IRCv3 message-tags, written side and read side.
_TAG_ESCAPES: Final = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_TAG_UNESCAPES: Final = {"\\:": ";", "\\s": " ", "\\\\": "\\", "\\r": "\r", "\\n": "\n"}
_ESCAPED_PAIR: Final = re.compile(r"\\(.?)", re.DOTALL)
#: A command is letters, or a three-digit numeric.
_COMMAND: Final = re.compile(r"[A-Za-z]+|[0-9]{3}")
#: Characters no part of a line after the tags may hold: they would end or corrupt it.
_LINE_BREAKERS: Final = re.compile("[\r\n\0]")
#: What a reply shows in place of a character no IRC line may hold.
REPLACEMENT: Final = "\ufffd"
#: What a reply shows in place of a client's word that cannot stand before the last
#: parameter (empty, spaced or C{:}-led): IRC's word for "none".
NO_WORD: Final = "*"


class MalformedMessage(ValueError):
    """A line is not an IRC message (no command, or a command of the wrong shape)."""


class InvalidUtf8(ValueError):
    """A line's bytes are not UTF-8; C{command} is the command it carried, or C{*}."""

    def __init__(self, command: str) -> None:
        super().__init__(command)
        self.command = command


@dataclass(frozen=True)
class Message:
    """An IRC message: C{command} (upper case), its C{params}, C{source} and C{tags}.

    C{force_trailing} writes the last parameter after C{:} even when it does not need one
    (one word of chat text), as servers do for free text; L{serialise} otherwise adds the
    C{:} only where the parameter needs it (empty, with a space, or starting with C{:}).
    """

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    force_trailing: bool = False


def _unescape_tag_value(value: str) -> str:
    # An unknown escape stands for the character itself; a lone trailing backslash is dropped.
    return _ESCAPED_PAIR.sub(lambda m: _TAG_UNESCAPES.get(m.group(0), m.group(1)), value)


def escape_tag_value(value: str) -> str:
    """Escape a tag value for the wire (IRCv3 message-tags)."""
    return "".join(_TAG_ESCAPES.get(char, char) for char in value)


def _parse_tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in text.split(";"):
        if item:
            key, _, value = item.partition("=")
            tags[key] = _unescape_tag_value(value)  # the last of duplicate keys wins
    return tags


def parse_message(line: str) -> Message:
    """Parse one line (without its CR LF) into a L{Message}.

    Spaces between parts may be repeated; the command comes back in upper case.

    @raise MalformedMessage: when there is no command, or it is neither letters nor
        three digits.
    """
    rest = line.lstrip(" ")
    tags: dict[str, str] = {}
    source = None
    if rest.startswith("@"):
        tag_text, _, rest = rest[1:].partition(" ")
        tags = _parse_tags(tag_text)
        rest = rest.lstrip(" ")
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    middle, colon, trailing = rest.partition(" :")
    words = [word for word in middle.split(" ") if word]  # split() would cut at tabs too
    if not words or not _COMMAND.fullmatch(words[0]):
        raise MalformedMessage(f"no command in {line[:40]!r}")
    params = words[1:]
    if colon:
        params.append(trailing)
    return Message(words[0].upper(), tuple(params), source, tags)


def _lossy_command(raw: bytes) -> str:
    """The command of a line that is not UTF-8, or C{*} when it cannot be told."""
    try:
        command = parse_message(raw.decode("utf-8", "replace")).command
    except MalformedMessage:
        return "*"
    return command if command.isascii() else "*"


def parse_line(raw: bytes) -> Message:
    """Decode one framed line as UTF-8 and parse it.

    @raise InvalidUtf8: when the bytes are not UTF-8 (the door answers C{FAIL <command>
        INVALID_UTF8}).
    @raise MalformedMessage: as L{parse_message}.
    """
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUtf8(_lossy_command(raw)) from None
    return parse_message(line)


def safe_text(text: str) -> str:
    """C{text} as a last parameter may carry it: CR, LF and NUL replaced (they would end
    the line or let a client write lines of its own)."""
    return _LINE_BREAKERS.sub(REPLACEMENT, text)


def safe_word(text: str) -> str:
    """C{text} as a parameter before the last may carry it: as L{safe_text}, or
    L{NO_WORD} when it is empty, holds a space or starts with C{:} (it would shift the
    parameters after it)."""
    if not text or " " in text or text.startswith(":"):
        return NO_WORD
    return safe_text(text)


def serialise(message: Message) -> bytes:
    """Write C{message} as one line of UTF-8 ending in CR LF.

    @raise ValueError: when a parameter would break the line (CR, LF or NUL anywhere; a
        space, a leading C{:} or emptiness before the last).
    """
    parts = []
    if message.source:
        parts.append(":" + message.source)
    parts.append(message.command)
    params = message.params
    for param in params[:-1]:
        if not param or " " in param or param.startswith(":"):
            raise ValueError(f"only the last parameter may be empty, spaced or ':'-led: {param!r}")
        parts.append(param)
    if params:
        last = params[-1]
        if message.force_trailing or not last or " " in last or last.startswith(":"):
            last = ":" + last
        parts.append(last)
    line = " ".join(parts)
    if _LINE_BREAKERS.search(line):
        raise ValueError(f"CR, LF or NUL in an IRC message: {line[:40]!r}")
    if message.tags:
        tags = ";".join(
            f"{key}={escape_tag_value(value)}" if value else key
            for key, value in message.tags.items()
        )
        line = f"@{tags} {line}"
    return line.encode("utf-8") + b"\r\n"
