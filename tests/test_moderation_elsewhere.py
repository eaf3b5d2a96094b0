"""Moderation another node changed, applied here at once (docs/protocol.md section 14
with --redis), on fakes: L{chatproto.core.moderation.elsewhere}."""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.seams.moderation import (
    SERVER_SCOPE,
    BanEntry,
    Flag,
    FlagEntry,
    MemoryModerationStore,
    MuteEntry,
)
from chatproto.seams.sharedmoderation import (
    ChangeReceiver,
    ISharedModeration,
    ModerationChange,
    ModerationEntry,
    Order,
)
from tests.fakes import FakeClient, MemoryHistory, MemoryRoomStores


@implementer(ISharedModeration)
class SharedStore(MemoryModerationStore):
    """A moderation store in memory that the test makes another node's changes arrive
    from (L{arrive})."""

    def __init__(self) -> None:
        super().__init__()
        self.watchers: list[ChangeReceiver] = []

    def watch(self, changed: ChangeReceiver) -> None:
        self.watchers.append(changed)

    def arrive(self, entry: ModerationEntry, kept: bool = True) -> None:
        self.told(ModerationChange(entry, kept))

    def told(self, change: ModerationChange | Order) -> None:
        for watcher in self.watchers:
            watcher(change)


def of_room(frames: list[Any], event: str) -> list[tuple[Any, ...]]:
    """The C{event} notices among C{frames}: (room, user, reason, by)."""
    return [
        (frame.get("room"), frame.get("user"), frame.get("reason"), frame.get("by"))
        for frame in frames
        if isinstance(frame, dict) and frame.get("event") == event
    ]


class ChangesElsewhereTests(SynchronousTestCase):
    """bob and carol are in the default room and #rust (bob created it); the changes come
    from elsewhere."""

    def setUp(self) -> None:
        clock = Clock()
        clock.advance(1_800_000_000)
        self.store = SharedStore()
        self.hall = Hall(
            RoomConfig(),
            MemoryHistory(),
            clock,
            room_stores=MemoryRoomStores(),
            moderation_store=self.store,
        )
        self.bob = FakeClient(self.hall)
        self.bob.join("bob")
        self.carol = FakeClient(self.hall, port=40001)
        self.carol.join("carol")
        for client in (self.bob, self.carol):
            client.send_json({"command": "join", "room": "#rust"})
        self.bob.received()
        self.carol.received()

    def test_a_room_ban_makes_the_members_it_matches_leave(self) -> None:
        self.store.arrive(BanEntry("#rust", "bob", "alice", "spam", None))
        expected = [("#rust", "bob", "banned", "alice")]
        self.assertEqual(of_room(self.carol.received(), "leave"), expected)
        self.assertEqual(of_room(self.bob.received(), "leave"), expected)
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.assertEqual(self.bob.received()[-1]["code"], "banned")
        self.store.arrive(BanEntry("#rust", "bob", "", "", None), kept=False)
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.assertEqual(self.bob.received()[-1]["event"], "welcome")

    def test_a_ban_is_kept_by_its_masks_key_whatever_its_spelling(self) -> None:
        self.store.arrive(BanEntry("#rust", "Bob", "alice", "", None))
        self.store.arrive(BanEntry("#rust", "BOB", "", "", None), kept=False)
        self.assertEqual(self.hall.moderation.ledger.rules("#rust").bans, {})
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.assertEqual(self.bob.received()[-1]["event"], "welcome")

    def test_a_server_ban_closes_the_connections_it_matches(self) -> None:
        self.store.arrive(BanEntry(SERVER_SCOPE, "bob", "alice", "", None))
        self.assertEqual(
            sorted(of_room(self.carol.received(), "leave"), key=str),
            [("#rust", "bob", "banned", "alice"), (None, "bob", "banned", "alice")],
        )
        self.assertTrue(self.bob.closed)
        self.assertFalse(self.carol.closed)

    def test_mutes_and_switches(self) -> None:
        self.store.arrive(MuteEntry("#rust", "carol", "alice", None))
        self.carol.send_json({"message": "hi", "room": "#rust"})
        self.assertEqual(self.carol.received()[-1]["code"], "muted")
        self.store.arrive(MuteEntry("#rust", "carol", "", None), kept=False)
        self.store.arrive(FlagEntry("#rust", Flag.TOPIC_LOCK))
        self.carol.send_json({"message": "hi", "room": "#rust"})
        self.carol.send_json({"command": "topic", "room": "#rust", "topic": "mine"})
        frames = self.carol.received()
        self.assertEqual((frames[-2]["message"], frames[-1]["code"]), ("hi", "not-permitted"))

    def test_an_order_for_a_member_here_is_carried_out(self) -> None:
        self.store.told(Order("kick", "#rust", "dave", "alice", None, None))  # not here
        self.store.told(Order("kick", "#rust", "carol", "alice", "out", None))
        expected = [("#rust", "carol", "kicked", "alice")]
        self.assertEqual(of_room(self.bob.received(), "leave"), expected)
        self.assertEqual(of_room(self.carol.received(), "leave"), expected)
        self.store.told(Order("kick", "#rust", "carol", "alice", None, None))  # gone already
        self.assertEqual(of_room(self.bob.received(), "leave"), [])
        self.store.arrive(FlagEntry("#rust", Flag.MODERATED))
        self.carol.send_json({"command": "join", "room": "#rust"})
        self.store.told(Order("voice", "#rust", "carol", "alice", None, None))
        self.carol.send_json({"message": "voiced", "room": "#rust"})
        self.store.told(Order("devoice", "#rust", "carol", "alice", None, None))
        self.carol.send_json({"message": "not", "room": "#rust"})
        frames = self.carol.received()
        self.assertEqual((frames[-2]["message"], frames[-1]["code"]), ("voiced", "muted"))
