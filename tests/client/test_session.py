"""The session's protocol logic, on StringTransports and a Clock: no network, no reactor."""

from __future__ import annotations

from twisted.internet.defer import fail
from twisted.trial.unittest import SynchronousTestCase

from chatproto.client.api import BYE_GRACE
from chatproto.client.commands import HELP
from chatproto.client.incoming import ChatMessage, Unreadable
from chatproto.client.session import NoNicknameError
from tests.client.fakes import Harness, chat, notice, welcome


class HandshakeTests(SynchronousTestCase):
    """Joining: the nickname, RETRY, the replay and the welcome."""

    def test_joins_with_the_given_nickname_and_shows_history_welcome_then_live(self) -> None:
        h = Harness("alice")
        h.connect()
        h.server("HELLO", "NICK")
        self.assertEqual(h.sent(), ["alice"])
        h.server(
            "READY",
            chat(1, "bob", "old", history=True),
            welcome(last_id=1, users=["bob", "alice"]),
            chat(2, "bob", "new"),
        )
        self.assertEqual(
            h.frontend.lines(),
            [
                "(history) [03:30] <bob> old",
                "[03:30] *** Welcome! Online (2): bob, alice",
                "[03:30] <bob> new",
            ],
        )
        self.assertEqual(h.frontend.joins, 1)

    def test_asks_for_a_nickname_and_explains_a_local_rejection(self) -> None:
        h = Harness(None)
        h.connect()
        h.server("HELLO", "NICK")
        [(problem, answer)] = h.frontend.questions
        self.assertIsNone(problem)
        answer.callback("two words")
        self.assertEqual(h.sent(), [])
        problem, answer = h.frontend.questions[1]
        self.assertEqual(problem, "That nickname is not allowed: a nickname cannot contain spaces.")
        answer.callback(" ｂob ")
        self.assertEqual(h.sent(), ["bob"])
        self.assertEqual(h.session.nickname, "bob")

    def test_retry_says_the_name_is_taken_and_asks_again(self) -> None:
        h = Harness("alice")
        h.connect()
        h.server("HELLO", "NICK", "RETRY")
        [(problem, answer)] = h.frontend.questions
        self.assertEqual(problem, "The nickname alice is taken.")
        answer.callback("alicia")
        self.assertEqual(h.sent(), ["alice", "alicia"])
        h.server("READY", welcome(users=["alice", "alicia"]))
        self.assertEqual(h.frontend.joins, 1)

    def test_a_front_end_that_cannot_ask_ends_the_program(self) -> None:
        h = Harness("alice")
        h.frontend.ask_nickname = lambda problem: fail(NoNicknameError(problem))  # type: ignore[method-assign]
        h.connect()
        h.server("HELLO", "NICK", "RETRY")
        self.assertEqual(h.exits, [(1, "The nickname alice is taken.")])

    def test_closed_before_joining_ends_the_program(self) -> None:
        h = Harness("alice")
        h.connect()
        h.drop(clean=True)
        [(status, message)] = h.exits
        self.assertEqual(status, 1)
        assert message is not None
        self.assertEqual(
            message,
            "the connection to chat.example:10328 ended before we joined (closed by the server)",
        )

    def test_a_drop_while_the_person_thinks_of_a_nickname_reconnects(self) -> None:
        h = Harness(None)
        h.connect()
        h.server("HELLO", "NICK")
        [(_, answer)] = h.frontend.questions
        h.drop(clean=True)
        self.assertEqual(h.exits, [])
        self.assertEqual(h.frontend.notices(), ["Connection lost (closed by the server)."])
        h.connect()
        h.server("HELLO", "NICK")
        self.assertEqual(len(h.frontend.questions), 1, "the question still stands")
        answer.callback("bob")
        self.assertEqual(h.sent(), ["bob"])

    def test_unreadable_frames_are_shown_escaped(self) -> None:
        h = Harness()
        h.join()
        h.frontend.lines()
        h.server(b"\xff\xfe", "not json", "{broken")
        shown = h.frontend.shown
        self.assertEqual([type(item) for item in shown], [Unreadable] * 3)


class SendingTests(SynchronousTestCase):
    """Messages and commands: one in flight, shown when the echo arrives."""

    def setUp(self) -> None:
        self.h = Harness("alice")
        self.h.join(last_id=0)
        self.h.frontend.lines()

    def test_own_message_appears_when_the_echo_arrives(self) -> None:
        h = self.h
        h.session.typed("hello")
        self.assertEqual(h.sent(), [{"message": "hello"}])
        self.assertEqual(h.frontend.lines(), [])
        h.server(chat(1, "alice", "hello"))
        [echo] = h.frontend.shown
        assert isinstance(echo, ChatMessage)
        self.assertTrue(echo.own)

    def test_one_frame_in_flight_at_a_time(self) -> None:
        h = self.h
        h.session.typed("one")
        h.session.typed("two")
        self.assertEqual(h.sent(), [{"message": "one"}])
        h.server(chat(1, "ALICE", "one"))
        self.assertEqual(h.sent(), [{"message": "two"}])

    def test_a_rate_limited_message_is_sent_again_after_retry_after(self) -> None:
        h = self.h
        h.session.typed("one")
        h.sent()
        h.server(notice("error", "slow down", code="rate-limited", retry_after=0.25))
        h.clock.advance(0.2)
        self.assertEqual(h.sent(), [])
        h.clock.advance(0.05)
        self.assertEqual(h.sent(), [{"message": "one"}])
        self.assertEqual(h.frontend.lines(), [], "a handled rate limit is not worth a word")

    def test_a_rate_limit_with_nothing_in_flight_is_shown(self) -> None:
        h = self.h
        h.server(notice("error", "slow down", code="rate-limited", retry_after=0.25))
        self.assertEqual(h.frontend.lines(), ["[03:30] !!! slow down (rate-limited)"])

    def test_a_rejected_message_is_dropped_and_the_next_goes(self) -> None:
        h = self.h
        h.session.typed("x" * 5000)
        h.session.typed("short")
        h.sent()
        h.server(notice("error", "too long", code="too-long"))
        self.assertEqual(h.sent(), [{"message": "short"}])
        self.assertIn("[03:30] !!! too long (too-long)", h.frontend.lines())

    def test_slash_commands(self) -> None:
        h = self.h
        h.session.typed("/msg bob psst")
        self.assertEqual(h.sent(), [{"message": "psst", "to": "bob"}])
        h.server(chat(None, "alice", "psst", to="bob"))
        h.session.typed("/who")
        self.assertEqual(h.sent(), [{"command": "who"}])
        h.server(notice("who", users=["alice", "bob"]))
        h.session.typed("/ME waves")
        self.assertEqual(h.sent(), [{"message": "* alice waves"}])
        h.server(chat(1, "alice", "* alice waves"))
        h.session.typed("//quit")
        self.assertEqual(h.sent(), [{"message": "/quit"}])
        h.session.typed("/help")
        h.session.typed("/nope")
        self.assertEqual(
            h.frontend.notices(), [HELP, "unknown command /nope; /help lists the commands"]
        )
        h.session.typed("/quit")
        self.assertEqual(h.exits, [(0, None)])

    def test_a_message_too_big_for_a_frame_is_refused_here(self) -> None:
        h = self.h
        h.session.typed("x" * 70000)
        self.assertEqual(h.sent(), [])
        self.assertEqual(h.frontend.notices(), ["That message is too long to send."])


class LeavingTests(SynchronousTestCase):
    """BYE: after everything was sent (pipe), or at once (Ctrl+C, /quit)."""

    def test_leave_sends_bye_and_waits_for_the_server_to_close(self) -> None:
        h = Harness()
        h.join()
        h.frontend.lines()
        left = h.session.leave()
        self.assertEqual(h.sent(), ["BYE"])
        self.assertNoResult(left)
        h.drop(clean=True)
        self.successResultOf(left)
        h.session.retrying(1, 0.5)
        self.assertEqual(h.frontend.lines(), [], "no reconnect talk while leaving")
        self.assertEqual(h.frontend.statuses, [])
        self.assertEqual(h.exits, [])

    def test_leave_closes_the_connection_itself_if_the_server_does_not(self) -> None:
        h = Harness()
        h.join()
        h.session.leave()
        h.clock.advance(BYE_GRACE)
        self.assertTrue(h.transport.disconnecting)

    def test_leave_while_offline_is_immediate(self) -> None:
        self.successResultOf(Harness().session.leave())

    def test_finish_waits_until_everything_was_answered(self) -> None:
        h = Harness()
        h.join()
        h.session.message("last words")
        h.session.message("  ")
        h.session.finish()
        self.assertEqual(h.exits, [])
        self.assertEqual(h.sent(), [{"message": "last words"}])
        h.server(chat(1, "alice", "last words"))
        self.assertEqual(h.exits, [(0, None)])

    def test_the_message_bye_means_leaving(self) -> None:
        h = Harness()
        h.join()
        h.session.message("BYE")
        self.assertEqual(h.sent(), [])
        self.assertEqual(h.exits, [(0, None)])


class ReconnectTests(SynchronousTestCase):
    """After a drop: say so, rejoin with the resume form, show nothing twice, lose nothing."""

    def test_resumes_since_the_last_id_and_shows_nothing_twice(self) -> None:
        h = Harness("alice")
        h.join(last_id=2)
        h.server(chat(3, "bob", "three"))
        h.frontend.lines()
        h.drop()
        self.assertEqual(
            h.frontend.lines(),
            [
                "--- Connection lost (Connection to the other side was lost in a non-clean "
                "fashion: network down)."
            ],
        )
        h.session.retrying(1, 1.25)
        h.session.retrying(2, 1.875)
        self.assertEqual(h.frontend.lines(), [], "attempts update the status, not the log")
        self.assertEqual(
            h.frontend.statuses,
            [
                "Reconnecting to chat.example:10328 in 1.2 s (attempt 1)...",
                "Reconnecting to chat.example:10328 in 1.9 s (attempt 2)...",
            ],
        )
        h.connect()
        self.assertIsNone(h.frontend.statuses[-1], "connected: the status line goes")
        h.server("HELLO", "NICK")
        self.assertEqual(h.sent(), [{"nickname": "alice", "since": 3}])
        h.server(
            "READY",
            chat(3, "bob", "three", history=True),
            chat(4, "bob", "four", history=True),
            welcome(last_id=4, first_id=1),
            chat(5, "bob", "five"),
        )
        self.assertEqual(
            h.frontend.lines(),
            [
                "--- Connected to chat.example:10328 again.",
                "(history) [03:30] <bob> four",
                "[03:30] *** Welcome! Online (1): alice",
                "[03:30] <bob> five",
            ],
        )
        self.assertEqual(h.exits, [])

    def test_a_message_in_flight_is_sent_again_unless_the_replay_has_it(self) -> None:
        h = Harness("alice")
        h.join(last_id=0)
        h.session.typed("lost")
        h.sent()
        h.drop()
        h.connect()
        h.server("HELLO", "NICK")
        h.sent()
        h.server("READY", welcome(last_id=0))
        self.assertEqual(h.sent(), [{"message": "lost"}])

        h.drop()
        h.connect()
        h.server("HELLO", "NICK")
        h.sent()
        h.server("READY", chat(1, "alice", "lost", history=True), welcome(last_id=1))
        self.assertEqual(h.sent(), [])

    def test_messages_typed_while_offline_go_after_the_rejoin(self) -> None:
        h = Harness("alice")
        h.join(last_id=0)
        h.drop()
        h.session.typed("meanwhile")
        self.assertEqual(h.sent(), [])
        h.connect()
        h.server("HELLO", "NICK")
        self.assertEqual(h.sent(), [{"nickname": "alice", "since": 0}])
        h.server("READY", welcome(last_id=0))
        self.assertEqual(h.sent(), [{"message": "meanwhile"}])

    def test_says_when_messages_were_too_old_to_replay(self) -> None:
        h = Harness("alice")
        h.join(last_id=3)
        h.drop()
        h.connect()
        h.server("HELLO", "NICK", "READY", welcome(last_id=90, first_id=10))
        self.assertIn(
            "Messages 4 to 9 were too old to replay: they are missed.", h.frontend.notices()
        )

    def test_after_a_shutdown_notice_the_drop_is_explained(self) -> None:
        h = Harness("alice")
        h.join()
        h.server(notice("shutdown", "Server closing in 5 seconds", grace=5))
        h.drop(clean=True)
        self.assertIn("The server shut down.", h.frontend.notices())

    def test_no_reconnect_ends_the_program_non_zero(self) -> None:
        h = Harness("alice", reconnect=False)
        h.join()
        h.drop()
        self.assertEqual(
            h.exits,
            [
                (
                    1,
                    "Connection lost (Connection to the other side was lost in a non-clean "
                    "fashion: network down); not reconnecting (--no-reconnect)",
                )
            ],
        )

    def test_nickname_taken_meanwhile_asks_and_resumes_under_the_new_name(self) -> None:
        h = Harness("alice")
        h.join(last_id=7)
        h.drop()
        h.connect()
        h.server("HELLO", "NICK", "RETRY")
        [(problem, answer)] = h.frontend.questions
        self.assertEqual(problem, "The nickname alice is taken.")
        answer.callback("alice2")
        self.assertEqual(
            h.sent(),
            [{"nickname": "alice", "since": 7}, {"nickname": "alice2", "since": 7}],
        )


class ProtocolTests(SynchronousTestCase):
    """Frames on one connection."""

    def test_frames_after_close_are_ignored(self) -> None:
        h = Harness()
        h.join()
        h.frontend.lines()
        h.protocol.close()
        h.server(chat(1, "bob", "late"))
        self.assertEqual(h.frontend.lines(), [])
        h.protocol.send(b"ignored")
        self.assertEqual(h.transport.value(), b"")
