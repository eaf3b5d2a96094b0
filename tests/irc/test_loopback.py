"""The IRC door over real loopback sockets, in one room with the word-packet and WebSocket
doors (docs/protocol.md section 10)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor, ssl
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    connectProtocol,
    serverFromString,
    wrapClientTLS,
)

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.doors.irc.protocol import IrcFactory
from tests.certs import make_certificate
from tests.fakes import MemoryHistory
from tests.irc.clients import RawIrcClient, connect_irc
from tests.irc.conftest import Doors
from tests.irc.fakes import SERVER
from tests.irc.helpers import LISTED_302
from tests.loopback import RawClient, connect
from tests.websocket_client import WebSocketClient, connect_ws

#: The time tag of server-time: RFC 3339, UTC, milliseconds.
TIME_TAG = r"@(?:batch=history;)?time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "


async def joined(port: int, nickname: str) -> RawClient:
    """A word-packet client joined as C{nickname}."""
    client = await connect(port)
    await client.join(nickname)
    return client


async def next_private(client: RawClient | WebSocketClient) -> dict[str, Any]:
    """The next private message, skipping public ones (receipts included)."""
    while True:
        packet = await client.next_chat()
        if "to" in packet:
            return packet


@pytest_twisted.ensureDeferred
async def test_registration_capabilities_and_replay(doors: Doors) -> None:
    bob = await joined(doors.packet_port, "bob")
    bob.send_json({"message": "said before alice came"})
    await bob.next_chat()

    alice = await connect_irc(doors.irc_port)
    alice.send("CAP LS 302")
    assert await alice.next() == (":irc.test CAP * LS :" + LISTED_302)
    alice.send("NICK alice", "USER alice 0 * :Alice", "CAP REQ :server-time batch")
    assert await alice.next() == ":irc.test CAP * ACK :server-time batch"
    alice.send("CAP END")
    burst = await alice.until(lambda line: " 366 " in line)
    assert [line.split()[1] for line in burst] == [
        "001", "002", "003", "004", "005", "005", "375", "372", "376", "JOIN", "353", "366",
    ]  # fmt: skip
    isupport = burst[4] + burst[5]
    assert "CHANTYPES=# " in isupport and "NICKLEN=32 " in isupport and "UTF8ONLY" in isupport
    assert burst[10] == ":irc.test 353 alice = #chat :bob alice"
    replay = await alice.synced()
    assert replay[0] == ":irc.test BATCH +history chathistory #chat"
    assert re.fullmatch(
        TIME_TAG + ":bob!bob@chatproto PRIVMSG #chat :said before alice came", replay[1]
    )
    assert replay[2:] == [":irc.test BATCH -history"]
    assert (await bob.until_event("join"))["user"] == "alice"


@pytest_twisted.ensureDeferred
async def test_replay_without_capabilities(doors: Doors) -> None:
    bob = await joined(doors.packet_port, "bob")
    bob.send_json({"message": "two\nlines"})
    await bob.next_chat()
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")
    replay = await alice.synced()
    assert [re.sub(r"\[\d\d:\d\d\]", "[HH:MM]", line) for line in replay] == [
        ":bob!bob@chatproto PRIVMSG #chat :[HH:MM] two",
        ":bob!bob@chatproto PRIVMSG #chat :[HH:MM] lines",
    ]


@pytest_twisted.ensureDeferred
async def test_three_doors_one_room(doors: Doors) -> None:
    bob = await joined(doors.packet_port, "bob")
    carol = await connect_ws(doors.websocket_port)
    assert await carol.choose("carol") == "READY"
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")

    alice.send("PRIVMSG #chat :hello from IRC", "PRIVMSG #chat :\x01ACTION waves\x01")
    for other in (bob, carol):
        assert (await other.next_chat())["message"] == "hello from IRC"
        assert (await other.next_chat())["message"] == "* alice waves"
    bob.send_json({"message": "hello from a terminal"})
    carol.send_json({"message": "hello from a browser"})
    lines = await alice.until(lambda line: "browser" in line)
    assert lines[-2:] == [
        ":bob!bob@chatproto PRIVMSG #chat :hello from a terminal",
        ":carol!carol@chatproto PRIVMSG #chat :hello from a browser",
    ]

    alice.send("PRIVMSG Carol :just you", "PRIVMSG BOB :and you")
    to_carol = await next_private(carol)
    assert (to_carol["nickname"], to_carol["to"], to_carol["message"]) == (
        "alice",
        "carol",
        "just you",
    )
    to_bob = await next_private(bob)
    assert (to_bob["nickname"], to_bob["to"]) == ("alice", "bob")
    carol.send_json({"message": "back to you", "to": "alice"})
    bob.send_json({"message": "me too", "to": "alice"})
    assert await alice.until(lambda line: "me too" in line) == [
        ":carol!carol@chatproto PRIVMSG alice :back to you",
        ":bob!bob@chatproto PRIVMSG alice :me too",
    ]
    assert await alice.synced() == []  # no copies of its own: no echo-message

    alice.send("QUIT :see you")
    assert await alice.next() == "ERROR :Closing link (Quit: see you)"
    await alice.closed()
    leave = await bob.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("alice", "bye")


@pytest_twisted.ensureDeferred
async def test_nicknames_collide_across_doors(doors: Doors) -> None:
    carol = await connect_ws(doors.websocket_port)
    assert await carol.choose("carol") == "READY"
    alice = await connect_irc(doors.irc_port)
    alice.send("NICK CAROL", "USER a 0 * :a")
    assert await alice.next() == ":irc.test 433 * CAROL :Nickname is already in use"
    alice.send("NICK alice")
    await alice.until(lambda line: " 366 " in line)
    bob = await connect(doors.packet_port)
    assert [await bob.next(), await bob.next()] == ["HELLO", "NICK"]
    bob.send("Alice")
    assert await bob.next() == "RETRY"
    other = await connect_ws(doors.websocket_port)
    assert await other.choose("ALICE") == "RETRY"


@pytest_twisted.ensureDeferred
async def test_long_messages_are_split(doors: Doors) -> None:
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")
    bob = await joined(doors.packet_port, "bob")
    text = "ünïcødé " * 300
    bob.send_json({"message": "short\n" + text})
    lines = await alice.synced()
    prefix = ":bob!bob@chatproto PRIVMSG #chat :"
    assert lines[0] == ":bob!bob@chatproto JOIN #chat"
    assert lines[1] == prefix + "short"
    assert len(lines) > 4 and all(len(line.encode()) <= 510 for line in lines)
    assert "".join(line.removeprefix(prefix) for line in lines[2:]) == text


@pytest_twisted.ensureDeferred
async def test_bad_input_gets_replies_and_loses_nothing(doors: Doors) -> None:
    bob = await joined(doors.packet_port, "bob")
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")
    alice.send(b"PRIVMSG #chat :" + b"x" * 9000, b"PRIVMSG #chat :\xff\xfe", b"\x01\x02 ::")
    alice.transport.write(b"PRIVMSG #chat :spl")  # type: ignore[union-attr]
    alice.transport.write(b"it\r\n")  # type: ignore[union-attr]
    assert await alice.synced() == [
        ":irc.test 417 alice :Input line was too long",
        ":irc.test FAIL PRIVMSG INVALID_UTF8 :Message rejected, your IRC software MUST use UTF-8",
        ":irc.test 421 alice * :Unknown command",
    ]
    assert (await bob.next_chat())["message"] == "split"


@pytest_twisted.ensureDeferred
async def test_flood_is_cut_off(doors: Doors) -> None:
    bob = await joined(doors.packet_port, "bob")
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")
    alice.send(*[f"PRIVMSG #chat :{n}" for n in range(200)])
    lines = await alice.until(lambda line: line.startswith("ERROR"))
    assert lines[-1] == "ERROR :Closing link (Excess flood)"
    refusals = [line for line in lines if "refused (rate-limited)" in line]
    assert len(refusals) == 50  # --flood-errors in a row
    await alice.closed()
    leave = await bob.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("alice", "flood")


@pytest_twisted.ensureDeferred
async def test_silent_client_is_pinged_then_dropped(doors: Doors) -> None:
    quick = IrcFactory(doors.room, SERVER, ping_interval=0.2, ping_timeout=0.2)
    port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(quick)
    try:
        bob = await joined(doors.packet_port, "bob")
        alice = await connect_irc(port.getHost().port)
        await alice.register("alice")
        assert await alice.next() == ":irc.test PING irc.test"
        alice.send("PONG :irc.test")
        assert await alice.next() == ":irc.test PING irc.test"  # answered: pinged again later
        assert await alice.next() == "ERROR :Closing link (Ping timeout)"
        await alice.closed()
        leave = await bob.until_event("leave")
        assert (leave["user"], leave["reason"]) == ("alice", "disconnected")
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_irc_over_tls(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    room = Hall(RoomConfig(handshake_timeout=0.3), MemoryHistory(), reactor)
    endpoint = f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    port = await serverFromString(reactor, endpoint).listen(IrcFactory(room, SERVER))
    try:
        tls = ssl.optionsForClientTLS(
            "localhost", trustRoot=ssl.Certificate.loadPEM(cert.read_bytes())
        )
        tcp = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        alice = await connectProtocol(wrapClientTLS(tls, tcp), RawIrcClient())
        await alice.register("alice")
        alice.send("PRIVMSG alice :over TLS")
        assert await alice.next() == ":alice!alice@chatproto PRIVMSG alice :over TLS"
        # A client that never starts TLS cannot hold its place past the handshake timeout.
        stuck = await connect_irc(port.getHost().port)
        await stuck.closed()
    finally:
        room.close_all()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_three_doors_in_another_room(doors: Doors) -> None:
    """An IRC client, a word-packet client and a browser chat in #rust; the default
    room's traffic stays out of it, and theirs out of the default room."""
    bob = await joined(doors.packet_port, "bob")
    carol = await connect_ws(doors.websocket_port)
    assert await carol.choose("carol") == "READY"
    dave = await joined(doors.packet_port, "dave")  # stays in #chat only
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")
    for client in (bob, carol):
        client.send_json({"command": "join", "room": "#rust"})
        await client.until_event("welcome")
    alice.send("JOIN #rust")
    burst = await alice.until(lambda line: " 366 alice #rust " in line)
    assert burst[-2:] == [
        ":irc.test 353 alice = #rust :@bob carol alice",
        ":irc.test 366 alice #rust :End of /NAMES list",
    ]

    alice.send("PRIVMSG #rust :from IRC")
    for other in (bob, carol):
        said = await other.next_chat()
        assert (said["message"], said["room"]) == ("from IRC", "#rust")
    bob.send_json({"message": "from a terminal", "room": "#rust"})
    carol.send_json({"message": "from a browser", "room": "#rust"})
    dave.send_json({"message": "in the default room"})
    lines = await alice.until(lambda line: "default room" in line)
    assert [line for line in lines if "PRIVMSG" in line] == [
        ":bob!bob@chatproto PRIVMSG #rust :from a terminal",
        ":carol!carol@chatproto PRIVMSG #rust :from a browser",
        ":dave!dave@chatproto PRIVMSG #chat :in the default room",
    ]
    assert (await dave.next_chat())["message"] == "in the default room"  # its receipt only
    dave.send_json({"command": "who"})
    assert (await dave.until_event("who"))["users"] == ["bob", "carol", "dave", "alice"]

    alice.send("PART #rust :bye rust")
    leave = await bob.until_event("leave")
    assert (leave["user"], leave["room"], leave["reason"], leave["text"]) == (
        "alice",
        "#rust",
        "part",
        "bye rust",
    )
    assert await alice.until(lambda line: " PART " in line) == [
        ":alice!alice@chatproto PART #rust :bye rust"
    ]


@pytest_twisted.ensureDeferred
async def test_chat_goes_straight_to_the_sockets_and_a_shared_quit_is_shown_once(
    doors: Doors,
) -> None:
    """Chat lines reach every IRC client as they are (written straight to the sockets);
    a QUIT from someone who shared two channels with a client reaches it once."""
    alice = await connect_irc(doors.irc_port)
    await alice.register("alice")
    carol = await connect_irc(doors.irc_port)
    await carol.register("carol")
    for client, nickname in ((alice, "alice"), (carol, "carol")):
        client.send("JOIN #rust")
        await client.until(lambda line, me=nickname: f" 366 {me} #rust " in line)
    await alice.until(lambda line: line == ":carol!carol@chatproto JOIN #rust")

    carol.send("PRIVMSG #rust :in rust", "PRIVMSG #chat :in chat")
    assert await alice.until(lambda line: line.endswith(" :in chat")) == [
        ":carol!carol@chatproto PRIVMSG #rust :in rust",
        ":carol!carol@chatproto PRIVMSG #chat :in chat",
    ]
    carol.send("QUIT :gone")
    await carol.closed()
    bob = await joined(doors.packet_port, "bob")
    bob.send_json({"message": "after"})
    assert await alice.until(lambda line: line.endswith(" :after")) == [
        ":carol!carol@chatproto QUIT :gone",
        ":bob!bob@chatproto JOIN #chat",
        ":bob!bob@chatproto PRIVMSG #chat :after",
    ]
