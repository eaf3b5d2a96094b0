"""Halls with moderation on fakes: members as FakeClients, server operators logged in."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from zope.interface import implementer

from chatproto.core.hall import Hall
from chatproto.seams.history import IRedactable
from chatproto.seams.moderation import MemoryModerationStore
from tests.fakes import FakeClient, MemoryHistory, MemoryRoomStores, make_room


def moderated_hall(
    store: MemoryModerationStore | None = None,
    room_stores: MemoryRoomStores | None = None,
    history: MemoryHistory | None = None,
) -> Hall:
    """A hall on a fake clock whose server operator is the account `root`, keeping its
    moderation in C{store} (read from it first, as at start-up)."""
    hall, _, _ = make_room(
        history=history,
        room_stores=room_stores or MemoryRoomStores(),
        operators=frozenset({"root"}),
        rate=0,
    )
    if store is not None:
        hall.moderation.store = store
        hall.moderation.load(store.snapshot)
    return hall


def member(
    hall: Hall, nickname: str, port: int, account: str | None = None, host: str = "127.0.0.1"
) -> FakeClient:
    """A joined client from C{host}, logged in to C{account} if given (as a login with
    the right password leaves it: the login itself is tested in tests/accounts)."""
    client = FakeClient(hall, host=host, port=port)
    client.join(nickname)
    client.protocol.session.account = account
    client.received()
    return client


def clock_of(client: FakeClient) -> Clock:
    """The fake clock of C{client}'s hall."""
    clock = client.protocol.session.hall.reactor
    assert isinstance(clock, Clock)
    return clock


def command(client: FakeClient, name: str, **fields: Any) -> list[Any]:
    """Send a command; what the client received after it."""
    client.send_json({"command": name, **fields})
    return client.received()


def events(frames: list[Any], event: str) -> list[dict[str, Any]]:
    """The notices of C{event} among C{frames}."""
    return [f for f in frames if isinstance(f, dict) and f.get("event") == event]


def error_code(frames: list[Any]) -> str | None:
    """The code of the last error among C{frames}, if any."""
    errors = events(frames, "error")
    return errors[-1]["code"] if errors else None


@implementer(IRedactable)
class RedactableHistory(MemoryHistory):
    """A MemoryHistory that can take a message back; with C{answers} a list, it answers
    later: each redaction's Deferred is appended there, for the test to fire."""

    answers: list[Deferred[bool]] | None = None

    def redact(self, message_id: int) -> Deferred[bool]:
        kept = [(i, record) for i, record in self.records if i != message_id]
        found = len(kept) != len(self.records)
        self.records.clear()
        self.records.extend(kept)
        if self.answers is None:
            return succeed(found)
        answer: Deferred[bool] = Deferred()
        self.answers.append(answer)
        return answer
