"""Untrusted text is shown escaped, never obeyed by the terminal."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chatproto.client.escaping import escape_json_line, split_unsafe
from chatproto.core.records import dump_json


#: Everything a terminal could obey: C0, DEL, C1, bidi controls, line separators.
def escape(text: str) -> str:
    return "".join(run for _, run in split_unsafe(text))


TERMINAL_DRIVERS = (
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)


def test_escape_sequences_become_visible_text() -> None:
    assert escape("\x1b]0;owned\x07\x1b[2J") == "\\x1b]0;owned\\x07\\x1b[2J"


def test_c1_and_bidi_controls_are_escaped() -> None:
    assert escape("a\x9b31mb\u202ec") == "a\\x9b31mb\\u202ec"


def test_tab_newline_and_carriage_return_have_names() -> None:
    assert escape("a\tb\nc\rd") == "a\\tb\\nc\\rd"


def test_ordinary_text_of_any_script_is_unchanged() -> None:
    text = "héllo 日本語 مرحبا 👩‍💻 \\x1b"
    assert escape(text) == text


def test_split_unsafe_marks_the_escaped_runs() -> None:
    assert split_unsafe("hi\x1b[1mX") == [(False, "hi"), (True, "\\x1b"), (False, "[1mX")]


@given(st.text())
def test_nothing_that_drives_a_terminal_survives_escaping(text: str) -> None:
    escaped = escape(text)
    assert not any(char in escaped for char in TERMINAL_DRIVERS)


@given(st.dictionaries(st.text(), st.text() | st.integers()))
def test_json_lines_keep_their_value_and_lose_every_control(packet: dict[str, object]) -> None:
    line = escape_json_line(dump_json(packet).decode("utf-8"))
    assert not any(char in line for char in TERMINAL_DRIVERS)
    assert json.loads(line) == packet
