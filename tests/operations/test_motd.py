"""--motd (docs/protocol.md section 15): `motd` in every welcome of the packet doors,
the MOTD of the IRC door."""

from __future__ import annotations

from dataclasses import replace

from chatproto.doors.irc.protocol import IrcFactory
from tests.fakes import FakeClient, make_room
from tests.irc.fakes import SERVER, FakeIrcClient


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


def test_a_reloaded_motd_is_in_the_next_irc_welcome() -> None:
    hall, _, _ = make_room(motd="Be kind.")
    door = IrcFactory(hall, SERVER)  # one door: its welcome is rendered once, then reused
    before = FakeIrcClient(hall, door).register("alice")
    assert ":irc.test 372 alice :- Be kind." in before
    hall.reconfigure(replace(hall.config, motd="No spam."))  # what SIGHUP does
    after = FakeIrcClient(hall, door).register("bobby")
    assert ":irc.test 372 bobby :- No spam." in after
    assert not any("Be kind." in line for line in after)
