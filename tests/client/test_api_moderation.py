"""The client API's moderation (docs/protocol.md section 14) on StringTransports: each
command's frame, its receipt, its refusal, the events of the notices, and the operators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from chatproto.client.api import (
    Announcement,
    ChatError,
    ModerationChange,
    Redaction,
    Removal,
)
from chatproto.client.moderation_notices import MAX_BANS_LISTED
from tests.client.fakes import Wire, notice, welcome
from tests.client.test_api import RecordingClient


class ModeratingClient(RecordingClient):
    """Records the moderation events too."""

    def moderation_changed(self, change: ModerationChange) -> None:
        self.events.append(("moderation", change.room, change.action, change.by, change.user))

    def user_removed(self, removal: Removal) -> None:
        self.events.append(
            ("removed", removal.room, removal.user, removal.reason, removal.by, removal.comment)
        )

    def message_redacted(self, redaction: Redaction) -> None:
        self.events.append(("redacted", redaction.room, redaction.id, redaction.by))

    def announcement_received(self, announcement: Announcement) -> None:
        self.events.append(("announced", announcement.text))


def operator(**welcome_fields: Any) -> tuple[ModeratingClient, Wire]:
    """A client on the server as bot, which operates the default room."""
    client = ModeratingClient()
    wire = Wire(client, client.clock)
    fields = {"operators": ["bot"]} | welcome_fields
    wire.join(users=("alice", "bot"), **fields)
    client.taken()
    return client, wire


def moderation(action: str, by: str = "bot", **fields: Any) -> dict[str, Any]:
    """A C{moderation} notice."""
    return notice("moderation", f"{by} did {action}", action=action, by=by, **fields)


class RequestTests(SynchronousTestCase):
    """Each command sends its frame and fires once its receipt came."""

    def test_mute_fires_on_its_own_moderation_notice_not_on_another(self) -> None:
        client, wire = operator()
        muted = client.mute("alice", seconds=60)
        self.assertEqual(wire.sent(), [{"command": "mute", "user": "alice", "seconds": 60}])
        wire.server(moderation("mute", by="carol", user="alice"))  # someone else's
        wire.server(moderation("unmute", user="alice"))  # another action
        self.assertNoResult(muted)
        wire.server(moderation("mute", user="ALICE", seconds=60))
        self.assertIsNone(self.successResultOf(muted))
        self.assertEqual([event[2] for event in client.taken()], ["mute", "unmute", "mute"])

    def test_each_command_sends_what_section_14_says(self) -> None:
        client, wire = operator()
        requests = [
            (
                client.unmute("alice", room="#rust"),
                {"command": "unmute", "user": "alice", "room": "#rust"},
            ),
            (client.op("alice"), {"command": "op", "user": "alice"}),
            (client.deop("alice"), {"command": "deop", "user": "alice"}),
            (client.voice("alice"), {"command": "voice", "user": "alice"}),
            (client.devoice("alice"), {"command": "devoice", "user": "alice"}),
            (client.set_topic_lock(True), {"command": "topic-lock", "on": True}),
            (client.set_moderated(False), {"command": "moderated", "on": False}),
            (
                client.unban("10.0.0.0/8", server=True),
                {"command": "unban", "mask": "10.0.0.0/8", "scope": "server"},
            ),
        ]
        answers = [
            moderation("unmute", user="alice", room="#rust"),
            moderation("op", user="alice"),
            moderation("deop", user="alice"),
            moderation("voice", user="alice"),
            moderation("devoice", user="alice"),
            moderation("topic-lock", on=True),
            moderation("moderated", on=False),
            moderation("unban", mask="10.0.0.0/8"),
        ]
        for (answer, packet), receipt in zip(requests, answers, strict=True):
            self.assertEqual(wire.sent(), [packet])
            wire.server(receipt)
            self.assertIsNone(self.successResultOf(answer))

    def test_kick_fires_after_the_leave_that_says_kicked(self) -> None:
        client, wire = operator()
        kicked = client.kick("alice", comment="spam")
        self.assertEqual(wire.sent(), [{"command": "kick", "user": "alice", "comment": "spam"}])
        wire.server(notice("leave", user="alice", reason="kicked", by="bot", comment="spam"))
        self.assertIsNone(self.successResultOf(kicked))
        self.assertEqual(
            client.taken(),
            [("removed", None, "alice", "kicked", "bot", "spam"), ("user_left", "alice", "kicked")],
        )
        self.assertEqual(client.operators(), ["bot"])

    def test_a_ban_fires_on_its_moderation_notice_whatever_the_masks_spelling(self) -> None:
        client, wire = operator()
        banned = client.ban("alice", seconds=600, comment="bye")
        self.assertEqual(
            wire.sent(),
            [{"command": "ban", "mask": "alice", "seconds": 600, "comment": "bye"}],
        )
        wire.server(notice("leave", user="alice", reason="banned", by="bot", comment="bye"))
        self.assertNoResult(banned)  # the moderation notice comes first; not this
        wire.server(moderation("ban", mask="alice", seconds=600, comment="bye"))
        self.assertIsNone(self.successResultOf(banned))
        nobody_there = client.ban("203.0.113.7/24", room="#rust")
        wire.sent()
        wire.server(moderation("ban", mask="203.0.113.0/24", room="#rust"))
        self.assertIsNone(self.successResultOf(nobody_there))

    def test_a_server_wide_ban_names_no_room(self) -> None:
        client, wire = operator()
        client.ban("account:mallory", server=True)
        self.assertEqual(
            wire.sent(), [{"command": "ban", "mask": "account:mallory", "scope": "server"}]
        )
        with self.assertRaises(ValueError):
            client.ban("mallory", room="#rust", server=True)
        with self.assertRaises(ValueError):
            client.mute("mallory", seconds=0)

    def test_redact_fires_on_the_redact_notice_of_its_id(self) -> None:
        client, wire = operator()
        redacted = client.redact(7, room="#rust", comment="oops")
        self.assertEqual(
            wire.sent(), [{"command": "redact", "id": 7, "room": "#rust", "comment": "oops"}]
        )
        wire.server(notice("redact", room="#rust", id=6, by="bot"))
        self.assertNoResult(redacted)
        wire.server(notice("redact", room="#rust", id=7, by="bot", comment="oops"))
        self.assertIsNone(self.successResultOf(redacted))
        self.assertEqual(
            client.taken(), [("redacted", "#rust", 6, "bot"), ("redacted", "#rust", 7, "bot")]
        )

    def test_bans_fires_with_the_list(self) -> None:
        client, wire = operator()
        listed = client.bans(room="#rust")
        self.assertEqual(wire.sent(), [{"command": "bans", "room": "#rust"}])
        entries = [
            {"mask": "mallory", "by": "bot", "comment": "spam", "until": "2026-12-03T18:00:00Z"},
            {"mask": "10.0.0.0/8", "by": "alice", "comment": None, "until": None},
            {"by": "nobody"},  # no mask: skipped
        ] + [{"mask": f"n{index}", "by": "bot"} for index in range(MAX_BANS_LISTED)]
        wire.server(notice("bans", room="#rust", bans=entries))
        bans = self.successResultOf(listed)
        self.assertEqual(len(bans), MAX_BANS_LISTED - 1)  # of the first 1000 entries
        self.assertEqual(
            (bans[0].mask, bans[0].by, bans[0].comment, bans[0].until),
            ("mallory", "bot", "spam", datetime(2026, 12, 3, 18, tzinfo=UTC)),
        )
        self.assertEqual((bans[1].comment, bans[1].until), (None, None))

    def test_announce_fires_on_the_announcement(self) -> None:
        client, wire = operator()
        said = client.announce("restart at noon")
        self.assertEqual(wire.sent(), [{"command": "announce", "text": "restart at noon"}])
        wire.server(notice("announce", "restart at noon", by="carol"))
        self.assertNoResult(said)
        wire.server(notice("announce", "restart at noon", by="bot"))
        self.assertIsNone(self.successResultOf(said))
        self.assertEqual(client.taken(), [("announced", "restart at noon")] * 2)

    def test_refusals_fail_with_their_code_and_the_next_request_goes(self) -> None:
        client, wire = operator()
        kicked = client.kick("alice")
        muted = client.mute("alice")
        wire.sent()
        wire.server(notice("error", "Only operators may kick", code="not-permitted"))
        self.assertEqual(self.failureResultOf(kicked, ChatError).value.code, "not-permitted")
        self.assertEqual(wire.sent(), [{"command": "mute", "user": "alice"}])
        wire.server(notice("error", "no moderation here", code="unknown-command"))
        self.assertEqual(self.failureResultOf(muted, ChatError).value.code, "unknown-command")

    def test_a_muted_message_fails_with_the_seconds_left(self) -> None:
        client, wire = operator()
        sent = client.send("hello")
        wire.sent()
        wire.server(notice("error", "You are muted", code="muted", retry_after=42))
        error = self.failureResultOf(sent, ChatError).value
        self.assertEqual((error.code, error.retry_after), ("muted", 42.0))


class OperatorTests(SynchronousTestCase):
    """The operators of each room follow the welcome, who, op, deop and leave."""

    def test_operators_follow_who_op_deop_and_leave(self) -> None:
        client, wire = operator()
        self.assertEqual(client.operators(), ["bot"])
        wire.server(moderation("op", user="alice"))
        self.assertEqual(client.operators(None), ["bot", "alice"])
        wire.server(notice("leave", user="alice", reason="bye"))
        self.assertEqual(client.operators(), ["bot"])
        wire.server(notice("who", users=["alice", "bot"], operators=["alice"]))
        self.assertEqual(client.operators(), ["alice"])
        wire.server(moderation("deop", by="alice", user="Alice"))
        self.assertEqual(client.operators(), [])

    def test_a_rooms_welcome_and_who_answer_carry_its_operators(self) -> None:
        client, wire = operator()
        joining = client.join("#rust")
        wire.sent()
        wire.server(welcome(room="#rust", users=["carol", "bot"], operators=["carol"]))
        self.assertEqual(self.successResultOf(joining).users.operators, ["carol"])
        self.assertEqual(client.operators("#RUST"), ["carol"])
        self.assertEqual(client.operators("#elsewhere"), [])
        asked = client.who("#rust")
        wire.sent()
        wire.server(notice("who", room="#rust", users=["carol", "bot"], operators=["bot"]))
        self.assertEqual(self.successResultOf(asked).operators, ["bot"])
        self.assertEqual(client.operators("#rust"), ["bot"])

    def test_kicked_out_of_a_room_the_client_is_no_longer_in_it(self) -> None:
        client, wire = operator()
        client.join("#rust")
        wire.sent()
        wire.server(welcome(room="#rust", users=["carol", "bot"], operators=["carol"]))
        client.taken()
        wire.server(notice("leave", room="#rust", user="bot", reason="kicked", by="carol"))
        self.assertEqual(
            client.taken(),
            [
                ("removed", "#rust", "bot", "kicked", "carol", None),
                ("user_left", "bot", "kicked", "#rust"),
            ],
        )
        self.assertEqual(client.rooms_joined, [None])
        self.assertEqual(client.operators("#rust"), [])
