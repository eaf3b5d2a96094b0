"""msgid tags over real loopback sockets: every stored message, live and replayed, names its
room and id; a private message's copies share one (docs/irc.md, "Message ids")."""

from __future__ import annotations

import pytest_twisted

from chatproto.core.msgids import parse_msgid
from chatproto.doors.irc.message import parse_line
from tests.irc.clients import connect_irc
from tests.irc.conftest import Doors
from tests.loopback import connect


def msgid_of(line: str) -> str:
    """The msgid tag of one line the server sent."""
    return parse_line(line.encode()).tags["msgid"]


@pytest_twisted.ensureDeferred
async def test_stored_messages_carry_their_room_and_id(doors: Doors) -> None:
    bob = await connect(doors.packet_port)
    await bob.join("bob")
    bob.send_json({"message": "said before alice came"})
    replayed_id = (await bob.next_chat())["id"]

    alice = await connect_irc(doors.irc_port)
    await alice.register("alice", "message-tags", "echo-message", "batch")
    replay = await alice.synced()
    assert parse_msgid(msgid_of(replay[1])) == ("#chat", replayed_id)

    bob.send_json({"message": "live"})
    live_id = (await bob.next_chat())["id"]
    (live,) = await alice.synced()
    assert live.endswith(" PRIVMSG #chat :live")
    assert parse_msgid(msgid_of(live)) == ("#chat", live_id)

    alice.send("PRIVMSG #chat :mine")
    own_id = (await bob.next_chat())["id"]
    (echo,) = await alice.synced()
    assert parse_msgid(msgid_of(echo)) == ("#chat", own_id)


@pytest_twisted.ensureDeferred
async def test_only_with_message_tags(doors: Doors) -> None:
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice", "server-time")
    bob = await connect(doors.packet_port)
    await bob.join("bob")
    bob.send_json({"message": "hi"})
    lines = await alice.synced()
    assert lines[-1].endswith(" PRIVMSG #chat :hi")
    assert "msgid" not in parse_line(lines[-1].encode()).tags


@pytest_twisted.ensureDeferred
async def test_private_copies_share_a_msgid(doors: Doors) -> None:
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice", "message-tags")
    carol = await connect_irc(doors.irc_port)
    await carol.register("carol", "message-tags", "echo-message")
    await alice.synced()

    carol.send("PRIVMSG alice :psst")
    (echo,) = await carol.synced()
    (received,) = await alice.synced()
    assert received.endswith(" PRIVMSG alice :psst")
    assert msgid_of(echo) == msgid_of(received)
    assert parse_msgid(msgid_of(received)) is None  # not stored: names no message

    carol.send("PRIVMSG alice :psst!")
    await carol.synced()
    (another,) = await alice.synced()
    assert msgid_of(another) != msgid_of(received)
