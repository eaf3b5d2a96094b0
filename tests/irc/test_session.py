"""The IRC door on the room: what an IRC client sees, on fakes (StringTransport, task.Clock).

docs/protocol.md section 10; the wire-level pieces have tests of their own.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from chatproto.core.config import RoomConfig
from chatproto.core.hall import Hall
from chatproto.core.nicknames import nickname_key
from chatproto.core.records import json_string
from chatproto.doors.irc.protocol import IrcFactory
from chatproto.seams.presence import IPresence, LocalPresence
from tests.fakes import FakeClient, MemoryHistory, make_room
from tests.irc.fakes import SERVER, FakeIrcClient
from tests.irc.helpers import ISUPPORT_TO_ALICE, LISTED_302

STAMP = "2026-11-24T03:30:44.123Z"


def stored(history: MemoryHistory, *messages: tuple[str, str]) -> None:
    """Put chat records from (nickname, text) pairs into C{history}."""
    for nickname, text in messages:
        history.add(b'"timestamp":"%s","nickname":"%s","message":"%s"}' % (
            STAMP.encode(), nickname.encode(), text.encode()
        ))  # fmt: skip


class RegistrationTests(SynchronousTestCase):
    """Registration, the join burst and the replay."""

    def setUp(self) -> None:
        history = MemoryHistory()
        stored(history, ("old", "first"), ("old", "second\\nline"))
        self.room, self.clock, self.history = make_room(history)

    def test_the_room_joins_the_client(self) -> None:
        bob = FakeClient(self.room)
        bob.join("bob")
        alice = FakeIrcClient(self.room)
        lines = alice.register("alice")
        self.assertEqual(
            lines[:6],
            [
                ":irc.test 001 alice :Welcome to the chatproto network, alice!alice@chatproto",
                ":irc.test 002 alice :Your host is irc.test, running version chatproto-0.1.0",
                ":irc.test 003 alice :This server was created today",
                ":irc.test 004 alice irc.test chatproto-0.1.0 i bmnoqtv",
                *ISUPPORT_TO_ALICE,
            ],
        )
        self.assertEqual([text.split()[1] for text in lines[6:9]], ["375", "372", "376"])
        self.assertEqual(
            lines[9:],
            [
                ":alice!alice@chatproto JOIN #chat",
                ":irc.test 353 alice = #chat :bob alice",
                ":irc.test 366 alice #chat :End of /NAMES list",
                ":old!old@chatproto PRIVMSG #chat :[03:30] first",
                ":old!old@chatproto PRIVMSG #chat :[03:30] second",
                ":old!old@chatproto PRIVMSG #chat :[03:30] line",
            ],
        )
        self.assertEqual(bob.events(), ["join"])

    def test_replay_with_server_time_and_batch(self) -> None:
        alice = FakeIrcClient(self.room)
        lines = alice.register("alice", "server-time", "batch")
        start = lines.index(":irc.test 366 alice #chat :End of /NAMES list") + 1
        self.assertEqual(
            lines[start:],
            [
                ":irc.test BATCH +history chathistory #chat",
                f"@batch=history;time={STAMP} :old!old@chatproto PRIVMSG #chat :first",
                f"@batch=history;time={STAMP} :old!old@chatproto PRIVMSG #chat :second",
                f"@batch=history;time={STAMP} :old!old@chatproto PRIVMSG #chat :line",
                ":irc.test BATCH -history",
            ],
        )

    def test_capability_negotiation_holds_registration_until_cap_end(self) -> None:
        alice = FakeIrcClient(self.room)
        alice.send("CAP LS 302", "NICK alice", "USER a 0 * :Alice")
        self.assertEqual(
            alice.lines(),
            [":irc.test CAP * LS :" + LISTED_302],
        )
        alice.send("CAP REQ :server-time away-notify", "CAP REQ :server-time")
        self.assertEqual(
            alice.lines(),
            [":irc.test CAP * NAK :server-time away-notify", ":irc.test CAP * ACK :server-time"],
        )
        alice.send("CAP END")
        self.assertIn(":irc.test 001 alice :Welcome", alice.lines()[0])
        alice.send("CAP LIST")
        self.assertEqual(alice.lines(), [":irc.test CAP alice LIST :server-time"])

    def test_nicknames_collide_across_doors(self) -> None:
        bob = FakeClient(self.room)
        bob.join("bob")
        alice = FakeIrcClient(self.room)
        alice.send("NICK BOB", "USER a 0 * :a")
        self.assertEqual(alice.lines(), [":irc.test 433 * BOB :Nickname is already in use"])
        alice.send("NICK ａlice")  # full width: NFKC makes it alice
        self.assertIn(":irc.test 001 alice ", alice.lines()[0])
        carol = FakeClient(self.room)
        carol.received()
        carol.send("ALICE")
        self.assertEqual(carol.received(), ["RETRY"])

    def test_invalid_nicknames(self) -> None:
        alice = FakeIrcClient(self.room)
        alice.send("NICK a,b", "NICK server", "NICK")
        self.assertEqual(
            alice.lines(),
            [
                ":irc.test 432 * a,b :Erroneous nickname: a nickname cannot contain ','",
                ":irc.test 432 * server :Erroneous nickname: 'server' is reserved",
                ":irc.test 431 * :No nickname given",
            ],
        )

    def test_commands_before_registration(self) -> None:
        alice = FakeIrcClient(self.room)
        alice.send("PRIVMSG #chat :hi", "PING :t")
        self.assertEqual(
            alice.lines(),
            [":irc.test 451 * :You have not registered", ":irc.test PONG irc.test t"],
        )

    def test_quit_before_registration(self) -> None:
        alice = FakeIrcClient(self.room)
        alice.send("NICK alice", "QUIT :changed my mind", "USER a 0 * :a")
        self.assertEqual(alice.lines(), ["ERROR :Closing link (Quit: changed my mind)"])
        self.assertTrue(alice.closed)
        self.assertTrue(self.room.is_free("alice"))

    def test_handshake_timeout(self) -> None:
        alice = FakeIrcClient(self.room)
        alice.send("CAP LS")
        alice.lines()
        self.clock.advance(30)
        self.assertEqual(alice.lines(), ["ERROR :Closing link (Registration timed out)"])
        self.assertTrue(alice.closed)

    def test_server_full(self) -> None:
        room, _, _ = make_room(max_clients=1)
        FakeClient(room)
        alice = FakeIrcClient(room)
        self.assertEqual(
            alice.lines(),
            [
                ":irc.test NOTICE * :The server is full (server-full)",
                "ERROR :Closing link (Server full)",
            ],
        )
        self.assertTrue(alice.closed)


@implementer(IPresence)
class SlowPresence(LocalPresence):
    """Presence that answers a claim only when the test says (as a shared store would)."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[Deferred[bool], str, bytes, str]] = []

    def claim(self, key: str, encoded_nickname: bytes, resume_token: str) -> Deferred[bool]:
        answer: Deferred[bool] = Deferred()
        self.pending.append((answer, key, encoded_nickname, resume_token))
        return answer

    def answer(self) -> None:
        answer, key, encoded, token = self.pending.pop(0)
        super().claim(key, encoded, token).chainDeferred(answer)


@implementer(IPresence)
class UnreachablePresence(LocalPresence):
    """Presence whose store cannot confirm that a nickname is free (it went away)."""

    def release(self, key: str) -> Deferred[None]:
        super().release(key)
        return fail(ConnectionError("the store is unreachable"))


class PendingClaimTests(SynchronousTestCase):
    """While the room decides on the nickname, the client's next lines wait, in order."""

    def test_lines_wait_for_the_answer(self) -> None:
        presence = SlowPresence()
        room = Hall(RoomConfig(), MemoryHistory(), Clock(), presence=presence)
        alice = FakeIrcClient(room)
        alice.send("NICK alice", "USER a 0 * :a", "PING :one", "PRIVMSG #chat :hello")
        self.assertEqual(alice.lines(), [])
        self.assertEqual(alice.transport.producerState, "paused")
        presence.answer()
        lines = alice.lines()
        self.assertIn(":irc.test 001 alice ", lines[0])
        self.assertEqual(lines[-1], ":irc.test PONG irc.test one")
        self.assertEqual(alice.transport.producerState, "producing")
        self.assertEqual(room.nicknames(), [b'"alice"'])


class ChatTests(SynchronousTestCase):
    """Chat between the IRC door and the word-packet door, both ways."""

    def setUp(self) -> None:
        self.room, self.clock, self.history = make_room()
        self.bob = FakeClient(self.room)
        self.bob.join("bob")
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice")
        self.bob.received()

    def test_public_messages_both_ways(self) -> None:
        self.alice.send("PRIVMSG #chat :hello bob", "NOTICE #CHAT :a notice is chat too")
        self.assertEqual(
            self.bob.events(), [("alice", "hello bob"), ("alice", "a notice is chat too")]
        )
        self.assertEqual(self.alice.lines(), [])  # no echo-message: no copy of its own
        self.bob.send_json({"message": "hi alice"})
        self.assertEqual(self.alice.lines(), [":bob!bob@chatproto PRIVMSG #chat :hi alice"])

    def test_other_rooms_stay_off_irc_and_a_part_of_the_room_is_a_part(self) -> None:
        self.bob.send_json({"command": "join", "room": "#elsewhere"})
        self.bob.send_json({"message": "not for irc", "room": "#elsewhere"})
        self.bob.send_json({"command": "part"})
        self.assertEqual(self.alice.lines(), [":bob!bob@chatproto PART #chat"])

    def test_echo_message_gives_the_sender_its_copy(self) -> None:
        carol = FakeIrcClient(self.room)
        carol.register("carol", "echo-message", "server-time")
        carol.send("PRIVMSG #chat :mine", "PRIVMSG bob :private")
        self.assertEqual(
            carol.lines(),
            [
                f"@time={self.room.timestamp()} :carol!carol@chatproto PRIVMSG #chat :mine",
                f"@time={self.room.timestamp()} :carol!carol@chatproto PRIVMSG bob :private",
            ],
        )

    def test_actions(self) -> None:
        self.alice.send("PRIVMSG #chat :\x01ACTION waves\x01")
        self.assertEqual(self.bob.events(), [("alice", "* alice waves")])
        self.bob.send_json({"message": "* bob bows"})
        self.assertEqual(
            self.alice.lines(), [":bob!bob@chatproto PRIVMSG #chat :\x01ACTION bows\x01"]
        )

    def test_private_messages_both_ways(self) -> None:
        self.alice.send("PRIVMSG Bob :psst")
        (packet,) = self.bob.received()
        self.assertEqual(
            (packet["nickname"], packet["to"], packet["message"]), ("alice", "bob", "psst")
        )
        self.assertEqual(self.alice.lines(), [])
        self.bob.send_json({"message": "back", "to": "ALICE"})
        self.assertEqual(self.alice.lines(), [":bob!bob@chatproto PRIVMSG alice :back"])
        self.alice.send("PRIVMSG alice :note to self")
        self.assertEqual(self.alice.lines(), [":alice!alice@chatproto PRIVMSG alice :note to self"])

    def test_several_targets(self) -> None:
        self.alice.send("PRIVMSG #chat,bob,#other :both")
        self.assertEqual(
            self.alice.lines(),
            [":irc.test 403 alice #other :No such channel"],
        )
        self.assertEqual(len(self.bob.received()), 2)
        self.alice.send("PRIVMSG bob,#chat,BOB :once each")
        self.assertEqual(self.alice.lines(), [])
        self.assertEqual(len(self.bob.received()), 2)
        self.alice.send("PRIVMSG bob,bob,bob,bob,bob :five")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 407 alice bob,bob,bob,bob,bob"
                " :Too many targets for PRIVMSG (at most 4): nothing was done"
            ],
        )
        self.assertEqual(self.bob.received(), [])

    def test_core_errors_become_numerics(self) -> None:
        self.alice.send(
            "PRIVMSG nobody :x", "PRIVMSG #chat :   ", "PRIVMSG #chat :\x02bold\x02", "FOO bar"
        )
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 401 alice nobody :No such nick/channel",
                ":irc.test 412 alice :No text to send",
                ":irc.test NOTICE alice :PRIVMSG refused (control-chars):"
                " a message may not contain control characters",
                ":irc.test 421 alice FOO :Unknown command",
            ],
        )
        self.assertEqual(self.bob.received(), [])

    def test_notice_never_causes_a_reply(self) -> None:
        self.alice.send("NOTICE nobody :x", "NOTICE #chat :", "NOTICE #chat :\x01VERSION\x01")
        self.assertEqual(self.alice.lines(), [])

    def test_message_that_cannot_be_stored(self) -> None:
        self.history.fail = True
        self.alice.send("PRIVMSG #chat :lost")
        self.assertEqual(
            self.alice.lines(),
            [":irc.test NOTICE * :The message could not be stored (unavailable)"],
        )

    def test_lines_and_long_lines_are_split(self) -> None:
        text = "first line\n" + "é" * 1500
        self.bob.send_json({"message": text})
        lines = self.alice.lines()
        prefix = ":bob!bob@chatproto PRIVMSG #chat :"
        self.assertEqual(lines[0], prefix + "first line")
        self.assertGreater(len(lines), 3)
        self.assertTrue(all(line.startswith(prefix) for line in lines))
        self.assertTrue(all(len(line.encode()) + 2 <= 512 for line in lines))
        self.assertEqual("".join(line.removeprefix(prefix) for line in lines[1:]), "é" * 1500)

    def test_a_reply_comes_after_what_the_client_is_owed(self) -> None:
        self.bob.send_json({"message": "before the ping"})  # queued for this turn
        self.alice.send("PING :sync")
        self.assertEqual(
            self.alice.lines(),
            [":bob!bob@chatproto PRIVMSG #chat :before the ping", ":irc.test PONG irc.test sync"],
        )

    def test_presence_of_other_doors(self) -> None:
        carol = FakeClient(self.room)
        carol.join("carol")
        self.assertEqual(self.alice.lines(), [":carol!carol@chatproto JOIN #chat"])
        carol.send("BYE")
        carol.drop()
        self.bob.drop()
        self.assertEqual(
            self.alice.lines(),
            [":carol!carol@chatproto QUIT :Quit", ":bob!bob@chatproto QUIT :Connection lost"],
        )

    def test_codecs_are_shared_per_live_capabilities(self) -> None:
        plain = FakeIrcClient(self.room)
        plain.register("plain", "batch", "multi-prefix")
        timed = FakeIrcClient(self.room)
        timed.register("timed", "server-time")
        timed_too = FakeIrcClient(self.room)
        timed_too.register("timed2", "server-time", "batch")
        self.assertIs(plain.session.codec, self.alice.session.codec)
        self.assertIs(timed.session.codec, timed_too.session.codec)
        self.assertIsNot(plain.session.codec, timed.session.codec)


class QueryTests(SynchronousTestCase):
    """NAMES, WHO, WHOIS and the commands answered without the room."""

    def setUp(self) -> None:
        self.room, self.clock, _ = make_room()
        for name in ("bob", "bobby"):
            FakeClient(self.room).join(name)
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice")

    def test_names(self) -> None:
        self.alice.send("NAMES", "NAMES #other")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 353 alice = #chat :bob bobby alice",
                ":irc.test 366 alice #chat :End of /NAMES list",
                ":irc.test 366 alice #other :End of /NAMES list",
            ],
        )

    def test_who(self) -> None:
        self.alice.send("WHO B?B*", "WHO #other")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 352 alice * bob chatproto irc.test bob H :0 bob",
                ":irc.test 352 alice * bobby chatproto irc.test bobby H :0 bobby",
                ":irc.test 315 alice B?B* :End of WHO list",
                ":irc.test 315 alice #other :End of WHO list",
            ],
        )
        self.alice.send("WHO #chat")
        self.assertEqual(len(self.alice.lines()), 4)

    def test_whois(self) -> None:
        self.alice.send("WHOIS BOB", "WHOIS irc.test nobody", "WHOIS")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 311 alice bob bob chatproto * :bob",
                ":irc.test 318 alice bob :End of /WHOIS list",
                ":irc.test 401 alice nobody :No such nick/channel",
                ":irc.test 318 alice nobody :End of /WHOIS list",
                ":irc.test 431 alice :No nickname given",
            ],
        )

    def test_identity_fields(self) -> None:
        """An IRC client's username (as ~username) and realname from USER; the nickname
        in both places for the other doors' members."""
        carol = FakeIrcClient(self.room)
        carol.send("NICK carol", "USER c@r!ol 0 * :Carol Q. Public")
        carol.lines()
        self.assertEqual(self.alice.lines(), [":carol!carol@chatproto JOIN #chat"])
        self.alice.send("WHOIS carol", "WHO carol", "WHO #chat")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 311 alice carol ~crol chatproto * :Carol Q. Public",
                ":irc.test 318 alice carol :End of /WHOIS list",
                ":irc.test 352 alice * ~crol chatproto irc.test carol H :0 Carol Q. Public",
                ":irc.test 315 alice carol :End of WHO list",
                ":irc.test 352 alice #chat bob chatproto irc.test bob H :0 bob",
                ":irc.test 352 alice #chat bobby chatproto irc.test bobby H :0 bobby",
                ":irc.test 352 alice #chat ~alice chatproto irc.test alice H :0 alice",
                ":irc.test 352 alice #chat ~crol chatproto irc.test carol H :0 Carol Q. Public",
                ":irc.test 315 alice #chat :End of WHO list",
            ],
        )

    def test_local_commands(self) -> None:
        self.alice.send("JOIN #chat", "MODE #chat", "TOPIC #chat", "NICK other", "TIME")
        lines = self.alice.lines()
        self.assertEqual(
            lines[:4],
            [
                ":irc.test 324 alice #chat +n",
                ":irc.test 329 alice #chat 1800000000",
                ":irc.test 331 alice #chat :No topic is set",
                ":irc.test 447 alice :Nickname changes are not supported: reconnect instead",
            ],
        )
        self.assertRegex(lines[4], r"^:irc.test 391 alice irc.test :\w+day ")


class LeavingTests(SynchronousTestCase):
    """QUIT, PART, shutdown, the idle ping and the limits."""

    def setUp(self) -> None:
        self.room, self.clock, _ = make_room(rate=1, burst=3, flood_errors=3)
        self.bob = FakeClient(self.room)
        self.bob.join("bob")
        self.factory = IrcFactory(self.room, SERVER, ping_interval=60, ping_timeout=30)
        self.alice = FakeIrcClient(self.room, self.factory)
        self.alice.register("alice")
        self.bob.received()

    def test_quit(self) -> None:
        self.bob.send_json({"message": "owed"})
        self.alice.send("QUIT :bye all", "PRIVMSG #chat :too late")
        self.assertEqual(
            self.alice.lines(),
            [":bob!bob@chatproto PRIVMSG #chat :owed", "ERROR :Closing link (Quit: bye all)"],
        )
        self.assertTrue(self.alice.closed)
        self.assertEqual(self.bob.received()[-1]["reason"], "bye")
        self.assertTrue(self.room.is_free("alice"))

    def test_a_quit_text_no_line_may_hold_still_closes(self) -> None:
        """A QUIT with NUL once left the connection open, holding its address's place."""
        room, _, _ = make_room(max_per_ip=1)
        mallory = FakeIrcClient(room, host="203.0.113.7")
        mallory.register("mallory")
        mallory.send(b"QUIT :bye\x00")
        self.assertEqual(mallory.lines(), ["ERROR :Closing link (Quit: bye\ufffd)"])
        self.assertTrue(mallory.closed)
        self.assertTrue(room.is_free("mallory"))
        mallory.drop()  # the transport is gone once the ERROR is written
        again = FakeIrcClient(room, host="203.0.113.7")
        self.assertEqual(again.lines(), [])  # admitted: the address's one place is free
        self.assertEqual(room.connection_count(), 1)

    def test_a_close_that_fails_still_drops_the_connection(self) -> None:
        room = Hall(RoomConfig(), MemoryHistory(), Clock(), presence=UnreachablePresence())
        mallory = FakeIrcClient(room)
        mallory.register("mallory")
        mallory.send("QUIT")
        self.assertTrue(mallory.transport.disconnected)  # aborted, not left open
        self.assertEqual(len(self.flushLoggedErrors(ConnectionError)), 1)

    def test_part(self) -> None:
        self.alice.send("PART #other")
        self.assertEqual(self.alice.lines(), [":irc.test 403 alice #other :No such channel"])
        self.alice.send("PART #chat :later")
        self.assertEqual(self.alice.lines(), [":alice!alice@chatproto PART #chat :later"])
        self.assertFalse(self.alice.closed)  # the connection stays, in no room
        (leave,) = self.bob.received()
        self.assertEqual(
            (leave["event"], leave["reason"], leave["text"]), ("leave", "part", "later")
        )
        self.alice.send("PART #chat")
        self.assertEqual(
            self.alice.lines(), [":irc.test 442 alice #chat :You're not on that channel"]
        )

    def test_shutdown(self) -> None:
        self.room.announce_shutdown(5)
        self.assertEqual(
            self.alice.lines(), [":irc.test NOTICE #chat :Server closing in 5 seconds"]
        )
        self.room.close_all()
        self.assertEqual(self.alice.lines(), ["ERROR :Closing link (Server shutting down)"])
        self.assertTrue(self.alice.closed)

    def test_idle_client_is_pinged_and_kept_when_it_answers(self) -> None:
        self.clock.advance(59)
        self.alice.send("PRIVMSG #chat :still here")  # activity puts the ping off
        self.clock.advance(59)
        self.assertEqual(self.alice.lines(), [])
        self.clock.advance(1)
        self.assertEqual(self.alice.lines(), [":irc.test PING irc.test"])
        self.clock.advance(29)
        self.alice.send("PONG :irc.test")
        self.clock.advance(1)
        self.assertFalse(self.alice.closed)
        self.clock.advance(59)
        self.assertEqual(self.alice.lines(), [":irc.test PING irc.test"])

    def test_silent_client_is_dropped(self) -> None:
        self.clock.advance(60)
        self.assertEqual(self.alice.lines(), [":irc.test PING irc.test"])
        self.clock.advance(30)
        self.assertEqual(self.alice.lines(), ["ERROR :Closing link (Ping timeout)"])
        self.assertTrue(self.alice.closed)
        (leave,) = self.bob.received()
        self.assertEqual((leave["user"], leave["reason"]), ("alice", "disconnected"))
        self.assertTrue(self.room.is_free("alice"))

    def test_rate_limit_and_flood(self) -> None:
        self.alice.send(*[f"PRIVMSG #chat :{n}" for n in range(5)])
        self.assertEqual(len(self.bob.received()), 3)  # the burst
        self.assertEqual(
            self.alice.lines(),
            [":irc.test NOTICE alice :PRIVMSG refused (rate-limited): Too many frames: slow down"
             f" (retry after {wait} s)" for wait in (1.0, 1.0)],
        )  # fmt: skip
        self.alice.send("PING :x", "QUIT")
        self.assertEqual(
            self.alice.lines()[1:], ["ERROR :Closing link (Excess flood)"]
        )  # after the third refusal in a row
        self.assertEqual(self.bob.received()[-1]["reason"], "flood")

    def test_quit_is_never_rate_limited(self) -> None:
        self.alice.send("PING :1", "PING :2", "PING :3", "PING :4", "QUIT")
        self.assertEqual(self.alice.lines()[-1], "ERROR :Closing link (Quit)")

    def test_a_choosing_client_is_throttled_not_refused(self) -> None:
        carol = FakeIrcClient(self.room, self.factory)
        carol.send("CAP LS", "CAP LIST", "CAP LIST", "CAP LIST", "NICK carol", "USER c 0 * :c")
        self.assertEqual(len(carol.lines()), 4)
        self.assertEqual(carol.transport.producerState, "paused")
        self.clock.advance(1)
        self.assertEqual(len(carol.lines()), 0)  # CAP LS holds registration: nothing yet
        carol.send("CAP END")
        self.clock.advance(2)
        self.assertIn(" 001 carol ", carol.lines()[0])


class OutputBoundTests(SynchronousTestCase):
    """--sendq-bytes bounds what an IRC client that does not read may owe."""

    def test_a_client_that_does_not_read_is_cut_off(self) -> None:
        room, _, _ = make_room(sendq_bytes=4096, rate=0)
        bob = FakeClient(room)
        bob.join("bob")
        carol = FakeIrcClient(room)
        carol.register("carol")
        alice = FakeIrcClient(room, buffer_limit=1024)
        alice.register("alice")
        carol.lines()
        seen = []
        for n in range(100):
            bob.send_json({"message": f"message {n} " + "x" * 100})
            seen += carol.lines()
        self.assertTrue(alice.transport.disconnecting)
        self.assertIn(":alice!alice@chatproto QUIT :Too slow to read (send queue full)", seen)
        self.assertEqual(len([line for line in seen if "PRIVMSG" in line]), 100)  # unaffected
        self.assertTrue(room.is_free("alice"))


class BigRoomTests(SynchronousTestCase):
    """A room too big to list in one welcome packet is listed whole on IRC."""

    def test_names_list_everyone(self) -> None:
        presence = LocalPresence()
        names = [f"{n:04d}" + "x" * 28 for n in range(1900)]  # 32 characters each
        for name in names:  # members of other nodes, as far as this one knows
            presence.claim(nickname_key(name), json_string(name), "token")
        room = Hall(RoomConfig(), MemoryHistory(), Clock(), presence=presence)
        alice = FakeIrcClient(room)
        lines = alice.register("alice")
        listed = [line.split(" :", 1)[1].split() for line in lines if " 353 " in line]
        self.assertEqual([name for line in listed for name in line], [*names, "alice"])


class BadInputTests(SynchronousTestCase):
    """Overlong lines, text that is not UTF-8 and garbage: a clear reply, nothing lost."""

    def setUp(self) -> None:
        self.room, _, _ = make_room()
        self.bob = FakeClient(self.room)
        self.bob.join("bob")
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice")
        self.bob.received()

    def test_bad_lines_then_a_good_one(self) -> None:
        self.alice.send(
            "PRIVMSG #chat :" + "x" * 600,
            b"PRIVMSG #chat :caf\xe9",
            b"\x00\x01\x02",
            "PRIVMSG #chat :fine",
        )
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test 417 alice :Input line was too long",
                ":irc.test FAIL PRIVMSG INVALID_UTF8 :Message rejected, your IRC software MUST"
                " use UTF-8",
                ":irc.test 421 alice * :Unknown command",
            ],
        )
        self.assertEqual(self.bob.events(), [("alice", "fine")])

    def test_a_line_split_across_reads(self) -> None:
        self.alice.protocol.dataReceived(b"PRIVMSG #chat :h\xc3")
        self.alice.protocol.dataReceived(b"\xa9llo\r")
        self.alice.protocol.dataReceived(b"\n")
        self.assertEqual(self.bob.events(), [("alice", "héllo")])
