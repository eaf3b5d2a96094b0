"""Accounts in the client library (chatproto.client.api) against the real server on
loopback, with a real SQLite file and the real hasher."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed

from chatproto.client.api import ChatClient, ChatError, NicknameRefused
from tests.conftest import RunningServer
from tests.loopback import DEADLINE

PASSWORD = "correct horse battery"


def endpoint(server: RunningServer) -> str:
    return f"tcp:host=127.0.0.1:port={server.port}"


async def registered_and_gone(server: RunningServer, nickname: str) -> None:
    """Register C{nickname} with PASSWORD, then leave."""
    owner = ChatClient(nickname)
    await owner.connect(endpoint(server))
    await owner.register(PASSWORD)
    assert owner.account == nickname
    await owner.leave()


class Asker(ChatClient):
    """Answers the server's `account-required` with a password, once."""

    ASKS_PASSWORD = True

    def __init__(self, nickname: str, password: str) -> None:
        super().__init__(nickname)
        self.asked: list[str] = []
        self._answer = password

    def choose_password(self, nickname: str, problem: str) -> Deferred[str]:
        self.asked.append(problem)
        return succeed(self._answer)


@pytest_twisted.ensureDeferred
async def test_a_client_logs_in_with_its_password(account_server: RunningServer) -> None:
    await registered_and_gone(account_server, "alice")
    alice = ChatClient("alice", password=PASSWORD)
    welcome = await alice.connect(endpoint(account_server))
    assert (welcome.account, alice.account) == ("alice", "alice")
    other = ChatClient("alice2", account="alice", password=PASSWORD)
    assert (await other.connect(endpoint(account_server))).account == "alice"
    await alice.leave()
    await other.leave()


@pytest_twisted.ensureDeferred
async def test_a_client_is_asked_for_the_password(account_server: RunningServer) -> None:
    await registered_and_gone(account_server, "alice")
    asker = Asker("alice", PASSWORD)
    welcome = await asker.connect(endpoint(account_server))
    assert welcome.account == "alice"
    assert asker.asked == ["alice is registered: log in with its password (account-required)"]
    await asker.leave()


@pytest_twisted.ensureDeferred
async def test_a_wrong_password_stops_a_client_that_cannot_ask(
    account_server: RunningServer,
) -> None:
    await registered_and_gone(account_server, "alice")
    guesser = ChatClient("alice", password="not the password")
    with pytest.raises(NicknameRefused, match="auth-failed"):
        await guesser.connect(endpoint(account_server)).addTimeout(DEADLINE, reactor)


@pytest_twisted.ensureDeferred
async def test_account_commands_answer_or_fail_with_chat_errors(
    account_server: RunningServer,
) -> None:
    alice = ChatClient("alice")
    await alice.connect(endpoint(account_server))
    with pytest.raises(ChatError) as weak:
        await alice.register("short")
    assert weak.value.code == "weak-password"
    await alice.register(PASSWORD)
    with pytest.raises(ChatError) as wrong:
        await alice.change_password("wrong password", "another password")
    assert wrong.value.code == "auth-failed"
    await alice.change_password(PASSWORD, "another password")
    await alice.unregister("another password")
    assert alice.account is None
    await alice.leave()


@pytest_twisted.ensureDeferred
async def test_a_registration_refused_for_the_hour_fails_at_once(
    account_server: RunningServer,
) -> None:
    await registered_and_gone(account_server, "alice")
    await registered_and_gone(account_server, "bob")  # the fixture allows 2 an hour
    carol = ChatClient("carol")
    await carol.connect(endpoint(account_server))
    with pytest.raises(ChatError) as limited:
        await carol.register(PASSWORD).addTimeout(DEADLINE, reactor)
    assert limited.value.code == "rate-limited"
    assert limited.value.retry_after is not None and limited.value.retry_after > 60
    await carol.leave()
