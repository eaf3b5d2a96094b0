"""Timed bans and mutes end on time, and a room's lists are read only when one may have
ended (each room keeps its earliest end); a look creates no room rules."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from chatproto.core.moderation import ledger
from chatproto.seams.moderation import MemoryModerationStore
from tests.moderation.helpers import command, error_code, events, member, moderated_hall


def messages(frames: list[object]) -> list[str]:
    """The texts of the chat messages (those with an id) among C{frames}."""
    return [f["message"] for f in frames if isinstance(f, dict) and "id" in f]


class TestTimedEnds:
    """A room with a timed mute and 100 timed bans, and a clock the test moves."""

    def setup_method(self) -> None:
        self.store = MemoryModerationStore()
        self.hall = moderated_hall(self.store)
        self.op = member(self.hall, "oper", 1, account="oper")
        self.bob = member(self.hall, "bob", 2)
        for client in (self.op, self.bob):
            command(client, "join", room="#r")
        for number in range(100):
            command(self.op, "ban", room="#r", mask=f"nick{number}", seconds=3600)
        command(self.op, "mute", room="#r", user="bob", seconds=60)
        self.op.received()
        self.bob.received()
        clock = self.hall.reactor
        assert isinstance(clock, Clock)
        self.clock = clock

    def test_a_timed_mute_ends_exactly_on_time(self) -> None:
        self.clock.advance(59.5)
        self.bob.send_json({"message": "early", "room": "#r"})
        error = events(self.bob.received(), "error")[0]
        assert (error["code"], error["retry_after"]) == ("muted", 1)
        self.clock.advance(0.5)
        self.bob.send_json({"message": "on time", "room": "#r"})
        assert messages(self.op.received()) == ["on time"]
        assert self.store.snapshot.mutes == []

    def test_messages_read_no_list_until_an_entry_may_have_ended(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        looked_at: list[float | None] = []
        over = ledger._over

        def counted(until: float | None, now: float) -> bool:
            looked_at.append(until)
            return over(until, now)

        monkeypatch.setattr(ledger, "_over", counted)
        for _ in range(10):
            self.op.send_json({"message": "busy", "room": "#r"})
        assert messages(self.bob.received()) == ["busy"] * 10
        assert looked_at == []
        self.op.received()
        self.clock.advance(60)  # the mute ends: the next look reads the lists once
        self.bob.send_json({"message": "free", "room": "#r"})
        self.op.send_json({"message": "again", "room": "#r"})
        assert messages(self.op.received()) == ["free", "again"]
        assert len(looked_at) == 101
        assert len(command(self.op, "bans", room="#r")[-1]["bans"]) == 100


def test_a_refused_or_idle_command_leaves_no_room_rules_behind() -> None:
    hall = moderated_hall()
    root = member(hall, "root", 1, account="root")
    member(hall, "bob", 2)
    key = hall.default_room.key
    assert error_code(command(root, "mute", user="bob", seconds=0)) == "malformed"
    assert error_code(command(root, "ban", mask="bob", seconds=0)) == "malformed"
    assert events(command(root, "unmute", user="bob"), "moderation")
    assert events(command(root, "unban", mask="bob"), "moderation")
    assert events(command(root, "deop", user="bob"), "moderation")
    assert events(command(root, "bans"), "bans")
    assert hall.moderation.ledger.peek(key) is None
