"""Packets from the server become typed events; odd fields from a hostile server never raise."""

from __future__ import annotations

from datetime import UTC, datetime

from chatproto.client.incoming import ChatMessage, Notice, Unreadable, classify


def test_a_chat_packet() -> None:
    packet = {"id": 7, "timestamp": "2026-11-24T03:30:44.123Z", "nickname": "bob", "message": "hi"}
    message = classify(packet)
    assert message == ChatMessage(
        packet=packet,
        id=7,
        time=datetime(2026, 11, 24, 3, 30, 44, 123000, tzinfo=UTC),
        nickname="bob",
        text="hi",
        to=None,
        history=False,
    )


def test_a_replayed_private_packet() -> None:
    message = classify({"nickname": "bob", "message": "hi", "to": "al", "history": True})
    assert isinstance(message, ChatMessage)
    assert (message.id, message.to, message.history) == (None, "al", True)


def test_a_notice() -> None:
    notice = classify({"nickname": "server", "event": "join", "message": "bob joined", "user": "b"})
    assert isinstance(notice, Notice)
    assert (notice.event, notice.message) == ("join", "bob joined")


def test_fields_of_the_wrong_type_are_ignored() -> None:
    message = classify(
        {"id": True, "timestamp": 5, "nickname": ["x"], "message": "hi", "to": 3, "history": 1}
    )
    assert isinstance(message, ChatMessage)
    assert (message.id, message.time, message.nickname, message.to, message.history) == (
        None,
        None,
        "?",
        None,
        False,
    )


def test_unreadable_timestamps_are_none() -> None:
    for stamp in ("yesterday", "2026-11-24T03:30:44"):
        message = classify({"message": "x", "timestamp": stamp})
        assert isinstance(message, ChatMessage)
        assert message.time is None


def test_a_packet_without_a_message_is_unreadable() -> None:
    assert isinstance(classify({"what": "ever"}), Unreadable)


def test_only_the_server_signs_notices() -> None:
    assert isinstance(
        classify({"nickname": "mallory", "event": "shutdown", "message": "x"}), ChatMessage
    )
