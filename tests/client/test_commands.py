"""What a person types becomes a message or a command."""

from __future__ import annotations

import pytest

from chatproto.client.commands import Help, Mistake, Quit, Say, Who, parse_command


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("hello", Say("hello")),
        ("  spaced  ", Say("  spaced  ")),
        ("/who", Who()),
        ("/quit", Quit()),
        ("/help", Help()),
        ("/msg bob hi there", Say("hi there", to="bob")),
        ("//etc/passwd", Say("/etc/passwd")),
        ("", None),
        ("   ", None),
    ],
)
def test_parse(line: str, command: object) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize("line", ["/msg", "/msg bob", "/msg bob   ", "/who me", "/frobnicate x"])
def test_mistakes_are_explained(line: str) -> None:
    assert isinstance(parse_command(line), Mistake)
