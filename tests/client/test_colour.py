"""Colours only on a terminal, and only when NO_COLOR is unset."""

from __future__ import annotations

import io

from chatproto.client.terminal import use_colour


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal() -> None:
    assert use_colour(FakeTerminal(), {"TERM": "xterm"})


def test_no_colour_when_no_color_is_set_even_empty() -> None:
    assert not use_colour(FakeTerminal(), {"NO_COLOR": "1"})
    assert not use_colour(FakeTerminal(), {"NO_COLOR": ""})


def test_no_colour_off_a_terminal() -> None:
    assert not use_colour(io.StringIO(), {})
