"""Moderation between real clients on loopback sockets (docs/protocol.md section 14):
word-packet TCP, WebSocket and IRC, a real account database and the real hasher."""

from __future__ import annotations

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString

from chatproto.doors.irc.protocol import IrcFactory
from tests.accounts.test_wire import greeted, joined, registered
from tests.conftest import RunningServer
from tests.irc.clients import connect_irc
from tests.irc.fakes import SERVER
from tests.loopback import Conversation
from tests.websocket_client import connect_ws


async def in_room(client: Conversation, room: str) -> dict[str, object]:
    """Join C{room}; its welcome."""
    client.send_json({"command": "join", "room": room})
    return await client.until_event("welcome")


@pytest_twisted.ensureDeferred
async def test_mute_kick_and_ban_in_a_room(moderated_server: RunningServer) -> None:
    port = moderated_server.port
    alice = await joined(port, "alice")
    bob = await joined(port, "bob")
    assert (await in_room(alice, "#r"))["operators"] == ["alice"]
    await in_room(bob, "#r")
    await alice.until_event("join")
    alice.send_json({"command": "mute", "room": "#r", "user": "bob", "seconds": 600})
    muted = await bob.until_event("moderation")
    assert (muted["action"], muted["by"], muted["seconds"]) == ("mute", "alice", 600)
    bob.send_json({"message": "spam", "room": "#r"})
    error = await bob.until_event("error")
    assert (error["code"], error["retry_after"]) == ("muted", 600)
    alice.send_json({"command": "kick", "room": "#r", "user": "bob", "comment": "enough"})
    kicked = await bob.until_event("leave")
    assert (kicked["reason"], kicked["by"], kicked["comment"]) == ("kicked", "alice", "enough")
    await in_room(bob, "#r")
    alice.send_json({"command": "ban", "room": "#r", "mask": "127.0.0.1"})
    banned = await bob.until_event("leave")
    assert (banned["reason"], banned["room"]) == ("banned", "#r")
    bob.send_json({"command": "join", "room": "#r"})
    refused = await bob.until_event("error")
    assert (refused["code"], refused["room"]) == ("banned", "#r")


@pytest_twisted.ensureDeferred
async def test_redaction_removes_the_text_from_disk(moderated_server: RunningServer) -> None:
    port = moderated_server.port
    alice = await joined(port, "alice")
    bob = await joined(port, "bob")
    alice.send_json({"message": "my card number is 4242"})
    message_id = (await alice.next_chat())["id"]
    await bob.next_chat()
    assert b"4242" in moderated_server.history_path.read_bytes()
    bob.send_json({"command": "redact", "id": message_id})
    assert (await bob.until_event("error"))["code"] == "not-permitted"
    alice.send_json({"command": "redact", "id": message_id, "comment": "oops"})
    redact = await bob.until_event("redact")
    assert (redact["id"], redact["by"], redact["comment"]) == (message_id, "alice", "oops")
    assert b"4242" not in moderated_server.history_path.read_bytes()
    bob.send_json({"command": "history"})
    summary = await bob.until_event("history")
    assert summary["count"] == 0


@pytest_twisted.ensureDeferred
async def test_a_server_operator_announces_and_bans_server_wide(
    moderated_server: RunningServer,
) -> None:
    port, ws_port = moderated_server.port, moderated_server.ws_port
    root = await registered(port, "root")
    bob = await joined(port, "bob")
    web = await connect_ws(ws_port)
    await web.join("carol")
    root.send_json({"command": "announce", "text": "restart at noon"})
    for client in (root, bob, web):
        announce = await client.until_event("announce")
        assert (announce["message"], announce["by"]) == ("restart at noon", "root")
    # root is at 127.0.0.1 too: a server operator is never banned
    root.send_json({"command": "ban", "scope": "server", "mask": "127.0.0.0/8", "comment": "x"})
    for client, nickname in ((bob, "bob"), (web, "carol")):
        left = await client.until_event("leave")
        while left["user"] != nickname:  # the other one's leave, in the default room
            left = await client.until_event("leave")
        assert left["reason"] == "banned"
        await client.closed()
    other = await greeted(await connect_ws(ws_port))
    other.send_json({"nickname": "dave"})
    error = await other.next()
    assert (error["event"], error["code"]) == ("error", "banned")
    assert await other.next() == "RETRY"
    await other.closed()
    root.send_json({"command": "bans", "scope": "server"})
    listed = await root.until_event("bans")
    assert [ban["mask"] for ban in listed["bans"]] == ["127.0.0.0/8"]


@pytest_twisted.ensureDeferred
async def test_the_core_enforces_mutes_and_bans_on_the_irc_door_too(
    moderated_server: RunningServer,
) -> None:
    root = await registered(moderated_server.port, "root")
    assert (await in_room(root, "#r"))["operators"] == ["root"]
    irc = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        IrcFactory(moderated_server.room, SERVER)
    )
    try:
        ian = await connect_irc(irc.getHost().port)
        await ian.register("ian")
        root.send_json({"command": "mute", "user": "ian", "comment": "shh"})
        await root.until_event("moderation")
        ian.send("PRIVMSG #chat :can you hear me")
        assert any("muted" in line for line in await ian.synced())
        root.send_json({"command": "ban", "room": "#r", "mask": "ian"})
        await root.until_event("moderation")
        ian.send("JOIN #r")
        assert any("banned" in line for line in await ian.synced())
        root.send_json({"command": "who", "room": "#r"})
        assert (await root.until_event("who"))["users"] == ["root"]
        root.send_json({"message": "still here"})
        assert (await root.next_chat())["message"] == "still here"  # ian's never came
    finally:
        await irc.stopListening()
