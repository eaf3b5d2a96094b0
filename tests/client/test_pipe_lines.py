"""Pipe mode's input: long lines go out in pieces, nothing merged, nothing lost."""

from __future__ import annotations

from chatproto.client.pipe import MAX_LINE_BYTES, _StandardStreams, utf8_pieces


class RecordingSession:
    """Stands in for the session: records the messages it is asked to send."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def message(self, text: str) -> None:
        self.messages.append(text)


def feed(data: bytes) -> list[str]:
    streams = _StandardStreams()
    session = RecordingSession()
    streams.session = session  # type: ignore[assignment]
    streams.dataReceived(data)
    return session.messages


def test_an_overlong_line_is_sent_in_pieces_and_the_next_lines_stay_lines() -> None:
    long_line = "é" * 3000  # 6000 bytes
    messages = feed(long_line.encode() + b"\nhello\nworld\npartial")
    assert "".join(messages[:-2]) == long_line
    assert all(len(m.encode()) <= MAX_LINE_BYTES for m in messages)
    assert messages[-2:] == ["hello", "world"]


def test_pieces_never_split_a_character() -> None:
    for text in ["a" * 10, "é" * 7, "😀" * 5, "a😀" * 9]:
        pieces = utf8_pieces(text.encode(), 7)
        assert b"".join(pieces) == text.encode()
        assert all(len(p) <= 7 for p in pieces)
        for piece in pieces:
            piece.decode("utf-8")  # each piece is whole characters
