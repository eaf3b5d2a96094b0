"""An attacker's bytes against the IRC door over real loopback sockets (issue 22): every
line whose reply echoes a parameter gets its reply, a QUIT closes whatever its text, the
connection's place is freed, and nothing is logged as an error."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_twisted

from tests.client.processes import eventually
from tests.irc.clients import RawIrcClient, connect_irc
from tests.irc.conftest import Doors
from tests.logs import tracebacks
from tests.loopback import connect

#: What a reply shows for a character no IRC line may hold.
R = "\ufffd"


@dataclass(frozen=True)
class Attack:
    """One line an attacker sends, and a line the server must answer it with.

    C{registered}: sent after registering as C{mallory}; C{closes}: the answer ends the
    connection (QUIT).
    """

    line: bytes
    reply: str
    registered: bool = True
    closes: bool = False


#: Each form: NUL, a bare CR, a space or a leading ':' in a parameter the reply echoes,
#: in every command whose reply echoes one.
ATTACKS = [
    Attack(b"PING :a\x00b", f":irc.test PONG irc.test a{R}b"),
    Attack(b"PING a\rb", f":irc.test PONG irc.test a{R}b"),
    Attack(b"PING :\x00", f":irc.test PONG irc.test {R}", registered=False),
    Attack(b"PRIVMSG nobody\x00 :hi", f":irc.test 401 mallory nobody{R} :No such nick/channel"),
    Attack(b"PRIVMSG #a\rb :hi", f":irc.test 403 mallory #a{R}b :No such channel"),
    Attack(b"WHOIS a\x00b", f":irc.test 401 mallory a{R}b :No such nick/channel"),
    Attack(b"WHOIS :a b", ":irc.test 401 mallory * :No such nick/channel"),
    Attack(b"WHOIS irc.test ::a", ":irc.test 318 mallory * :End of /WHOIS list"),
    Attack(b"WHO a\rb", f":irc.test 315 mallory a{R}b :End of WHO list"),
    Attack(b"WHO :a b", ":irc.test 315 mallory * :End of WHO list"),
    Attack(b"NAMES #a\x00", f":irc.test 366 mallory #a{R} :End of /NAMES list"),
    Attack(b"NAMES :#a b", ":irc.test 366 mallory * :End of /NAMES list"),
    Attack(b"NAMES ::a", ":irc.test 366 mallory * :End of /NAMES list"),
    Attack(b"MODE #a\x00", f":irc.test 403 mallory #a{R} :No such channel"),
    Attack(b"MODE :#a b", ":irc.test 403 mallory * :No such channel"),
    Attack(b"JOIN #a\rb", f":irc.test 403 mallory #a{R}b :No such channel"),
    Attack(b"JOIN :#a b", ":irc.test 403 mallory * :No such channel"),
    Attack(b"PART #chat :a\x00b", f":mallory!mallory@chatproto PART #chat :a{R}b"),
    Attack(b"PART #a\x00", f":irc.test 403 mallory #a{R} :No such channel"),
    Attack(b"PART ::a", ":irc.test 403 mallory * :No such channel"),
    Attack(b"TOPIC #a\x00", f":irc.test 403 mallory #a{R} :No such channel"),
    Attack(b"TOPIC :#a b", ":irc.test 403 mallory * :No such channel"),
    Attack(b"CAP a\x00b", f":irc.test 410 mallory a{R}b :Invalid CAP command"),
    Attack(b"CAP :a b", ":irc.test 410 mallory * :Invalid CAP command"),
    Attack(b"CAP :\rb", f":irc.test 410 * {R}b :Invalid CAP command", registered=False),
    Attack(b"CAP REQ :server-time\x00", f":irc.test CAP * NAK :server-time{R}", registered=False),
    Attack(b"NICK a\x00b", f":irc.test 432 * a{R}b :Erroneous nickname: ", registered=False),
    Attack(b"NICK :a b", ":irc.test 432 * * :Erroneous nickname: ", registered=False),
    Attack(b"NICK ::a", ":irc.test 432 * * :Erroneous nickname: ", registered=False),
    Attack(b"FOO\x00 x", ":irc.test 421 mallory * :Unknown command"),
    Attack(b"QUIT :bye\x00", f"ERROR :Closing link (Quit: bye{R})", closes=True),
    Attack(b"QUIT :bye\rnow", f"ERROR :Closing link (Quit: bye{R}now)", closes=True),
    Attack(b"QUIT a\x00", f"ERROR :Closing link (Quit: a{R})", registered=False, closes=True),
]  # fmt: skip


async def registered(port: int) -> RawIrcClient:
    """An IRC client registered as C{mallory}, past the replay."""
    client = await connect_irc(port)
    await client.register("mallory")
    await client.synced()
    return client


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: repr(attack.line)[2:-1])
@pytest_twisted.ensureDeferred
async def test_every_echoed_parameter_is_answered(
    doors: Doors, log: list[dict[str, Any]], attack: Attack
) -> None:
    room = doors.room
    before = room.connection_count()
    if attack.registered:
        client = await registered(doors.irc_port)
    else:
        client = await connect_irc(doors.irc_port)
    client.send(attack.line)
    if attack.closes:
        lines = await client.until(lambda line: line.startswith("ERROR "))
        await client.closed()
        await eventually(lambda: room.connection_count() == before, "the place freed")
        assert room.is_free("mallory")
    else:
        lines = await client.synced()
        assert room.connection_count() == before + 1  # still open, and answering
    assert any(line.startswith(attack.reply) for line in lines), lines
    gc.collect()
    assert tracebacks(log) == []


@pytest_twisted.ensureDeferred
async def test_a_quit_with_nul_leaves_no_zombie(doors: Doors, log: list[dict[str, Any]]) -> None:
    """Issue 22's first finding, as an attacker sends it, watched from another door."""
    bob = await connect(doors.packet_port)
    await bob.join("bob")
    before = doors.room.connection_count()
    mallory = await connect_irc(doors.irc_port)
    mallory.send("NICK z", "USER u 0 * :r")
    await mallory.until(lambda line: " 366 " in line)
    assert (await bob.until_event("join"))["user"] == "z"

    mallory.send(b"QUIT :bye\x00")
    assert (await mallory.until(lambda line: line.startswith("ERROR ")))[-1] == (
        f"ERROR :Closing link (Quit: bye{R})"
    )
    await mallory.closed()
    leave = await bob.until_event("leave")
    assert (leave["user"], leave["reason"]) == ("z", "bye")
    await eventually(lambda: doors.room.connection_count() == before, "the place freed")
    gc.collect()
    assert tracebacks(log) == []


@pytest_twisted.ensureDeferred
async def test_a_list_of_targets_is_bounded_and_each_answered_once(
    doors: Doors, log: list[dict[str, Any]]
) -> None:
    """NAMES #chat,#chat,... (80 in 487 bytes) once answered 80 names lists."""
    bob = await connect(doors.packet_port)
    await bob.join("bob")
    mallory = await registered(doors.irc_port)
    eighty = ",".join(["#chat"] * 80)
    mallory.send(f"NAMES {eighty}", f"WHOIS bob,{eighty}")
    assert await mallory.synced() == [
        f":irc.test 407 mallory {eighty} :Too many targets for NAMES (at most 4): nothing was done",
        f":irc.test 407 mallory bob,{eighty}"
        " :Too many targets for WHOIS (at most 1): nothing was done",
    ]
    mallory.send("NAMES #chat,#CHAT,#chat,#other", "PRIVMSG bob,BOB,bob :once")
    assert await mallory.synced() == [
        ":irc.test 353 mallory = #chat :bob mallory",
        ":irc.test 366 mallory #chat :End of /NAMES list",
        ":irc.test 366 mallory #other :End of /NAMES list",
    ]
    private = await bob.next_chat()
    assert (private["nickname"], private["message"]) == ("mallory", "once")
    bob.send_json({"message": "after"})
    assert (await bob.next_chat())["message"] == "after"  # the private message came once
    gc.collect()
    assert tracebacks(log) == []
