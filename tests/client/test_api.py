"""The client API on StringTransports and a Clock: events, requests and their answers."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from chatproto.client.api import (
    ChatClient,
    ChatError,
    ChatMessage,
    ClientStopped,
    NicknameRefused,
    Users,
    Welcome,
)
from chatproto.client.errors import MessageTooLong
from chatproto.core.nicknames import InvalidNickname
from tests.client.fakes import Wire, chat, notice, welcome


class RecordingClient(ChatClient):
    """Records every event as a tuple."""

    def __init__(self, nickname: str | None = "bot", **options: Any) -> None:
        self.clock = Clock()
        super().__init__(nickname, clock=self.clock, **options)
        self.events: list[tuple[Any, ...]] = []
        self.nicknames_to_offer: list[str] = []

    def joined(self, welcome: Welcome) -> None:
        self.events.append(("joined", welcome.users.names, welcome.last_id))

    def rejoined(self, welcome: Welcome) -> None:
        self.events.append(("rejoined", welcome.last_id))

    def message_received(self, message: ChatMessage) -> None:
        self.events.append(
            ("message", message.id, message.nickname, message.text, message.history, message.own)
        )

    def private_message_received(self, message: ChatMessage) -> None:
        self.events.append(("private", message.nickname, message.to, message.text))

    def user_joined(self, nickname: str, room: str | None) -> None:
        self.events.append(("user_joined", nickname) + ((room,) if room else ()))

    def user_left(self, nickname: str, reason: str, room: str | None) -> None:
        self.events.append(("user_left", nickname, reason) + ((room,) if room else ()))

    def topic_changed(self, room: str | None, topic: str, user: str) -> None:
        self.events.append(("topic", room, topic, user))

    def shutdown_announced(self, grace: int) -> None:
        self.events.append(("shutdown", grace))

    def disconnected(self, reason: str, reconnecting: bool) -> None:
        self.events.append(("disconnected", reason, reconnecting))

    def reconnecting(self, attempt: int, delay: float) -> None:
        self.events.append(("reconnecting", attempt, delay))

    def reconnected(self) -> None:
        self.events.append(("reconnected",))

    def messages_missed(self, first: int, last: int, room: str | None) -> None:
        self.events.append(("missed", first, last) + ((room,) if room else ()))

    def error_received(self, error: ChatError) -> None:
        self.events.append(("error", error.code))

    def unreadable_received(self, text: str) -> None:
        self.events.append(("unreadable", text))

    def stopped(self, reason: ClientStopped | None) -> None:
        self.events.append(("stopped", None if reason is None else str(reason)))

    def choose_nickname(self, problem: str | None) -> Deferred[str]:
        if self.nicknames_to_offer:
            return succeed(self.nicknames_to_offer.pop(0))
        return super().choose_nickname(problem)

    def taken(self) -> list[tuple[Any, ...]]:
        """The events so far; then forget them."""
        events, self.events = self.events, []
        return events


def joined_client(**options: Any) -> tuple[RecordingClient, Wire]:
    """A client that joined as bot (last id 0); its events so far forgotten."""
    client = RecordingClient(**options)
    wire = Wire(client, client.clock)
    wire.join(users=("alice", "bot"))
    client.taken()
    return client, wire


class EventTests(SynchronousTestCase):
    """Each thing the server says becomes one event method call."""

    def test_join_replay_and_live_traffic(self) -> None:
        client = RecordingClient()
        wire = Wire(client, client.clock)
        joined = client.when_joined()
        wire.connect()
        wire.server("HELLO", "NICK")
        self.assertEqual(wire.sent(), ["bot"])
        wire.server(
            "READY",
            chat(1, "alice", "old", history=True),
            welcome(last_id=1, users=["alice", "bot"]),
            chat(2, "alice", "new"),
            chat(None, "alice", "psst", to="bot"),
            notice("join", user="carol"),
            notice("leave", user="carol", reason="flood"),
            notice("shutdown", "closing", grace=5),
            b"\xff",
        )
        self.assertEqual(
            client.taken(),
            [
                ("message", 1, "alice", "old", True, False),
                ("joined", ["alice", "bot"], 1),
                ("message", 2, "alice", "new", False, False),
                ("private", "alice", "bot", "psst"),
                ("user_joined", "carol"),
                ("user_left", "carol", "flood"),
                ("shutdown", 5),
                ("unreadable", "b'\\xff'"),
            ],
        )
        self.assertEqual(self.successResultOf(joined).last_id, 1)
        self.assertTrue(client.in_room)

    def test_a_drop_reconnects_and_resumes_without_duplicates(self) -> None:
        client, wire = joined_client()
        wire.server(chat(1, "alice", "one"), notice("shutdown", "closing", grace=0))
        client.taken()
        wire.drop(clean=True)
        client.retrying(1, 0.5)
        self.assertEqual(
            client.taken(),
            [("disconnected", "The server shut down", True), ("reconnecting", 1, 0.5)],
        )
        wire.connect()
        wire.server("HELLO", "NICK")
        self.assertEqual(wire.sent(), [{"nickname": "bot", "since": 1}])
        wire.server(
            "READY",
            chat(1, "alice", "one", history=True),
            chat(2, "alice", "two", history=True),
            welcome(last_id=2, first_id=1),
        )
        self.assertEqual(
            client.taken(),
            [
                ("reconnected",),
                ("message", 2, "alice", "two", True, False),
                ("rejoined", 2),
            ],
        )

    def test_says_which_messages_were_too_old_to_replay(self) -> None:
        client, wire = joined_client()
        wire.server(chat(3, "alice", "three"))
        wire.reconnect()
        wire.server("READY", welcome(last_id=40, first_id=10))
        self.assertIn(("missed", 4, 9), client.taken())

    def test_since_resumes_a_bot_that_restarted(self) -> None:
        client = RecordingClient(since=7)
        wire = Wire(client, client.clock)
        wire.connect()
        wire.server("HELLO", "NICK")
        self.assertEqual(wire.sent(), [{"nickname": "bot", "since": 7}])
        wire.server("READY", chat(7, "alice", "seen"), chat(8, "alice", "new", history=True))
        self.assertEqual(client.taken(), [("message", 8, "alice", "new", True, False)])

    def test_without_resume_a_rejoin_is_a_newcomer_that_shows_nothing_twice(self) -> None:
        client, wire = joined_client(resume=False)
        wire.server(chat(1, "alice", "one"))
        self.assertEqual(wire.reconnect(), ["bot"])
        wire.server("READY", chat(1, "alice", "one", history=True), welcome(last_id=1))
        self.assertEqual(client.taken()[-2:], [("reconnected",), ("rejoined", 1)])

    def test_without_reconnect_a_drop_stops_the_client(self) -> None:
        client, wire = joined_client(reconnect=False)
        pending = client.who()
        ended = client.when_stopped()
        wire.drop(clean=True)
        why = "Connection lost (closed by the server); not reconnecting (reconnect=False)"
        self.assertEqual(
            client.taken(),
            [("disconnected", "Connection lost (closed by the server)", False), ("stopped", why)],
        )
        self.assertEqual(str(self.failureResultOf(ended, ClientStopped).value), why)
        self.failureResultOf(pending, ClientStopped)

    def test_a_taken_nickname_asks_for_another(self) -> None:
        client = RecordingClient()
        client.nicknames_to_offer = ["bot2"]
        wire = Wire(client, client.clock)
        wire.connect()
        wire.server("HELLO", "NICK", "RETRY")
        self.assertEqual(wire.sent(), ["bot", "bot2"])
        self.assertEqual(client.nickname, "bot2")

    def test_by_default_a_taken_nickname_stops_the_client(self) -> None:
        client = RecordingClient()
        joined = client.when_joined()
        wire = Wire(client, client.clock)
        wire.connect()
        wire.server("HELLO", "NICK", "RETRY")
        failure = self.failureResultOf(joined, NicknameRefused)
        self.assertEqual(str(failure.value), "The nickname bot is taken.")
        self.assertEqual(wire.sent(), ["bot", "BYE"])
        self.assertTrue(wire.transport.disconnecting)
        wire.drop(clean=True)
        self.assertEqual(client.taken(), [("stopped", "The nickname bot is taken.")])

    def test_a_full_server_says_so_and_the_join_fails_saying_why(self) -> None:
        client = RecordingClient()
        joined = client.when_joined()
        wire = Wire(client, client.clock)
        wire.connect()
        wire.server(notice("error", "Server full", code="server-full"))
        wire.drop(clean=True)
        self.assertEqual(client.taken()[0], ("error", "server-full"))
        failure = self.failureResultOf(joined, ClientStopped)
        self.assertEqual(
            str(failure.value),
            "the connection to the server ended before we joined (Server full (server-full))",
        )

    def test_a_nickname_against_the_rules_is_refused_at_once(self) -> None:
        with self.assertRaises(InvalidNickname):
            RecordingClient("two words")


class RequestTests(SynchronousTestCase):
    """Requests are answered by Deferreds: the server's copy, the answer, or a ChatError."""

    def test_send_fires_with_the_receipt(self) -> None:
        client, wire = joined_client()
        sent = client.send("hello")
        self.assertEqual(wire.sent(), [{"message": "hello"}])
        self.assertNoResult(sent)
        wire.server(chat(5, "bot", "hello"))
        receipt = self.successResultOf(sent)
        self.assertEqual((receipt.id, receipt.own), (5, True))

    def test_a_rate_limited_message_is_paced_not_lost(self) -> None:
        client, wire = joined_client()
        sent = client.send("one")
        wire.sent()
        wire.server(notice("error", "slow down", code="rate-limited", retry_after=0.5))
        self.assertNoResult(sent)
        client.clock.advance(0.5)
        self.assertEqual(wire.sent(), [{"message": "one"}])
        wire.server(chat(1, "bot", "one"))
        self.assertEqual(self.successResultOf(sent).text, "one")
        self.assertNotIn(("error", "rate-limited"), client.taken())

    def test_a_refused_request_fails_with_the_code(self) -> None:
        client, wire = joined_client()
        sent = client.send_private("nobody", "psst")
        self.assertEqual(wire.sent(), [{"message": "psst", "to": "nobody"}])
        wire.server(notice("error", "No such user", code="no-such-user"))
        error = self.failureResultOf(sent, ChatError).value
        assert isinstance(error, ChatError)
        self.assertEqual((error.code, error.message), ("no-such-user", "No such user"))

    def test_who(self) -> None:
        client, wire = joined_client()
        asked = client.who()
        self.assertEqual(wire.sent(), [{"command": "who"}])
        wire.server(notice("who", users=["alice", "bot"], truncated=True, count=3))
        users = self.successResultOf(asked)
        self.assertEqual(users, Users(["alice", "bot"], 3))
        self.assertTrue(users.truncated)

    def test_requests_made_before_joining_go_once_joined(self) -> None:
        client = RecordingClient()
        sent = client.send("early")
        wire = Wire(client, client.clock)
        wire.join()
        self.assertEqual(wire.sent(), [{"message": "early"}])
        wire.server(chat(1, "bot", "early"))
        self.successResultOf(sent)

    def test_a_request_in_flight_at_a_drop_is_answered_by_the_replay(self) -> None:
        client, wire = joined_client()
        sent = client.send("lost?")
        wire.sent()
        wire.reconnect()
        wire.server("READY", chat(1, "bot", "lost?", history=True), welcome(last_id=1))
        self.assertEqual(wire.sent(), [])
        self.assertTrue(self.successResultOf(sent).history)

    def test_an_error_nothing_waits_for_is_an_event(self) -> None:
        client, wire = joined_client()
        wire.server(notice("error", "what?", code="malformed"))
        self.assertEqual(client.taken(), [("error", "malformed")])

    def test_local_mistakes_raise(self) -> None:
        client, _ = joined_client()
        with self.assertRaises(ValueError):
            client.send("BYE")
        with self.assertRaises(MessageTooLong):
            client.send("x" * 70000)

    def test_leave_says_bye_and_fails_what_is_unanswered(self) -> None:
        client, wire = joined_client()
        pending = client.send("unanswered")
        wire.sent()
        left = client.leave()
        self.assertEqual(wire.sent(), ["BYE"])
        wire.drop(clean=True)
        self.successResultOf(left)
        self.failureResultOf(pending, ClientStopped)
        self.assertEqual(client.taken(), [("stopped", None)])
        self.successResultOf(client.when_stopped())
        self.failureResultOf(client.send("late"), ClientStopped)
