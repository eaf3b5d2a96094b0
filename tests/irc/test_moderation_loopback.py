"""Moderation across doors over real loopback sockets (docs/protocol.md section 14): an IRC
operator kicks and bans a word-packet member, and a word-packet operator kicks an IRC
client, each seeing the other's action as its own door shows it."""

from __future__ import annotations

import pytest_twisted

from tests.irc.clients import connect_irc
from tests.irc.conftest import Doors
from tests.loopback import RawClient, connect


async def joined(port: int, nickname: str, room: str) -> RawClient:
    """A word-packet client joined as C{nickname}, and in C{room}."""
    client = await connect(port)
    await client.join(nickname)
    client.send_json({"command": "join", "room": room})
    await client.until_event("welcome")
    return client


@pytest_twisted.ensureDeferred
async def test_an_irc_operator_kicks_and_bans_a_packet_member(doors: Doors) -> None:
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")
    alice.send("JOIN #den")  # she creates it, so she operates it
    burst = await alice.until(lambda line: " 366 alice #den " in line)
    assert ":irc.test 353 alice = #den :@alice" in burst
    bob = await joined(doors.packet_port, "bob", "#den")

    alice.send("KICK #den bob :out")
    leave = await bob.until_event("leave")
    assert (leave["room"], leave["reason"], leave["by"], leave["comment"]) == (
        "#den",
        "kicked",
        "alice",
        "out",
    )
    lines = await alice.until(lambda line: " KICK " in line)
    assert lines[-1] == ":alice!alice@chatproto KICK #den bob :out"

    bob.send_json({"command": "join", "room": "#den"})
    await bob.until_event("welcome")  # a kick does not keep it out
    alice.send("MODE #den +b bob!*@*")
    moderation = await bob.until_event("moderation")
    assert (moderation["action"], moderation["mask"], moderation["by"]) == ("ban", "bob", "alice")
    assert (await bob.until_event("leave"))["reason"] == "banned"
    assert (await alice.synced())[-2:] == [
        ":alice!alice@chatproto MODE #den +b bob!*@*",
        ":alice!alice@chatproto KICK #den bob :Banned",
    ]
    bob.send_json({"command": "join", "room": "#den"})
    refused = await bob.until_event("error")
    assert (refused["code"], refused["room"]) == ("banned", "#den")
    alice.send("MODE #den b")
    assert await alice.synced() == [
        ":irc.test 367 alice #den bob!*@*",
        ":irc.test 368 alice #den :End of channel ban list",
    ]


@pytest_twisted.ensureDeferred
async def test_a_packet_operator_kicks_an_irc_client(doors: Doors) -> None:
    bob = await joined(doors.packet_port, "bob", "#lair")  # his room
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")
    alice.send("JOIN #lair")
    burst = await alice.until(lambda line: " 366 alice #lair " in line)
    assert ":irc.test 353 alice = #lair :@bob alice" in burst
    alice.send("KICK #lair bob")
    assert await alice.synced() == [":irc.test 482 alice #lair :You may not kick in #lair"]

    bob.send_json({"command": "voice", "room": "#lair", "user": "alice"})
    bob.send_json({"command": "kick", "room": "#lair", "user": "alice", "comment": "bye"})
    assert await alice.until(lambda line: " KICK " in line) == [
        ":bob!bob@chatproto MODE #lair +v alice",
        ":bob!bob@chatproto KICK #lair alice :bye",
    ]
    alice.send("PRIVMSG #lair :still here?")
    assert await alice.synced() == [":irc.test 404 alice #lair :You are not in #lair"]
