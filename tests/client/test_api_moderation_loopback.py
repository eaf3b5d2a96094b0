"""The client API's moderation against the real server on loopback (docs/protocol.md
section 14): the creator of a room operates it, and every command is answered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest_twisted
from twisted.internet.defer import DeferredQueue

from chatproto.client.api import (
    Announcement,
    ChatClient,
    ChatError,
    ChatMessage,
    ModerationChange,
    NicknameRefused,
    Redaction,
    Removal,
)
from chatproto.client.testing import start_server
from chatproto.core.config import RoomConfig
from tests.client.test_api_loopback import within_deadline

ROOM = "#rust"


class Watcher(ChatClient):
    """Queues what moderation shows it: changes, removals, redactions, messages."""

    def __init__(self, nickname: str, **options: Any) -> None:
        super().__init__(nickname, **options)
        self.changes: DeferredQueue[ModerationChange] = DeferredQueue()
        self.removals: DeferredQueue[Removal] = DeferredQueue()
        self.redactions: DeferredQueue[Redaction] = DeferredQueue()
        self.messages: DeferredQueue[ChatMessage] = DeferredQueue()

    def moderation_changed(self, change: ModerationChange) -> None:
        self.changes.put(change)

    def user_removed(self, removal: Removal) -> None:
        self.removals.put(removal)

    def message_redacted(self, redaction: Redaction) -> None:
        self.redactions.put(redaction)

    def message_received(self, message: ChatMessage) -> None:
        if not message.history:
            self.messages.put(message)


async def refused(waiting: Any) -> ChatError:
    """The L{ChatError} C{waiting} fails with."""
    try:
        await within_deadline(waiting)
    except ChatError as error:
        return error
    raise AssertionError("the request was not refused")


@asynccontextmanager
async def alice_and_bob() -> AsyncIterator[tuple[Watcher, Watcher]]:
    """alice and bob, connected to a server of their own; they leave and it stops after."""
    server = await start_server()
    alice, bob = Watcher("alice"), Watcher("bob")
    try:
        await alice.connect(server.endpoint)
        await bob.connect(server.endpoint)
        yield alice, bob
    finally:
        await alice.leave()
        await bob.leave()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_the_creator_of_a_room_kicks_mutes_bans_and_redacts() -> None:
    async with alice_and_bob() as (alice, bob):
        created = await within_deadline(alice.join(ROOM))
        assert created.users.operators == ["alice"]
        joined = await within_deadline(bob.join(ROOM))
        assert joined.users.operators == ["alice"]
        assert bob.operators(ROOM) == ["alice"]

        # A member who does not operate the room is refused.
        assert (await refused(bob.kick("alice", room=ROOM))).code == "not-permitted"

        await within_deadline(alice.mute("bob", room=ROOM, seconds=60))
        change = await within_deadline(bob.changes.get())
        assert (change.action, change.by, change.user, change.room) == (
            "mute",
            "alice",
            "bob",
            ROOM,
        )
        muted = await refused(bob.send("let me speak", room=ROOM))
        assert muted.code == "muted"
        assert muted.retry_after is not None and 0 < muted.retry_after <= 60
        await within_deadline(alice.unmute("bob", room=ROOM))
        said = await within_deadline(bob.send("thanks", room=ROOM))
        assert (await within_deadline(alice.messages.get())).id == said.id

        await within_deadline(alice.op("bob", room=ROOM))
        assert alice.operators(ROOM) == ["alice", "bob"]
        await within_deadline(alice.deop("bob", room=ROOM))
        actions = [(await within_deadline(bob.changes.get())).action for _ in range(3)]
        assert actions == ["unmute", "op", "deop"]
        assert bob.operators(ROOM) == ["alice"]

        await within_deadline(alice.kick("bob", room=ROOM, comment="cool down"))
        kicked = await within_deadline(bob.removals.get())
        assert (kicked.user, kicked.reason, kicked.by, kicked.comment) == (
            "bob",
            "kicked",
            "alice",
            "cool down",
        )
        assert bob.rooms_joined == [None]
        await within_deadline(bob.join(ROOM))  # a kick is not a ban

        await within_deadline(alice.ban("bob", room=ROOM, comment="enough"))
        banned = await within_deadline(bob.removals.get())
        assert (banned.reason, banned.by, banned.comment) == ("banned", "alice", "enough")
        assert (await refused(bob.join(ROOM))).code == "banned"
        bans = await within_deadline(alice.bans(room=ROOM))
        assert [(ban.mask, ban.by, ban.comment, ban.until) for ban in bans] == [
            ("bob", "alice", "enough", None)
        ]
        await within_deadline(alice.unban("bob", room=ROOM))
        assert await within_deadline(alice.bans(room=ROOM)) == []
        await within_deadline(bob.join(ROOM))


@pytest_twisted.ensureDeferred
async def test_a_member_redacts_its_own_message_and_it_is_gone() -> None:
    async with alice_and_bob() as (alice, bob):
        await within_deadline(alice.join(ROOM))
        await within_deadline(bob.join(ROOM))
        said = await within_deadline(bob.send("oops", room=ROOM))
        assert (await refused(bob.redact((said.id or 0) + 1, room=ROOM))).code == "malformed"
        await within_deadline(bob.redact(said.id or 0, room=ROOM, comment="typo"))
        redaction = await within_deadline(alice.redactions.get())
        assert (redaction.room, redaction.id, redaction.by, redaction.comment) == (
            ROOM,
            said.id,
            "bob",
            "typo",
        )
        history = await within_deadline(alice.history(ROOM))
        assert "oops" not in [message.text for message in history]


class Listener(Watcher):
    """Queues announcements too."""

    def __init__(self, nickname: str, **options: Any) -> None:
        super().__init__(nickname, **options)
        self.announcements: DeferredQueue[Announcement] = DeferredQueue()

    def announcement_received(self, announcement: Announcement) -> None:
        self.announcements.put(announcement)


@pytest_twisted.ensureDeferred
async def test_a_server_operator_announces_and_bans_from_the_whole_server() -> None:
    server = await start_server(config=RoomConfig(operators=frozenset({"root"})), accounts=True)
    root, bob = Listener("root"), Listener("bob", reconnect=False)
    try:
        await root.connect(server.endpoint)
        await within_deadline(root.register("correct horse battery"))
        await bob.connect(server.endpoint)
        assert (await refused(bob.announce("me too"))).code == "not-permitted"
        await within_deadline(root.announce("restart at noon"))
        heard = await within_deadline(bob.announcements.get())
        assert (heard.text, heard.by) == ("restart at noon", "root")

        await within_deadline(root.ban("bob", server=True, comment="spam"))
        banned = await within_deadline(bob.removals.get())
        assert (banned.reason, banned.by, banned.comment) == ("banned", "root", "spam")
        await within_deadline(bob.when_stopped().addErrback(lambda _: None))
        bans = await within_deadline(root.bans(server=True))
        assert [(ban.mask, ban.comment) for ban in bans] == [("bob", "spam")]
        again = ChatClient("bob")
        try:
            await within_deadline(again.connect(server.endpoint))
        except NicknameRefused:
            pass  # a bare nickname is refused with RETRY alone: taken, as it seems
        else:
            raise AssertionError("a banned nickname got in")
    finally:
        await root.leave()
        await bob.leave()
        await server.stop()
