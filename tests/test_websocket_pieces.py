"""The WebSocket door's pure pieces: server frames and the origin rule."""

from __future__ import annotations

import pytest

from chatproto.doors.websocket.framing import text_frame
from chatproto.doors.websocket.origins import origin_allowed, parse_origins


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_text_frame_lengths(size: int, header: bytes) -> None:
    payload = b"x" * size
    assert text_frame(payload) == header + payload


def test_origin_rules() -> None:
    same = frozenset[str]()
    assert origin_allowed(None, "chat.example:8080", same)  # not a browser
    assert origin_allowed("http://chat.example:8080", "chat.example:8080", same)
    assert origin_allowed("HTTPS://Chat.Example:8080/", "chat.example:8080", same)
    assert not origin_allowed("http://evil.example", "chat.example:8080", same)
    assert not origin_allowed("null", "chat.example:8080", same)
    listed = parse_origins(" https://a.example , https://b.example/")
    assert listed == {"https://a.example", "https://b.example"}
    assert origin_allowed("https://b.example", "chat.example", listed)
    assert not origin_allowed("https://chat.example", "chat.example", listed)
    assert origin_allowed("https://anything.example", "x", parse_origins("*"))
