"""Nicknames that look alike collide (docs/protocol.md section 3: the Unicode TR39
skeletons of their keys), on fakes."""

from __future__ import annotations

import pytest

from chatproto.core.nicknames import InvalidNickname, holding_key, validate_nickname
from tests.fakes import FakeClient, make_room


def test_a_cyrillic_lookalike_cannot_be_held_beside_alice() -> None:
    room, _, _ = make_room()
    FakeClient(room).join("alice")
    lookalike = FakeClient(room)
    lookalike.received()
    lookalike.send("\u0430lice")  # a Cyrillic small a
    assert lookalike.events() == ["RETRY"]
    lookalike.send("a1ice")
    assert lookalike.events() == ["RETRY"]
    assert lookalike.join("bob")[-1]["users"] == ["alice", "bob"]


def test_a_private_message_finds_the_member_a_lookalike_names() -> None:
    room, _, _ = make_room()
    alice = FakeClient(room)
    alice.join("alice")
    bob = FakeClient(room)
    bob.join("bob")
    alice.received()
    bob.send_json({"to": "\u0430lice", "message": "hi"})
    assert ("bob", "hi") in alice.events()


def test_server_is_reserved_with_its_lookalikes() -> None:
    for name in ("server", "SERVER", "\u0455erver"):  # a Cyrillic dze
        with pytest.raises(InvalidNickname, match="reserved"):
            validate_nickname(name)


def test_the_holding_key_is_the_skeleton_of_the_key() -> None:
    assert holding_key("ALICE") == holding_key("\u0430lice") == holding_key("alice")
    assert holding_key("b0b") != holding_key("bob")  # TR39 keeps case: 0 is O
