"""Rooms over IRC (docs/protocol.md sections 10 and 12), on fakes: JOIN, PART, TOPIC,
NAMES, LIST, WHO and chat in rooms, with IRC and word-packet members (MODE and KICK:
test_moderation.py)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.identity import ServerInfo
from chatproto.doors.irc.protocol import IrcFactory
from chatproto.service import Options
from tests.fakes import FakeClient, MemoryHistory, make_room
from tests.irc.fakes import FakeIrcClient


class ChannelTests(SynchronousTestCase):
    """An IRC client (alice), another (carol) and a word-packet client (bob)."""

    def setUp(self) -> None:
        self.room, self.clock, _ = make_room(max_rooms_per_member=3)
        self.bob = FakeClient(self.room)
        self.bob.join("bob")
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice")
        self.carol = FakeIrcClient(self.room, self.alice.factory)
        self.carol.register("carol")
        self.alice.lines()
        self.bob.received()

    def test_join_burst_then_replay(self) -> None:
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.bob.send_json({"message": "first", "room": "#rust"})
        self.bob.send_json({"command": "topic", "room": "#rust", "topic": "crabs"})
        self.bob.received()
        self.alice.send("JOIN #RUST")
        self.assertEqual(
            self.alice.lines(),
            [
                ":alice!alice@chatproto JOIN #rust",
                ":irc.test 332 alice #rust :crabs",
                ":irc.test 333 alice #rust bob 1800000000",
                ":irc.test 353 alice = #rust :@bob alice",
                ":irc.test 366 alice #rust :End of /NAMES list",
                ":bob!bob@chatproto PRIVMSG #rust :[08:00] first",
            ],
        )
        (join,) = self.bob.received()
        self.assertEqual((join["event"], join["user"], join["room"]), ("join", "alice", "#rust"))
        self.alice.send("JOIN #rust")  # in it already: nothing
        self.assertEqual(self.alice.lines(), [])

    def test_a_new_room_has_no_topic_line(self) -> None:
        self.alice.send("JOIN #new,#other")
        self.assertEqual(
            self.alice.lines(),
            [
                ":alice!alice@chatproto JOIN #new",
                ":irc.test 353 alice = #new :@alice",
                ":irc.test 366 alice #new :End of /NAMES list",
                ":alice!alice@chatproto JOIN #other",
                ":irc.test 353 alice = #other :@alice",
                ":irc.test 366 alice #other :End of /NAMES list",
            ],
        )

    def test_chat_stays_in_its_room(self) -> None:
        self.alice.send("JOIN #rust")
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.alice.lines()
        self.bob.received()
        self.alice.send("PRIVMSG #rust :in rust", "NOTICE #rust :notice too")
        said = self.bob.received()
        self.assertEqual(
            [(packet["message"], packet["room"]) for packet in said],
            [("in rust", "#rust"), ("notice too", "#rust")],
        )
        self.assertEqual(self.carol.lines(), [])  # carol is in #chat only
        self.bob.send_json({"message": "back", "room": "#rust"})
        self.assertEqual(self.alice.lines(), [":bob!bob@chatproto PRIVMSG #rust :back"])
        self.bob.send_json({"message": "in chat"})
        self.assertEqual(self.alice.lines(), [":bob!bob@chatproto PRIVMSG #chat :in chat"])

    def test_privmsg_to_a_room_one_is_not_in(self) -> None:
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.alice.send("PRIVMSG #rust :hi", "PRIVMSG #nowhere :hi", "PRIVMSG &x :hi")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 404 alice #rust :You are not in #rust",
                ":irc.test 403 alice #nowhere :No such channel",
                ":irc.test 403 alice &x :No such channel: a room name starts with #",
            ],
        )
        self.alice.send("NOTICE #rust :hi")  # a NOTICE is never answered
        self.assertEqual(self.alice.lines(), [])

    def test_part_with_text(self) -> None:
        self.alice.send("JOIN #rust")
        self.carol.send("JOIN #rust")
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.alice.lines()
        self.carol.lines()
        self.bob.received()
        self.alice.send("PART #rust :see you")
        self.assertEqual(self.alice.lines(), [":alice!alice@chatproto PART #rust :see you"])
        self.assertEqual(self.carol.lines(), [":alice!alice@chatproto PART #rust :see you"])
        (leave,) = self.bob.received()
        self.assertEqual(
            (leave["reason"], leave["room"], leave["text"]), ("part", "#rust", "see you")
        )
        self.alice.send("PART #rust", "PART #nowhere,#bad\x07")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 442 alice #rust :You're not on that channel",
                ":irc.test 403 alice #nowhere :No such channel",
                ":irc.test 403 alice #bad\x07 :No such channel",
            ],
        )

    def test_a_packet_client_parting_is_a_part(self) -> None:
        self.bob.send_json({"command": "part"})
        self.assertEqual(self.alice.lines(), [":bob!bob@chatproto PART #chat"])

    def test_join_past_the_limit(self) -> None:
        self.alice.send("JOIN #a,#b,#c")
        lines = self.alice.lines()
        self.assertEqual(lines[-1], ":irc.test 405 alice #c :You are in 3 rooms already: part one")
        self.assertEqual(lines.count(":alice!alice@chatproto JOIN #b"), 1)

    def test_join_zero_parts_every_room(self) -> None:
        self.alice.send("JOIN #a", "JOIN 0")
        self.assertEqual(
            self.alice.lines()[-2:],
            [":alice!alice@chatproto PART #chat", ":alice!alice@chatproto PART #a"],
        )
        self.assertEqual(self.alice.session.rooms, {})

    def test_topic(self) -> None:
        self.alice.send("TOPIC #chat")
        self.assertEqual(self.alice.lines(), [":irc.test 331 alice #chat :No topic is set"])
        self.alice.send("TOPIC #chat :news here")
        topic_line = ":alice!alice@chatproto TOPIC #chat :news here"
        self.assertEqual(self.alice.lines(), [topic_line])
        self.assertEqual(self.carol.lines(), [topic_line])
        (topic,) = self.bob.received()
        self.assertEqual((topic["event"], topic["topic"]), ("topic", "news here"))
        self.carol.send("TOPIC #CHAT")
        self.assertEqual(
            self.carol.lines(),
            [
                ":irc.test 332 carol #chat :news here",
                ":irc.test 333 carol #chat alice 1800000000",
            ],
        )
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.alice.send("TOPIC #nowhere", "TOPIC #rust :mine", "TOPIC #chat :\x02x")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 403 alice #nowhere :No such channel",
                ":irc.test 442 alice #rust :You're not on that channel",
                ":irc.test NOTICE alice :TOPIC refused (control-chars): "
                "a topic may not contain control characters",
            ],
        )

    def test_names_list_who(self) -> None:
        self.bob.send_json({"command": "join", "room": "#rust"})
        self.bob.send_json({"command": "topic", "room": "#rust", "topic": "crabs"})
        self.alice.send("NAMES #rust,#nowhere")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 353 alice = #rust :@bob",
                ":irc.test 366 alice #rust :End of /NAMES list",
                ":irc.test 366 alice #nowhere :End of /NAMES list",
            ],
        )
        self.alice.send("LIST")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 322 alice #chat 3 :",
                ":irc.test 322 alice #rust 1 :crabs",
                ":irc.test 323 alice :End of /LIST",
            ],
        )
        self.alice.send("LIST #RUST,#nowhere")
        self.assertEqual(
            self.alice.lines(),
            [":irc.test 322 alice #rust 1 :crabs", ":irc.test 323 alice :End of /LIST"],
        )
        self.alice.send("WHO #rust", "WHO #nowhere")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 352 alice #rust bob chatproto irc.test bob H@ :0 bob",
                ":irc.test 315 alice #rust :End of WHO list",
                ":irc.test 315 alice #nowhere :End of WHO list",
            ],
        )

    def test_one_quit_however_many_rooms(self) -> None:
        for client in (self.alice, self.carol):
            client.send("JOIN #a,#b")
        self.alice.lines()
        self.carol.send("QUIT :gone fishing")
        self.assertEqual(self.alice.lines(), [":carol!carol@chatproto QUIT :gone fishing"])
        (leave,) = self.bob.received()
        self.assertEqual((leave["reason"], leave["text"]), ("bye", "gone fishing"))
        # Back again, and gone again: a second QUIT.
        carol = FakeIrcClient(self.room, self.alice.factory)
        carol.register("carol")
        carol.send("JOIN #a")
        carol.drop()
        lines = self.alice.lines()
        self.assertEqual(lines[0], ":carol!carol@chatproto JOIN #chat")
        self.assertEqual(
            [line for line in lines if " QUIT " in line],
            [":carol!carol@chatproto QUIT :Connection lost"],
        )

    def test_a_quit_seen_in_several_rooms_does_not_hide_a_later_one_after_parting(self) -> None:
        for client in (self.alice, self.carol):
            client.send("JOIN #a,#b")
        self.carol.send("QUIT :gone fishing")
        self.alice.send("PART #a,#b")  # alice is in one room now
        carol = FakeIrcClient(self.room, self.alice.factory)
        carol.register("carol")  # alice sees her join, in that one room
        self.alice.send("JOIN #b")  # a room without carol
        self.alice.lines()
        carol.send("QUIT :gone again")
        self.assertEqual(
            [line for line in self.alice.lines() if " QUIT " in line],
            [":carol!carol@chatproto QUIT :gone again"],
        )


class NoAutojoinTests(SynchronousTestCase):
    """--no-irc-autojoin: registration joins no room."""

    def test_the_options_reach_the_door(self) -> None:
        options = Options()
        history = self.mktemp()
        options.parseOptions(["--history-file", history, "--irc-port", "tcp:0"])
        self.assertEqual(
            (options.irc_server().autojoin, options.irc_server().max_rooms_per_member),
            (True, 20),
        )
        options = Options()
        options.parseOptions(
            [
                *("--history-file", history, "--irc-port", "tcp:0"),
                *("--no-irc-autojoin", "--max-rooms-per-member", "5"),
            ]
        )
        self.assertEqual(
            (options.irc_server().autojoin, options.irc_server().max_rooms_per_member),
            (False, 5),
        )

    def test_registration_joins_nothing(self) -> None:
        room, _, _ = make_room(MemoryHistory())
        bob = FakeClient(room)
        bob.join("bob")
        server = ServerInfo(name="irc.test", created="today", autojoin=False)
        alice = FakeIrcClient(room, IrcFactory(room, server))
        lines = alice.register("alice")
        self.assertEqual(lines[-1], ":irc.test 376 alice :End of /MOTD command.")
        self.assertEqual(bob.received(), [])
        bob.send_json({"message": "unseen"})
        self.assertEqual(alice.lines(), [])
        bob.send_json({"command": "who"})
        self.assertEqual(bob.received()[-1]["users"], ["bob"])
        alice.send("WHOIS bob")  # in no room together: still known
        self.assertEqual(alice.lines()[0], ":irc.test 311 alice bob bob chatproto * :bob")
        carol = FakeIrcClient(room, IrcFactory(room, server))
        carol.register("carol")
        carol.send("WHOIS alice")  # in no room at all: still known
        self.assertEqual(carol.lines()[0][:31], ":irc.test 311 carol alice ~alic")
        alice.send("JOIN #chat")
        self.assertEqual(alice.lines()[:1], [":alice!alice@chatproto JOIN #chat"])
        self.assertEqual(bob.events(), ["join"])


class QuitAfterNamesTests(SynchronousTestCase):
    """A quitter seen again only in the names of a room one enters quits visibly again."""

    def test_quit_again_after_names(self) -> None:
        room, _, _ = make_room()
        alice = FakeIrcClient(room)
        alice.register("alice")
        bob = FakeIrcClient(room, alice.factory)
        bob.register("bob")
        bob.send("QUIT")
        self.assertIn(":bob!bob@chatproto QUIT :Quit", alice.lines())
        bob = FakeIrcClient(room, alice.factory)
        bob.register("bob")
        bob.send("JOIN #rust")
        alice.send("PART #chat", "JOIN #rust")  # sees bob in #rust's names only
        alice.lines()
        bob.send("QUIT")
        self.assertEqual(alice.lines(), [":bob!bob@chatproto QUIT :Quit"])
