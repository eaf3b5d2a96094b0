"""--motd (docs/protocol.md section 15): `motd` in every welcome of the packet doors."""

from __future__ import annotations

from tests.fakes import FakeClient, make_room


def test_every_welcome_carries_the_motd() -> None:
    hall, _, _ = make_room(motd="Be kind.\nNo spam.")
    alice = FakeClient(hall)
    welcome = alice.join("alice")[-1]
    assert (welcome["event"], welcome["motd"]) == ("welcome", "Be kind.\nNo spam.")
    alice.send_json({"command": "join", "room": "#games"})
    room_welcome = alice.received()[-1]
    assert (room_welcome["room"], room_welcome["motd"]) == ("#games", "Be kind.\nNo spam.")


def test_without_one_the_welcome_has_no_motd() -> None:
    hall, _, _ = make_room()
    assert "motd" not in FakeClient(hall).join("alice")[-1]
