"""Untrusted text made harmless for a terminal: controls are shown, never obeyed."""

from __future__ import annotations

import re
from typing import Final

#: Characters a terminal could obey or that reorder what is shown: C0 and C1
#: controls, DEL, bidirectional overrides and isolates, line and paragraph
#: separators. (Tab and newline are included; callers that lay text out
#: handle them before escaping.)
_UNSAFE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


#: Escapes people know by name.
_NAMED: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape_char(char: str) -> str:
    """The visible escape of one unsafe character, e.g. C{\\n}, C{\\x1b} or C{\\u202e}."""
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def split_unsafe(text: str) -> list[tuple[bool, str]]:
    """Cut C{text} into runs: C{(False, plain text)} and C{(True, visible escapes)}."""
    runs: list[tuple[bool, str]] = []
    position = 0
    for match in _UNSAFE.finditer(text):
        if match.start() > position:
            runs.append((False, text[position : match.start()]))
        runs.append((True, escape_char(match.group())))
        position = match.end()
    if position < len(text):
        runs.append((False, text[position:]))
    return runs


def escape_json_line(line: str) -> str:
    """A JSON text (from L{chatproto.core.records.dump_json}) with no character a terminal obeys.

    JSON already escapes U+0000-U+001F; this also writes DEL, C1 controls and
    bidirectional controls as C{\\uXXXX}, which is the same JSON value.
    """
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", line)
