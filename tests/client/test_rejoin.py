"""Connections that go wrong: no greeting in time, a rejoin with the resume token, lines
typed while offline. On StringTransports and a Clock."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.client.api import MAX_RESUME_TOKEN
from tests.client.fakes import TIMEOUT, Harness, chat, welcome


def offline() -> Harness:
    """A session that joined, then lost its connection (what it showed is forgotten)."""
    h = Harness()
    h.join()
    h.drop()
    h.frontend.lines()
    return h


class GreetingTimeoutTests(SynchronousTestCase):
    """No HELLO/NICK within --timeout: give up at first, try a new connection later."""

    def test_no_connection_in_time_ends_the_program(self) -> None:
        h = Harness()
        h.session.connecting()
        h.clock.advance(TIMEOUT)
        self.assertEqual(
            h.exits,
            [(1, "cannot connect to chat.example:10328: no connection within 10 s (--timeout)")],
        )

    def test_a_silent_server_ends_the_program(self) -> None:
        h = Harness()
        h.session.connecting()
        h.connect()
        h.clock.advance(TIMEOUT - 0.01)
        self.assertEqual(h.exits, [])
        h.clock.advance(0.01)
        self.assertEqual(
            h.exits,
            [
                (
                    1,
                    "no chat server at chat.example:10328: no HELLO/NICK within 10 s "
                    "(--timeout); it sent nothing",
                )
            ],
        )
        self.assertTrue(h.transport.disconnecting)
        self.assertEqual(h.sent(), [], "closed, not left with BYE: it is no chat server")

    def test_says_what_a_server_that_is_not_a_chat_server_sent(self) -> None:
        h = Harness()
        h.connect()
        h.protocol.dataReceived(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        h.clock.advance(TIMEOUT)
        [(status, message)] = h.exits
        self.assertEqual(status, 1)
        self.assertEqual(
            message,
            "no chat server at chat.example:10328: no HELLO/NICK within 10 s (--timeout); "
            "it sent b'HTTP/1.1 400 Bad Request\\r\\nConten'",
        )

    def test_hello_without_nick_is_not_enough(self) -> None:
        h = Harness()
        h.connect()
        h.server("HELLO")
        h.clock.advance(TIMEOUT)
        self.assertEqual(len(h.exits), 1)

    def test_once_asked_for_a_nickname_the_person_may_take_their_time(self) -> None:
        h = Harness(None)
        h.session.connecting()
        h.connect()
        h.server("HELLO", "NICK")
        h.clock.advance(100 * TIMEOUT)
        self.assertEqual(h.exits, [])
        self.assertEqual(len(h.frontend.questions), 1)

    def test_after_joining_a_silent_server_is_left_for_the_next_attempt(self) -> None:
        h = offline()
        h.connect()
        h.clock.advance(TIMEOUT)
        self.assertTrue(h.transport.disconnecting)
        h.drop(clean=True)
        self.assertEqual(h.exits, [])
        self.assertEqual(
            h.frontend.notices(),
            [
                "Connected to chat.example:10328 again.",
                "Connection lost (no HELLO/NICK within 10 s (--timeout)).",
            ],
        )
        h.connect()
        h.server("HELLO", "NICK")
        self.assertEqual(h.sent(), [{"nickname": "alice", "since": 0}])

    def test_a_drop_stops_the_clock(self) -> None:
        h = offline()
        h.clock.advance(TIMEOUT)
        self.assertEqual(h.exits, [])
        self.assertEqual(h.clock.getDelayedCalls(), [])


class ResumeTokenTests(SynchronousTestCase):
    """The welcome's resume_token comes back in the resume form of every rejoin."""

    def test_the_last_token_comes_back_on_every_reconnect(self) -> None:
        h = Harness()
        h.join(last_id=4, resume_token="t1")
        self.assertEqual(h.reconnect(), [{"nickname": "alice", "since": 4, "token": "t1"}])
        h.server("READY", welcome(last_id=4, resume_token="t2"))
        self.assertEqual(h.reconnect(), [{"nickname": "alice", "since": 4, "token": "t2"}])

    def test_without_a_token_the_resume_form_has_none(self) -> None:
        h = Harness()
        h.join(last_id=4, resume_token="t1")
        h.reconnect()
        h.server("READY", welcome(last_id=4))
        self.assertEqual(h.reconnect(), [{"nickname": "alice", "since": 4}])

    def test_a_token_that_did_not_win_the_nickname_back_is_not_offered_again(self) -> None:
        h = Harness()
        h.join(last_id=4, resume_token="t1")
        h.reconnect()
        h.server("RETRY")
        [(_, answer)] = h.frontend.questions
        answer.callback("alice2")
        self.assertEqual(h.sent(), [{"nickname": "alice2", "since": 4}])

    def test_an_absurd_token_is_not_kept(self) -> None:
        h = Harness()
        h.join(last_id=4, resume_token="t" * (MAX_RESUME_TOKEN + 1))
        self.assertEqual(h.reconnect(), [{"nickname": "alice", "since": 4}])


class OfflineTests(SynchronousTestCase):
    """A line typed while disconnected is shown as pending and sent exactly once."""

    def test_a_line_typed_offline_is_shown_pending_and_sent_once(self) -> None:
        h = offline()
        h.session.typed("meanwhile")
        h.session.typed("/msg bob psst")
        h.session.typed("/me waits")
        self.assertEqual(
            h.frontend.lines(),
            [
                "--- Not connected; sent once we are back: meanwhile",
                "--- Not connected; sent once we are back (to bob): psst",
                "--- Not connected; sent once we are back: * alice waits",
            ],
        )
        h.connect()
        h.server("HELLO", "NICK")
        self.assertEqual(h.sent(), [{"nickname": "alice", "since": 0}])
        h.server("READY", welcome())
        self.assertEqual(h.sent(), [{"message": "meanwhile"}])
        h.server(chat(1, "alice", "meanwhile"))
        self.assertEqual(h.sent(), [{"message": "psst", "to": "bob"}])
        # The connection drops again with "psst" unanswered: it goes once more, the
        # echoed "meanwhile" does not.
        h.reconnect()
        h.server("READY", welcome(last_id=1))
        self.assertEqual(h.sent(), [{"message": "psst", "to": "bob"}])
        h.server(chat(None, "alice", "psst", to="bob"))
        self.assertEqual(h.sent(), [{"message": "* alice waits"}])

    def test_lines_typed_while_joined_are_not_called_pending(self) -> None:
        h = Harness()
        h.join()
        h.frontend.lines()
        h.session.typed("now")
        self.assertEqual(h.frontend.lines(), [])

    def test_pending_text_is_shown_escaped(self) -> None:
        h = offline()
        h.session.typed("\x1b[2J")
        self.assertEqual(h.frontend.lines(), ["--- Not connected; sent once we are back: \\x1b[2J"])


class NoHistoryTests(SynchronousTestCase):
    """--no-history: the replay on joining is not shown; a replay after a reconnect is."""

    def test_only_the_first_replay_is_hidden(self) -> None:
        h = Harness(show_history=False)
        h.connect()
        h.server("HELLO", "NICK", "READY", chat(1, "bob", "old", history=True), welcome(last_id=1))
        self.assertEqual(h.frontend.lines(), ["[03:30] *** Welcome! Online (1): alice"])
        h.reconnect()
        h.frontend.lines()
        h.server("READY", chat(2, "bob", "missed", history=True), welcome(last_id=2))
        self.assertEqual(
            h.frontend.lines(),
            ["(history) [03:30] <bob> missed", "[03:30] *** Welcome! Online (1): alice"],
        )
