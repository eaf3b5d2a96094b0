"""The moderation commands of the packet doors (docs/protocol.md section 14), on fakes."""

from __future__ import annotations

import pytest
from twisted.internet.defer import Deferred
from twisted.logger import capturedLogs, formatEvent

from chatproto.core.moderation import ledger
from chatproto.core.roomnames import room_key
from chatproto.seams.moderation import MemoryModerationStore
from tests.fakes import FakeClient, MemoryRoomStores
from tests.moderation.helpers import (
    RedactableHistory,
    clock_of,
    command,
    error_code,
    events,
    member,
    moderated_hall,
)


class TestOperators:
    """Who operates a room: its creator, a founder, those opped, server operators."""

    def setup_method(self) -> None:
        self.store = MemoryModerationStore()
        self.hall = moderated_hall(self.store)
        self.alice = member(self.hall, "alice", 1, account="alice")
        self.bob = member(self.hall, "bob", 2)
        self.root = member(self.hall, "root", 3, account="root")

    def test_the_creator_operates_the_room_and_welcome_and_who_say_so(self) -> None:
        welcome = command(self.bob, "join", room="#b")[-1]
        assert welcome["operators"] == ["bob"]
        command(self.root, "join", room="#b")
        command(self.alice, "join", room="#b")
        who = command(self.alice, "who", room="#b")[-1]
        assert who["users"] == ["bob", "root", "alice"]
        assert who["operators"] == ["bob", "root"]
        default_who = command(self.alice, "who")[-1]
        assert default_who["operators"] == ["root"]

    def test_an_unregistered_creator_operates_only_until_it_leaves(self) -> None:
        command(self.bob, "join", room="#b")
        command(self.alice, "join", room="#b")
        self.alice.send_json({"message": "kept", "room": "#b"})
        command(self.bob, "part", room="#b")
        command(self.bob, "join", room="#b")
        assert error_code(command(self.bob, "kick", room="#b", user="alice")) == "not-permitted"

    def test_a_logged_in_creator_is_the_founder_across_reconnects(self) -> None:
        command(self.alice, "join", room="#a")
        self.alice.send_json({"message": "kept", "room": "#a"})
        command(self.bob, "join", room="#a")
        command(self.alice, "part", room="#a")
        again = command(self.alice, "join", room="#a")[-1]
        assert again["operators"] == ["alice"]
        assert events(command(self.alice, "kick", room="#a", user="bob"), "leave")

    def test_nobody_but_server_operators_operates_the_default_room(self) -> None:
        assert error_code(command(self.alice, "kick", user="bob")) == "not-permitted"
        frames = command(self.root, "op", user="alice")
        assert events(frames, "moderation")[0]["action"] == "op"
        assert command(self.bob, "who")[-1]["operators"] == ["alice", "root"]
        assert events(command(self.alice, "kick", user="bob"), "leave")

    def test_op_of_a_logged_in_member_lasts_and_of_others_ends_when_they_leave(self) -> None:
        command(self.root, "join", room="#r")
        self.root.send_json({"message": "kept", "room": "#r"})
        for client in (self.alice, self.bob):
            command(client, "join", room="#r")
        command(self.root, "op", room="#r", user="alice")
        command(self.root, "op", room="#r", user="bob")
        for client in (self.alice, self.bob):
            command(client, "part", room="#r")
            command(client, "join", room="#r")
        assert command(self.root, "who", room="#r")[-1]["operators"] == ["root", "alice"]
        assert kept_role(self.store, "#r", "alice", "op")

    def test_room_operators_cannot_touch_the_founder_or_a_server_operator(self) -> None:
        command(self.alice, "join", room="#a")
        for client in (self.bob, self.root):
            command(client, "join", room="#a")
        command(self.alice, "op", room="#a", user="bob")
        for name, fields in [
            ("kick", {"user": "alice"}),
            ("mute", {"user": "alice"}),
            ("deop", {"user": "alice"}),
            ("ban", {"mask": "alice"}),
            ("ban", {"mask": "account:root"}),
            ("kick", {"user": "root"}),
        ]:
            frames = command(self.bob, name, room="#a", **fields)
            assert error_code(frames) == "not-permitted", (name, fields)
        assert events(command(self.root, "deop", room="#a", user="alice"), "moderation")
        assert command(self.bob, "who", room="#a")[-1]["operators"] == ["bob", "root"]

    def test_members_are_refused_every_command(self) -> None:
        command(self.alice, "join", room="#a")
        command(self.bob, "join", room="#a")
        for name, fields in [
            ("kick", {"user": "alice"}),
            ("mute", {"user": "alice"}),
            ("unmute", {"user": "alice"}),
            ("ban", {"mask": "alice"}),
            ("unban", {"mask": "alice"}),
            ("bans", {}),
            ("op", {"user": "bob"}),
            ("deop", {"user": "alice"}),
            ("voice", {"user": "bob"}),
            ("devoice", {"user": "bob"}),
            ("topic-lock", {"on": True}),
            ("moderated", {"on": True}),
        ]:
            assert error_code(command(self.bob, name, room="#a", **fields)) == "not-permitted"
        assert error_code(command(self.alice, "announce", text="hi")) == "not-permitted"
        assert error_code(command(self.alice, "ban", scope="server", mask="x")) == "not-permitted"


def kept_role(store: MemoryModerationStore, room: str, account: str, role: str) -> bool:
    """Whether the store keeps C{role} of C{account} in C{room}."""
    return any(
        (entry.room, entry.account, str(entry.role)) == (room, account, role)
        for entry in store.snapshot.roles
    )


class TestActions:
    """Each command's effect, as the members see it."""

    def setup_method(self) -> None:
        self.store = MemoryModerationStore()
        self.hall = moderated_hall(self.store)
        self.op = member(self.hall, "oper", 1, account="oper")
        self.bob = member(self.hall, "bob", 2, host="203.0.113.5")
        self.carol = member(self.hall, "carol", 3, account="carol")
        self.root = member(self.hall, "root", 4, account="root")
        for client in (self.op, self.bob, self.carol):
            command(client, "join", room="#r")
        self.op.received()

    def test_kick(self) -> None:
        frames = command(self.op, "kick", room="#r", user="bob", comment="calm down")
        leave = {
            "event": "leave",
            "user": "bob",
            "reason": "kicked",
            "by": "oper",
            "comment": "calm down",
            "room": "#r",
        }
        for seen in (frames, self.bob.received(), self.carol.received()):
            (notice,) = events(seen, "leave")
            assert {key: notice[key] for key in leave} == leave
        assert command(self.carol, "who", room="#r")[-1]["users"] == ["oper", "carol"]
        assert events(command(self.bob, "join", room="#r"), "welcome")  # may join again

    def test_a_kick_from_outside_the_room_is_answered(self) -> None:
        frames = command(self.root, "kick", room="#r", user="bob")
        (notice,) = events(frames, "leave")
        assert (notice["user"], notice["reason"], notice["by"]) == ("bob", "kicked", "root")

    def test_kick_of_someone_not_in_the_room(self) -> None:
        command(self.bob, "part", room="#r")
        assert error_code(command(self.op, "kick", room="#r", user="bob")) == "no-such-user"
        assert error_code(command(self.op, "kick", room="#r", user="nobody")) == "no-such-user"

    def test_timed_mute_with_retry_after_then_it_ends(self) -> None:
        frames = command(self.op, "mute", room="#r", user="bob", seconds=60, comment="spam")
        notice = events(frames, "moderation")[0]
        assert (notice["action"], notice["user"], notice["seconds"]) == ("mute", "bob", 60)
        assert events(self.carol.received(), "moderation")
        self.bob.send_json({"message": "hi", "room": "#r"})
        error = events(self.bob.received(), "error")[0]
        assert (error["code"], error["retry_after"], error["room"]) == ("muted", 60, "#r")
        assert self.carol.received() == []  # reached nobody
        self.bob.send_json({"message": "elsewhere"})  # the default room is not #r
        assert [f["message"] for f in self.carol.received()] == ["elsewhere"]
        clock_of(self.bob).advance(60)
        self.bob.send_json({"message": "free", "room": "#r"})
        assert [f["message"] for f in self.carol.received()] == ["free"]
        assert self.store.snapshot.mutes == []  # the ended mute left the store too

    def test_a_timed_mute_ends_exactly_on_time_among_100_timed_bans(self) -> None:
        self.ban_100_for_an_hour()
        command(self.op, "mute", room="#r", user="bob", seconds=60)
        clock_of(self.bob).advance(59.5)
        self.bob.send_json({"message": "early", "room": "#r"})
        error = events(self.bob.received(), "error")[0]
        assert (error["code"], error["retry_after"]) == ("muted", 1)
        clock_of(self.bob).advance(0.5)
        self.bob.send_json({"message": "on time", "room": "#r"})
        assert [f["message"] for f in self.carol.received() if "id" in f] == ["on time"]
        assert self.store.snapshot.mutes == []

    def test_messages_read_no_ban_or_mute_until_one_may_have_ended(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.ban_100_for_an_hour()
        command(self.op, "mute", room="#r", user="bob", seconds=60)
        looked_at: list[float | None] = []  # the end of each entry read to see if over
        over = ledger._over

        def counted(until: float | None, now: float) -> bool:
            looked_at.append(until)
            return over(until, now)

        monkeypatch.setattr(ledger, "_over", counted)
        for _ in range(10):
            self.carol.send_json({"message": "busy", "room": "#r"})
        assert [f["message"] for f in self.op.received() if "id" in f] == ["busy"] * 10
        assert looked_at == []
        clock_of(self.bob).advance(60)  # the mute ends: the next look reads the lists once
        self.bob.send_json({"message": "free", "room": "#r"})
        self.carol.send_json({"message": "again", "room": "#r"})
        assert [f["message"] for f in self.op.received() if "id" in f] == ["free", "again"]
        assert len(looked_at) == 101
        assert len(command(self.op, "bans", room="#r")[-1]["bans"]) == 100

    def ban_100_for_an_hour(self) -> None:
        """Fill #r's ban list with timed bans of nicknames nobody holds."""
        for number in range(100):
            command(self.op, "ban", room="#r", mask=f"nick{number}", seconds=3600)

    def test_a_mute_holds_for_the_account_across_reconnects_until_unmute(self) -> None:
        command(self.op, "mute", room="#r", user="carol")
        self.carol.drop()
        carol = member(self.hall, "carol2", 5, account="carol")
        command(carol, "join", room="#r")
        carol.send_json({"message": "hi", "room": "#r"})
        error = events(carol.received(), "error")[0]
        assert error["code"] == "muted" and "retry_after" not in error
        frames = command(self.op, "unmute", room="#r", user="carol2")
        assert events(frames, "moderation")[0]["action"] == "unmute"
        carol.send_json({"message": "back", "room": "#r"})
        assert [f["message"] for f in self.op.received() if "id" in f] == ["back"]

    def test_ban_by_address_removes_the_member_and_refuses_its_joins(self) -> None:
        frames = command(self.op, "ban", room="#r", mask="203.0.113.0/24", comment="go")
        (notice,) = events(frames, "moderation")
        assert (notice["action"], notice["mask"]) == ("ban", "203.0.113.0/24")
        (leave,) = events(self.bob.received(), "leave")
        assert (leave["reason"], leave["by"], leave["comment"]) == ("banned", "oper", "go")
        assert not self.bob.closed  # a room ban: the connection stays
        error = events(command(self.bob, "join", room="#R"), "error")[0]
        assert (error["code"], error["room"]) == ("banned", "#R")
        bans = command(self.op, "bans", room="#r")[-1]
        assert bans["bans"] == [
            {"mask": "203.0.113.0/24", "by": "oper", "comment": "go", "until": None}
        ]

    def test_a_timed_ban_ends_by_itself(self) -> None:
        command(self.op, "ban", room="#r", mask="bob", seconds=30)
        assert command(self.op, "bans", room="#r")[-1]["bans"][0]["until"] is not None
        assert error_code(command(self.bob, "join", room="#r")) == "banned"
        clock_of(self.bob).advance(30)
        assert events(command(self.bob, "join", room="#r"), "welcome")
        assert command(self.op, "bans", room="#r")[-1]["bans"] == []

    def test_unban(self) -> None:
        command(self.op, "ban", room="#r", mask="account:bob")
        frames = command(self.op, "unban", room="#r", mask="account:Bob")
        assert events(frames, "moderation")[0]["mask"] == "account:Bob"
        assert command(self.op, "bans", room="#r")[-1]["bans"] == []

    def test_a_server_wide_ban_closes_the_members_it_matches_and_the_handshake(self) -> None:
        frames = command(self.root, "ban", scope="server", mask="203.0.113.5", comment="x")
        notice = events(frames, "moderation")[0]
        assert (notice["scope"], notice["mask"]) == ("server", "203.0.113.5/32")
        leaves = events(self.bob.received(), "leave")
        assert {(f.get("room"), f["reason"]) for f in leaves} == {
            (None, "banned"),
            ("#r", "banned"),
        }
        assert self.bob.closed
        json_form = FakeClient(self.hall, host="203.0.113.5", port=7)
        json_form.received()
        json_form.send('{"nickname": "bobby"}')
        frames = json_form.received()
        assert [error_code(frames), frames[-1]] == ["banned", "RETRY"]
        assert json_form.closed
        bare = FakeClient(self.hall, host="203.0.113.5", port=8)
        bare.received()
        bare.send("bobby")
        assert bare.received() == ["RETRY"]
        assert bare.closed
        listed = command(self.root, "bans", scope="server")[-1]
        assert (listed["scope"], len(listed["bans"])) == ("server", 1)

    def test_redact_own_message_or_as_operator(self) -> None:
        self.bob.send_json({"message": "oops", "room": "#r"})
        self.carol.send_json({"message": "mine", "room": "#r"})
        self.op.received()
        assert error_code(command(self.bob, "redact", room="#r", id=2)) == "not-permitted"
        frames = command(self.bob, "redact", room="#r", id=1, comment="typo")
        (notice,) = events(frames, "redact")
        assert (notice["id"], notice["by"], notice["comment"], notice["room"]) == (
            1,
            "bob",
            "typo",
            "#r",
        )
        assert events(command(self.op, "redact", room="#r", id=2), "redact")
        self.carol.received()
        history = command(self.carol, "history", room="#r")
        assert [f for f in history if f.get("history")] == []
        self.carol.send_json({"command": "join", "room": "#r2"})
        command(self.carol, "part", room="#r")
        replay = command(self.carol, "join", room="#r")
        assert [f for f in replay if f.get("history")] == []
        assert error_code(command(self.op, "redact", room="#r", id=1)) == "malformed"

    def test_frames_after_a_redaction_wait_for_the_store(self) -> None:
        stores = MemoryRoomStores()
        history = stores.histories[room_key("#s")] = RedactableHistory()
        alice = member(moderated_hall(room_stores=stores), "alice", 7)
        command(alice, "join", room="#s")
        alice.send_json({"message": "oops", "room": "#s"})
        alice.received()
        answers: list[Deferred[bool]] = []
        history.answers = answers
        alice.send_json({"command": "redact", "room": "#s", "id": 1})
        alice.send_json({"command": "who", "room": "#s"})
        assert alice.received() == []
        answers[0].callback(True)
        assert [frame["event"] for frame in alice.received()] == ["redact", "who"]

    def test_voice_and_moderated(self) -> None:
        frames = command(self.op, "moderated", room="#r", on=True)
        assert events(frames, "moderation")[0]["on"] is True
        self.bob.send_json({"message": "hi", "room": "#r"})
        assert error_code(self.bob.received()) == "muted"
        command(self.op, "voice", room="#r", user="bob")
        self.bob.send_json({"message": "voiced", "room": "#r"})
        self.op.send_json({"message": "operator", "room": "#r"})
        said = [f["message"] for f in self.carol.received() if "id" in f]
        assert said == ["voiced", "operator"]
        command(self.op, "devoice", room="#r", user="bob")
        self.bob.send_json({"message": "again", "room": "#r"})
        assert error_code(self.bob.received()) == "muted"
        command(self.op, "moderated", room="#r", on=False)
        self.bob.send_json({"message": "free", "room": "#r"})
        assert [f["message"] for f in self.carol.received() if "id" in f] == ["free"]

    def test_topic_lock(self) -> None:
        command(self.op, "topic-lock", room="#r", on=True)
        frames = command(self.bob, "topic", room="#r", topic="mine")
        assert error_code(frames) == "not-permitted"
        assert events(command(self.op, "topic", room="#r", topic="ours"), "topic")
        command(self.op, "topic-lock", room="#r", on=False)
        assert events(command(self.bob, "topic", room="#r", topic="mine"), "topic")

    def test_announce_reaches_every_member_whatever_its_rooms(self) -> None:
        command(self.bob, "part")  # in #r only
        frames = command(self.root, "announce", text="maintenance at noon")
        for seen in (frames, self.bob.received(), self.carol.received()):
            (notice,) = events(seen, "announce")
            assert notice["message"] == "maintenance at noon"

    def test_bad_fields_are_malformed(self) -> None:
        for name, fields in [
            ("mute", {"user": "bob", "seconds": "soon"}),
            ("mute", {"user": "bob", "seconds": 0}),
            ("ban", {"mask": 5}),
            ("ban", {"mask": "bob", "scope": "galaxy"}),
            ("redact", {"id": "one"}),
            ("topic-lock", {"on": "yes"}),
            ("kick", {"user": "bob", "comment": "a\nb"}),
        ]:
            frames = command(self.op, name, room="#r", **fields)
            assert error_code(frames) in ("malformed", "control-chars"), (name, fields)


def test_moderation_is_read_back_after_a_restart() -> None:
    store = MemoryModerationStore()
    hall = moderated_hall(store)
    alice = member(hall, "alice", 1, account="alice")
    command(alice, "join", room="#a")
    alice.send_json({"message": "kept", "room": "#a"})
    command(alice, "ban", room="#a", mask="bob", seconds=100)
    command(alice, "topic-lock", room="#a", on=True)
    command(alice, "mute", room="#a", user="carol")
    restarted = moderated_hall(store)  # a new hall reading what the store kept
    bob = member(restarted, "bob", 2)
    assert error_code(command(bob, "join", room="#a")) == "banned"
    carol = member(restarted, "carol", 3)
    alice = member(restarted, "alice", 4, account="alice")
    assert command(alice, "join", room="#a")[-1]["operators"] == ["alice"]  # the founder
    command(carol, "join", room="#a")
    assert error_code(command(carol, "topic", room="#a", topic="x")) == "not-permitted"
    carol.send_json({"message": "hi", "room": "#a"})
    assert error_code(carol.received()) == "muted"


def test_a_refused_or_idle_command_leaves_no_room_rules_behind() -> None:
    hall = moderated_hall()
    root = member(hall, "root", 1, account="root")
    member(hall, "bob", 2)
    assert error_code(command(root, "mute", user="bob", seconds=0)) == "malformed"
    assert error_code(command(root, "ban", mask="bob", seconds=0)) == "malformed"
    assert events(command(root, "unmute", user="bob"), "moderation")
    assert events(command(root, "unban", mask="bob"), "moderation")
    assert events(command(root, "deop", user="bob"), "moderation")
    assert events(command(root, "bans"), "bans")
    assert hall.moderation.ledger.peek(hall.default_room.key) is None


def test_a_room_with_a_ban_outlives_its_members() -> None:
    hall = moderated_hall()
    alice = member(hall, "alice", 1)
    bob = member(hall, "bob", 2)
    command(alice, "join", room="#quiet")  # no message, no topic: it would cease to exist
    command(alice, "ban", room="#quiet", mask="bob")
    command(alice, "part", room="#quiet")
    assert [room["room"] for room in command(bob, "rooms")[-1]["rooms"]] == ["#chat", "#quiet"]
    assert error_code(command(bob, "join", room="#quiet")) == "banned"


def test_every_action_is_in_the_audit_log() -> None:
    hall = moderated_hall()
    root = member(hall, "root", 1, account="root")
    bob = member(hall, "bob", 2)
    with capturedLogs() as logged:
        command(bob, "kick", user="root")  # refused: not in the audit log
        command(root, "ban", mask="bob", seconds=60, comment="spam")
        command(root, "announce", text="hello")
    audited = [event for event in logged if event.get("event_kind") == "moderation"]
    assert [(e["by"], e["action"], e["room"]) for e in audited] == [
        ("root", "ban", "#chat"),
        ("root", "announce", None),
    ]
    ban = audited[0]
    assert (ban["mask"], ban["comment"], ban["user"]) == ("bob", "spam", None)
    assert ban["until"] == "2027-01-15T08:01:00.000Z"
    assert formatEvent(ban) == "moderation: root ban bob in #chat: spam"


def test_the_ban_list_is_bounded_and_a_full_one_fits_a_packet() -> None:
    hall = moderated_hall()
    root = member(hall, "root", 1, account="root")
    comment = "\U0001f6ab" * 50  # 200 bytes of UTF-8, the longest comment
    wide = "\U00010400" * 28  # 4 bytes each
    for number in range(100):
        mask = f"account:{wide}{number:04d}"  # a nickname of 32 code points, 116 bytes
        assert events(command(root, "ban", mask=mask, seconds=60, comment=comment), "moderation")
    assert error_code(command(root, "ban", mask="one-too-many")) == "not-permitted"
    listed = command(root, "bans")[-1]
    assert len(listed["bans"]) == 100 and "truncated" not in listed


def test_a_room_kept_by_its_moderation_gets_no_new_creator_after_a_restart() -> None:
    store = MemoryModerationStore()
    hall = moderated_hall(store)
    alice = member(hall, "alice", 1)
    command(alice, "join", room="#quiet")
    command(alice, "topic-lock", room="#quiet", on=True)
    restarted = moderated_hall(store)  # no message, no topic: the room has no files
    bob = member(restarted, "bob", 2)
    assert command(bob, "join", room="#quiet")[-1]["operators"] == []
