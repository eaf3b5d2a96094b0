"""What a person types becomes a message or a command."""

from __future__ import annotations

import pytest

from chatproto.client.commands import (
    Help,
    Join,
    Me,
    Mistake,
    Part,
    Quit,
    Rooms,
    Say,
    Switch,
    Topic,
    Who,
    parse_command,
)


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
        ("/WHO", Who()),
        ("/Quit", Quit()),
        ("/MSG bob hi", Say("hi", to="bob")),
        ("/me waves", Me("waves")),
        ("/Me  waves twice ", Me("waves twice")),
        ("", None),
        ("   ", None),
        ("/join #rust", Join("#rust")),
        ("/JOIN  #rust ", Join("#rust")),
        ("/part", Part(None)),
        ("/part #rust", Part("#rust")),
        ("/switch", Switch(None)),
        ("/switch #rust", Switch("#rust")),
        ("/rooms", Rooms()),
        ("/topic", Topic(None)),
        ("/topic crabs and  more ", Topic("crabs and  more")),
        ("/topic -", Topic("")),
    ],
)
def test_parse(line: str, command: object) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/msg", "usage: /msg NICK TEXT"),
        ("/msg bob", "usage: /msg NICK TEXT"),
        ("/msg bob   ", "usage: /msg NICK TEXT"),
        ("/me ", "usage: /me TEXT"),
        ("/Who me", "/Who takes no arguments"),
        ("/FROB x", "unknown command /FROB; /help lists the commands"),
        ("/join", "usage: /join #ROOM"),
        ("/join rust", "usage: /join #ROOM"),
        ("/join #a #b", "usage: /join #ROOM"),
        ("/part rust", "usage: /part [#ROOM]"),
        ("/switch #a b", "usage: /switch [#ROOM]"),
        ("/rooms all", "/rooms takes no arguments"),
    ],
)
def test_mistakes_are_explained(line: str, reason: str) -> None:
    assert parse_command(line) == Mistake(reason)
