"""A frame's text read strictly: JSON packets as docs/protocol.md section 1 defines them.

Shared by the doors that carry packets (word-packet TCP and WebSocket); the
framing around the text is each door's own.
"""

from __future__ import annotations

import json
from typing import Any, Final

#: JSON packets nested deeper than this are not packets.
MAX_JSON_DEPTH: Final = 32


class NotAPacket(ValueError):
    """Raised when a frame's text is not a JSON packet as docs/protocol.md defines one."""


def _reject_constant(name: str) -> Any:
    raise NotAPacket(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise NotAPacket("duplicate key")
    return obj


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_constant=_reject_constant, strict=True
)


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(map(_has_lone_surrogate, value))
    return False


#: Whitespace RFC 8259 allows around a JSON value.
_JSON_WHITESPACE: Final = " \t\n\r"


def looks_like_packet(text: str) -> bool:
    """Whether a frame's text is meant as a JSON object (it opens with a brace)."""
    return text.startswith("{") or text.lstrip(_JSON_WHITESPACE).startswith("{")


def parse_packet(text: str) -> dict[str, Any]:
    """Parse a frame's text as a JSON packet, strictly.

    @raise NotAPacket: for anything but one JSON object free of duplicate keys,
        NaN/Infinity, lone surrogates and nesting deeper than L{MAX_JSON_DEPTH}.
    """
    if not looks_like_packet(text):
        raise NotAPacket("not a JSON object")
    # The cheap counts keep the full walks off the path of ordinary packets.
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        _check_depth_before_parsing(text)
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError) as e:
        raise NotAPacket(str(e)) from None
    if not isinstance(value, dict):
        raise NotAPacket("not a JSON object")
    if "\\u" in text and _has_lone_surrogate(value):
        raise NotAPacket("lone surrogate")
    return value


def _check_depth_before_parsing(text: str) -> None:
    """Reject nesting deeper than the limit without building it (brackets in strings skipped)."""
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise NotAPacket("nested too deeply")
        elif char in "}]":
            depth -= 1
