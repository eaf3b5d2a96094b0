"""Accounts on the IRC door (docs/protocol.md section 13, docs/irc.md), over real loopback
sockets: SASL PLAIN, PASS, NickServ, REGISTER, and the account capabilities, with a real
SQLite file and the real hasher behind the one portal."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import pytest_twisted

from chatproto.accounts.throttle import FAILURES_PER_ACCOUNT
from chatproto.doors.irc.protocol import IrcFactory
from tests.accounts.test_wire import PASSWORD, greeted, logged_in
from tests.conftest import RunningServer
from tests.irc.clients import RawIrcClient, connect_irc
from tests.irc.conftest import listen
from tests.irc.fakes import SERVER
from tests.loopback import connect

REGISTERED = "Nickname is registered; use SASL, PASS or another nickname"
#: A password NickServ can be given: its commands are words.
ONE_WORD = "correct-horse-battery"


@pytest.fixture
def irc_port(account_server: RunningServer) -> Iterator[int]:
    """The account server's room behind an IRC door too."""
    port = listen(IrcFactory(account_server.room, SERVER))
    try:
        yield port.getHost().port
    finally:
        pytest_twisted.blockon(port.stopListening())


async def with_account(server: RunningServer, name: str) -> None:
    """Register C{name} with PASSWORD (as the operator would: no address counted)."""
    accounts = server.room.accounts
    assert accounts is not None
    await accounts.register(name, PASSWORD, None)


def plain(account: str, password: str = PASSWORD) -> str:
    """AUTHENTICATE's payload for SASL PLAIN."""
    return base64.b64encode(f"\0{account}\0{password}".encode()).decode()


async def sasl(client: RawIrcClient, account: str, password: str = PASSWORD) -> list[str]:
    """Negotiate sasl and authenticate; the lines answering the payload."""
    client.send("CAP LS 302", "CAP REQ :sasl")
    await client.until(lambda line: " ACK " in line)
    client.send("AUTHENTICATE PLAIN")
    assert await client.next() == ":irc.test AUTHENTICATE +"
    client.send(f"AUTHENTICATE {plain(account, password)}")
    first = await client.next()
    if " 900 " not in first:
        return [first]
    return [first, await client.next()]


@pytest_twisted.ensureDeferred
async def test_sasl_logs_in_to_a_registered_nickname(
    account_server: RunningServer, irc_port: int
) -> None:
    await with_account(account_server, "alice")
    alice = await connect_irc(irc_port)
    assert await sasl(alice, "alice") == [
        ":irc.test 900 * * alice :You are now logged in as alice",
        ":irc.test 903 * :SASL authentication successful",
    ]
    alice.send("NICK alice", "USER a 0 * :Alice A", "CAP END")
    await alice.until(lambda line: " 366 " in line)
    alice.send("WHOIS alice")
    lines = await alice.until(lambda line: " 318 " in line)
    assert ":irc.test 330 alice alice alice :is logged in as" in lines
    alice.send("AUTHENTICATE PLAIN")
    assert " 907 alice " in await alice.next()


@pytest_twisted.ensureDeferred
async def test_a_registered_nickname_without_a_login_gets_433(
    account_server: RunningServer, irc_port: int
) -> None:
    await with_account(account_server, "alice")
    mallory = await connect_irc(irc_port)
    assert " 904 * :SASL authentication failed" in (await sasl(mallory, "alice", "guess"))[0]
    mallory.send("NICK \u0430lice", "USER m 0 * :M", "CAP END")  # a lookalike
    assert await mallory.next() == f":irc.test 433 * \u0430lice :{REGISTERED}"
    mallory.send("NICK mallory")
    await mallory.until(lambda line: " 366 " in line)


@pytest_twisted.ensureDeferred
async def test_guessing_is_throttled_across_doors(
    account_server: RunningServer, irc_port: int
) -> None:
    await with_account(account_server, "alice")
    mallory = await connect_irc(irc_port)
    for _ in range(FAILURES_PER_ACCOUNT):
        assert " 904 " in (await sasl(mallory, "alice", "guess"))[0]
    (refusal,) = await sasl(mallory, "alice")  # the right password, too late
    assert "too many failed logins; try again in 60 s" in refusal
    other = await greeted(await connect(account_server.port))
    other.send_json({"nickname": "alice", "password": PASSWORD})
    error = await other.next()
    assert (error["code"], error["retry_after"]) == ("auth-failed", 60)


@pytest_twisted.ensureDeferred
async def test_pass_logs_in_to_the_nickname_and_a_wrong_one_gets_464(
    account_server: RunningServer, irc_port: int
) -> None:
    await with_account(account_server, "alice")
    client = await connect_irc(irc_port)
    client.send("PASS :wrong password", "NICK alice", "USER a 0 * :A")
    assert await client.next() == ":irc.test 464 * :Password incorrect"
    client.send(f"PASS :{PASSWORD}", "NICK alice")
    assert (
        await client.next()
        == ":irc.test 900 * alice!alice@chatproto alice :You are now logged in as alice"
    )
    assert " 001 alice " in await client.next()
    # A password for an unregistered nickname is no server password: it is ignored.
    bob = await connect_irc(irc_port)
    bob.send("PASS :anything", "NICK bob", "USER b 0 * :B")
    assert " 001 bob " in await bob.next()


@pytest_twisted.ensureDeferred
async def test_a_password_login_takes_over_the_accounts_own_connection(
    account_server: RunningServer, irc_port: int
) -> None:
    await with_account(account_server, "alice")
    first = await connect_irc(irc_port)
    await sasl(first, "alice")
    first.send("NICK alice", "USER a 0 * :A", "CAP END")
    await first.until(lambda line: " 366 " in line)
    second = await connect_irc(irc_port)
    second.send(f"PASS :{PASSWORD}", "NICK alice", "USER a 0 * :A")
    await second.until(lambda line: " 366 " in line)
    await first.closed()


@pytest_twisted.ensureDeferred
async def test_nickserv_registers_and_identifies(
    account_server: RunningServer, irc_port: int
) -> None:
    carol = await connect_irc(irc_port)
    await carol.register("carol", "account-notify", "account-tag", "extended-join")
    bob = await connect_irc(irc_port)
    await bob.register("bob")
    await carol.until(lambda line: "JOIN #chat * :bob" in line)  # extended-join, no account
    bob.send("PRIVMSG NickServ :REGISTER short")
    assert await bob.next() == (
        ":NickServ!NickServ@chatproto NOTICE bob :Weak password: a password has at least 8 bytes"
    )
    bob.send(f"PRIVMSG NickServ :REGISTER {ONE_WORD} bob@example.org")
    assert (
        await bob.next() == ":irc.test 900 bob bob!bob@chatproto bob :You are now logged in as bob"
    )
    assert "is registered" in await bob.next()
    assert await carol.next() == ":bob!bob@chatproto ACCOUNT bob"
    bob.send("PRIVMSG #chat :hi")
    said = await carol.until(lambda line: "PRIVMSG #chat :hi" in line)
    assert said[-1].startswith("@account=bob ")
    # IDENTIFY: another nickname logs in to the account.
    robert = await connect_irc(irc_port)
    await robert.register("robert")
    await robert.synced()  # the replay
    robert.send("NICKSERV IDENTIFY bob wrong-password")
    assert "Wrong password or no such account" in await robert.next()
    robert.send(f"PRIVMSG NickServ :IDENTIFY bob {ONE_WORD}")
    assert " 900 robert " in await robert.next()
    assert "You are now identified as bob" in await robert.next()
    assert (await carol.until(lambda line: "ACCOUNT" in line))[-1] == (
        ":robert!robert@chatproto ACCOUNT bob"
    )
    robert.send("PRIVMSG NickServ :HELP")
    assert "NickServ keeps the accounts" in await robert.next()


@pytest_twisted.ensureDeferred
async def test_nickserv_is_nobodys_nickname(account_server: RunningServer, irc_port: int) -> None:
    client = await connect_irc(irc_port)
    client.send("NICK NickServ", "USER n 0 * :N")
    assert " 432 * NickServ :Erroneous nickname: 'NickServ' is reserved" in await client.next()
    packet = await greeted(await connect(account_server.port))
    packet.send("nickserv")
    assert await packet.next() == "RETRY"


@pytest_twisted.ensureDeferred
async def test_register_of_account_registration(
    account_server: RunningServer, irc_port: int
) -> None:
    dave = await connect_irc(irc_port)
    await dave.register("dave")
    dave.send(f"REGISTER other * {ONE_WORD}")
    assert await dave.next() == (
        ":irc.test FAIL REGISTER ACCOUNT_NAME_MUST_BE_NICK other :The account is your nickname"
    )
    dave.send(f"REGISTER * * {ONE_WORD}")
    assert " 900 dave " in await dave.next()
    assert await dave.next() == (
        ":irc.test REGISTER SUCCESS dave :dave is registered; you are logged in to it"
    )


@pytest_twisted.ensureDeferred
async def test_members_of_other_doors_show_their_account(
    account_server: RunningServer, irc_port: int
) -> None:
    await with_account(account_server, "alice")
    carol = await connect_irc(irc_port)
    await carol.register("carol", "account-tag", "extended-join")
    alice = await greeted(await connect(account_server.port))
    await logged_in(alice, {"nickname": "alice", "password": PASSWORD})
    assert await carol.next() == "@account=alice :alice!alice@chatproto JOIN #chat alice :alice"
    alice.send_json({"message": "hello"})
    assert await carol.next() == "@account=alice :alice!alice@chatproto PRIVMSG #chat :hello"
    carol.send("WHOIS alice")
    assert ":irc.test 330 carol alice alice :is logged in as" in await carol.until(
        lambda line: " 318 " in line
    )
