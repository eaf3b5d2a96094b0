"""The program's rooms: /join, /switch, /part, /topic, /rooms, and lines marked with their room."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.client.fakes import Harness, chat, notice, welcome


def in_rust(h: Harness) -> None:
    """alice, on the server, types /join #rust and the server lets her in."""
    h.session.typed("/join #rust")
    assert h.sent() == [{"command": "join", "room": "#rust"}]
    h.server(welcome(last_id=0, users=["bob", "alice"], room="#rust", topic="crabs"))


class RoomCommandTests(SynchronousTestCase):
    """What a person types about rooms, and what they see."""

    def setUp(self) -> None:
        self.h = Harness("alice")
        self.h.join(users=("alice",))
        self.h.frontend.lines()

    def test_join_switches_to_the_room_and_marks_the_others(self) -> None:
        in_rust(self.h)
        self.assertEqual(self.h.session.current, "#rust")
        self.h.session.typed("hi crabs")
        self.assertEqual(self.h.sent(), [{"message": "hi crabs", "room": "#rust"}])
        self.h.server(
            chat(1, "alice", "hi crabs", room="#rust"),
            chat(7, "bob", "in the default room"),
            notice("join", user="carol"),
            notice("join", room="#rust", user="dave"),
        )
        self.assertEqual(
            self.h.frontend.lines(),
            [
                "[03:30] *** Welcome to #rust! Online (2): bob, alice | Topic: crabs",
                "--- Talking in #rust now.",
                "[03:30] <alice> hi crabs",
                "[default] [03:30] <bob> in the default room",
                "[default] [03:30] *** carol joined",
                "[03:30] *** dave joined",
            ],
        )
        self.assertEqual(self.h.session.roster.names(), ["bob", "alice", "dave"])

    def test_bye_in_a_named_room_is_a_message(self) -> None:
        in_rust(self.h)
        self.h.session.typed("BYE")
        self.assertEqual(self.h.sent(), [{"message": "BYE", "room": "#rust"}])
        self.assertEqual(self.h.exits, [])

    def test_switch_between_rooms_joined(self) -> None:
        in_rust(self.h)
        self.h.frontend.lines()
        self.h.session.typed("/switch")
        self.h.session.typed("back home")
        self.assertEqual(self.h.sent(), [{"message": "back home"}])
        self.h.session.typed("/switch #RUST")
        self.assertEqual(self.h.session.current, "#rust")
        self.h.session.typed("/switch #nowhere")
        self.h.session.switch_to_number(1)
        self.assertIsNone(self.h.session.current)
        self.h.session.switch_to_number(9)
        self.assertEqual(
            self.h.frontend.lines(),
            [
                "--- Talking in the default room now.",
                "--- Talking in #rust now.",
                "--- You are not in #nowhere; /join it first.",
                "--- Talking in the default room now.",
            ],
        )

    def test_part_leaves_the_current_room_and_goes_back_to_the_first(self) -> None:
        in_rust(self.h)
        self.h.frontend.lines()
        self.h.session.typed("/part")
        self.assertEqual(self.h.sent(), [{"command": "part", "room": "#rust"}])
        self.h.server(notice("leave", room="#rust", user="alice", reason="part"))
        self.assertIsNone(self.h.session.current)
        self.assertEqual(
            self.h.frontend.lines(),
            [
                "[03:30] *** alice left the room",
                "--- Talking in the default room now.",
            ],
        )

    def test_topic_shows_or_sets_the_current_rooms(self) -> None:
        in_rust(self.h)
        self.h.frontend.lines()
        self.h.session.typed("/topic")
        self.h.session.typed("/topic rust only")
        self.assertEqual(
            self.h.sent(), [{"command": "topic", "room": "#rust", "topic": "rust only"}]
        )
        self.h.server(notice("topic", room="#rust", user="alice", topic="rust only"))
        self.assertEqual(
            self.h.frontend.lines(),
            ["--- Topic of #rust: crabs", "[03:30] *** alice set the topic: rust only"],
        )

    def test_rooms_lists_them_and_a_refused_join_says_why(self) -> None:
        self.h.session.typed("/rooms")
        self.h.server(notice("rooms", rooms=[{"room": "#chat", "users": 1, "topic": ""}]))
        self.h.session.typed("/join #a,b")
        self.h.server(notice("error", "That is not a room name.", code="bad-room"))
        self.assertIsNone(self.h.session.current)
        self.assertEqual(
            self.h.frontend.lines(),
            [
                "[03:30] *** Rooms (1): #chat (1)",
                "[03:30] !!! That is not a room name. (bad-room)",
            ],
        )


class StartRoomTests(SynchronousTestCase):
    """--room: joined once on the server, before input is read."""

    def test_input_waits_for_the_room(self) -> None:
        h = Harness("alice", room="#rust")
        h.join()
        self.assertEqual(h.sent(), [{"command": "join", "room": "#rust"}])
        self.assertEqual(h.frontend.joins, 0)
        h.server(welcome(last_id=0, room="#rust"))
        self.assertEqual((h.frontend.joins, h.session.current), (1, "#rust"))
        h.session.message("piped")
        self.assertEqual(h.sent(), [{"message": "piped", "room": "#rust"}])

    def test_no_history_leaves_out_the_rooms_first_replay_too(self) -> None:
        h = Harness("alice", room="#rust", show_history=False)
        h.join()
        h.server(
            chat(1, "bob", "old", room="#rust", history=True),
            welcome(last_id=1, room="#rust"),
            chat(2, "bob", "new", room="#rust"),
        )
        self.assertEqual(
            h.frontend.lines(),
            [
                "[03:30] *** Welcome! Online (1): alice",
                "[03:30] *** Welcome to #rust! Online (1): alice",
                "[03:30] <bob> new",
            ],
        )

    def test_a_refused_room_ends_the_program(self) -> None:
        h = Harness("alice", room="#rust")
        h.join()
        h.server(notice("error", "Too many rooms.", code="too-many-rooms"))
        self.assertEqual(h.exits, [(1, "cannot join #rust: Too many rooms. (too-many-rooms)")])
        self.assertEqual(h.frontend.joins, 0)


class ModerationCommandTests(SynchronousTestCase):
    """The operators' commands go to the current room; their notices are shown there."""

    def setUp(self) -> None:
        self.h = Harness("alice")
        self.h.join(users=("alice", "bob"), operators=["alice"])
        self.h.frontend.lines()

    def test_kick_in_the_current_room_shows_the_leave_with_its_comment(self) -> None:
        in_rust(self.h)
        self.h.frontend.lines()
        self.h.session.typed("/kick bob enough")
        self.assertEqual(
            self.h.sent(),
            [{"command": "kick", "user": "bob", "room": "#rust", "comment": "enough"}],
        )
        self.h.server(
            notice("leave", room="#rust", user="bob", reason="kicked", by="alice", comment="enough")
        )
        self.assertEqual(self.h.frontend.lines(), ["[03:30] *** bob was kicked by alice (enough)"])
        self.assertEqual(self.h.session.roster.names(), ["alice"])

    def test_each_command_sends_its_packet_and_a_refusal_is_shown(self) -> None:
        for line, packet in [
            ("/mute bob 30", {"command": "mute", "user": "bob", "seconds": 30}),
            ("/unmute bob", {"command": "unmute", "user": "bob"}),
            (
                "/ban bob 60 spam",
                {"command": "ban", "mask": "bob", "seconds": 60, "comment": "spam"},
            ),
            ("/unban bob", {"command": "unban", "mask": "bob"}),
            ("/bans", {"command": "bans"}),
            ("/redact 3", {"command": "redact", "id": 3}),
            ("/op bob", {"command": "op", "user": "bob"}),
            ("/deop bob", {"command": "deop", "user": "bob"}),
            ("/voice bob", {"command": "voice", "user": "bob"}),
            ("/devoice bob", {"command": "devoice", "user": "bob"}),
            ("/announce hello all", {"command": "announce", "text": "hello all"}),
            ("/topic-lock on", {"command": "topic-lock", "on": True}),
            ("/moderated off", {"command": "moderated", "on": False}),
        ]:
            self.h.session.typed(line)
            self.assertEqual(self.h.sent(), [packet])
            self.h.server(notice("error", "Only operators may do that", code="not-permitted"))
            self.assertEqual(
                self.h.frontend.lines(), ["[03:30] !!! Only operators may do that (not-permitted)"]
            )

    def test_ids_show_message_ids_until_hidden_again(self) -> None:
        self.h.server(chat(4, "bob", "before"))
        self.h.session.typed("/ids")
        self.h.server(chat(5, "bob", "after"), chat(None, "bob", "psst", to="alice"))
        self.h.session.typed("/ids")
        self.h.server(chat(6, "bob", "hidden again"))
        self.assertEqual(
            self.h.frontend.lines(),
            [
                "[03:30] <bob> before",
                "--- Message ids are shown (/redact ID removes one) from now on.",
                "[03:30] #5 <bob> after",
                "[03:30] <bob -> alice> (private) psst",
                "--- Message ids are hidden from now on.",
                "[03:30] <bob> hidden again",
            ],
        )

    def test_a_redaction_and_an_announcement_are_shown(self) -> None:
        self.h.server(
            notice("redact", id=4, by="bob"),
            notice("announce", "maintenance at noon"),
            notice("moderation", action="mute", by="alice", user="bob"),
        )
        self.assertEqual(
            self.h.frontend.lines(),
            [
                "[03:30] *** bob redacted message #4",
                "[03:30] !!! Announcement: maintenance at noon",
                "[03:30] *** alice muted bob",
            ],
        )
