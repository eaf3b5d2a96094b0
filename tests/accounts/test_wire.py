"""Accounts on the packet doors (docs/protocol.md section 13), over real loopback
sockets: word-packet TCP and WebSocket, a real SQLite file and the real hasher."""

from __future__ import annotations

from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString

from chatproto.doors.irc.protocol import IrcFactory
from tests.conftest import RunningServer
from tests.irc.clients import connect_irc
from tests.irc.fakes import SERVER
from tests.loopback import Conversation, RawClient, connect
from tests.websocket_client import connect_ws

PASSWORD = "correct horse battery"


async def joined(port: int, nickname: str) -> RawClient:
    client = await connect(port)
    await client.join(nickname)
    return client


async def refused(client: Conversation, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a JSON nickname frame that is refused: the error notice before RETRY."""
    client.send_json(frame)
    error = await client.next()
    assert error["event"] == "error", error
    assert await client.next() == "RETRY"
    return error


async def logged_in(client: Conversation, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a JSON nickname frame that is accepted; the welcome."""
    client.send_json(frame)
    assert await client.next() == "READY"
    return await client.until_event("welcome")


async def registered(port: int, nickname: str) -> RawClient:
    """A client holding C{nickname}, which it has registered with PASSWORD."""
    client = await joined(port, nickname)
    client.send_json({"command": "register", "password": PASSWORD})
    notice = await client.until_event("registered")
    assert notice["account"] == nickname
    return client


async def greeted(client: Conversation) -> Conversation:
    assert [await client.next(), await client.next()] == ["HELLO", "NICK"]
    return client


@pytest_twisted.ensureDeferred
async def test_a_registered_nickname_needs_its_password(account_server: RunningServer) -> None:
    port = account_server.port
    alice = await registered(port, "alice")
    alice.send("BYE")
    await alice.closed()
    # A bare nickname's sender hears only RETRY; the JSON form hears why first.
    other = await greeted(await connect(port))
    other.send("alice")
    assert await other.next() == "RETRY"
    error = await refused(other, {"nickname": "alice"})
    assert error["code"] == "account-required"
    error = await refused(other, {"nickname": "alice", "password": "wrong password"})
    assert error["code"] == "auth-failed"
    assert "retry_after" not in error
    # A lookalike belongs to the account too.
    error = await refused(other, {"nickname": "\u0430lice"})
    assert error["code"] == "account-required"
    welcome = await logged_in(other, {"nickname": "alice", "password": PASSWORD})
    assert welcome["account"] == "alice"


@pytest_twisted.ensureDeferred
async def test_others_see_that_a_member_is_logged_in(account_server: RunningServer) -> None:
    port = account_server.port
    alice = await registered(port, "alice")
    alice.send("BYE")
    await alice.closed()
    bob = await joined(port, "bob")
    await logged_in(await greeted(await connect(port)), {"nickname": "alice", "password": PASSWORD})
    join = await bob.until_event("join")
    assert (join["user"], join["account"]) == ("alice", True)
    carol = await joined(port, "carol")
    join = await bob.until_event("join")
    assert join["user"] == "carol" and "account" not in join
    carol.send("BYE")


@pytest_twisted.ensureDeferred
async def test_the_right_password_takes_the_place_of_the_same_account(
    account_server: RunningServer,
) -> None:
    port = account_server.port
    alice = await registered(port, "alice")
    bob = await joined(port, "bob")
    again = await greeted(await connect(port))
    welcome = await logged_in(again, {"nickname": "alice", "password": PASSWORD})
    assert welcome["account"] == "alice"
    await alice.closed()
    bob.send_json({"command": "who"})
    who = await bob.until_event("who")
    assert who["users"] == ["alice", "bob"]  # nobody left, nobody joined


@pytest_twisted.ensureDeferred
async def test_another_nickname_logged_in_to_an_account(account_server: RunningServer) -> None:
    port = account_server.port
    await registered(port, "alice")
    client = await greeted(await connect(port))
    error = await refused(client, {"nickname": "alice2", "password": PASSWORD})
    assert error["code"] == "auth-failed"  # alice2 is nobody's account
    frame = {"nickname": "alice2", "account": "alice", "password": PASSWORD}
    welcome = await logged_in(client, frame)
    assert welcome["account"] == "alice"


@pytest_twisted.ensureDeferred
async def test_guessing_is_throttled(account_server: RunningServer) -> None:
    port = account_server.port
    alice = await registered(port, "alice")
    alice.send("BYE")
    guesser = await greeted(await connect(port))
    for attempt in range(5):
        error = await refused(guesser, {"nickname": "alice", "password": f"guess {attempt}"})
        assert "retry_after" not in error
    error = await refused(guesser, {"nickname": "alice", "password": PASSWORD})
    assert error["code"] == "auth-failed"
    assert 0 < error["retry_after"] <= 60


@pytest_twisted.ensureDeferred
async def test_register_refusals(account_server: RunningServer) -> None:
    port = account_server.port
    alice = await joined(port, "alice")
    alice.send_json({"command": "register", "password": "short"})
    error = await alice.until_event("error")
    assert error["code"] == "weak-password"
    alice.send_json({"command": "register", "password": PASSWORD})
    await alice.until_event("registered")
    alice.send_json({"command": "register", "password": PASSWORD})
    error = await alice.until_event("error")
    assert error["code"] == "nickname-registered"
    # Two registrations per address per hour (the fixture's --register-per-hour 2).
    await registered(port, "bob")
    carol = await joined(port, "carol")
    carol.send_json({"command": "register", "password": PASSWORD})
    error = await carol.until_event("error")
    assert error["code"] == "rate-limited"
    assert 0 < error["retry_after"] <= 3600
    carol.send_json({"command": "register"})
    error = await carol.until_event("error")
    assert error["code"] == "malformed"


@pytest_twisted.ensureDeferred
async def test_change_the_password_then_unregister(account_server: RunningServer) -> None:
    port = account_server.port
    alice = await registered(port, "alice")
    alice.send_json({"command": "password", "old": "wrong password", "new": "new password"})
    assert (await alice.until_event("error"))["code"] == "auth-failed"
    alice.send_json({"command": "password", "old": PASSWORD, "new": "tiny"})
    assert (await alice.until_event("error"))["code"] == "weak-password"
    alice.send_json({"command": "password", "old": PASSWORD, "new": "new password"})
    assert (await alice.until_event("password-changed"))["account"] == "alice"
    alice.send_json({"command": "unregister", "password": PASSWORD})
    assert (await alice.until_event("error"))["code"] == "auth-failed"
    alice.send_json({"command": "unregister", "password": "new password"})
    assert (await alice.until_event("unregistered"))["account"] == "alice"
    alice.send("BYE")
    await alice.closed()
    # Anyone may take it now, without a password.
    await joined(port, "alice")


@pytest_twisted.ensureDeferred
async def test_log_in_over_websocket(account_server: RunningServer) -> None:
    alice = await registered(account_server.port, "alice")
    alice.send("BYE")
    await alice.closed()
    client = await greeted(await connect_ws(account_server.ws_port))
    error = await refused(client, {"nickname": "alice"})
    assert error["code"] == "account-required"
    welcome = await logged_in(client, {"nickname": "alice", "password": PASSWORD})
    assert welcome["account"] == "alice"
    client.send_json({"command": "password", "old": PASSWORD, "new": "new password"})
    assert (await client.until_event("password-changed"))["account"] == "alice"


@pytest_twisted.ensureDeferred
async def test_an_irc_client_cannot_take_a_registered_nickname(
    account_server: RunningServer,
) -> None:
    alice = await registered(account_server.port, "alice")
    alice.send("BYE")
    await alice.closed()
    endpoint = serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    irc = await endpoint.listen(IrcFactory(account_server.room, SERVER))
    try:
        client = await connect_irc(irc.getHost().port)
        client.send("NICK \u0430lice", "USER a 0 * :a")
        assert await client.next() == (
            ":irc.test 433 * \u0430lice :Nickname is registered; use SASL, PASS or another nickname"
        )
        client.send("NICK bob")
        await client.until(lambda line: " 366 " in line)
    finally:
        await irc.stopListening()
