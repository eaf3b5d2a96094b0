"""Tab completion: nicknames of who is online, and command names."""

from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from chatproto.client.completion import ChatCompleter


def completions(before_cursor: str) -> list[tuple[str, int]]:
    completer = ChatCompleter(lambda: ["alice", "Alfred", "bob"])
    asked = CompleteEvent(completion_requested=True)
    found = completer.get_completions(Document(before_cursor), asked)
    return [(each.text, each.start_position) for each in found]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("al", [("alice", -2), ("Alfred", -2)]),
        ("hi B", [("bob", -1)]),
        ("/msg ALI", [("alice", -3)]),
        ("/m", [("/me", -2), ("/moderated", -2), ("/msg", -2), ("/mute", -2)]),
        ("/W", [("/who", -2)]),
        ("", []),
        ("hi ", []),
        ("zed", []),
        ("bob", []),
        ("//m", []),
    ],
)
def test_completes_the_word_before_the_cursor(typed: str, expected: list[tuple[str, int]]) -> None:
    assert completions(typed) == expected
