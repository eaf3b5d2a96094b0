"""The server's behaviour per docs/protocol.md sections 2-6 and 8, on fakes (no reactor)."""

from __future__ import annotations

from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.records import dump_json
from chatproto.doors.tcp.framing import frame
from chatproto.seams.history import HistoryUnavailable
from tests.fakes import FakeClient, MemoryHistory, make_room


class HandshakeTests(SynchronousTestCase):
    """Connect, HELLO/NICK, READY/RETRY (section 2)."""

    def setUp(self) -> None:
        self.room, self.clock, self.history = make_room()

    def test_greeting(self) -> None:
        client = FakeClient(self.room)
        self.assertEqual(client.received(), ["HELLO", "NICK"])

    def test_ready_then_welcome(self) -> None:
        client = FakeClient(self.room)
        after = client.join("alice")
        self.assertEqual(after[-1]["event"], "welcome")
        self.assertEqual(after[-1]["users"], ["alice"])
        self.assertEqual((after[-1]["last_id"], after[-1]["first_id"]), (0, 0))
        self.assertEqual(after[-1]["nickname"], "server")

    def test_retry_for_taken_and_invalid(self) -> None:
        FakeClient(self.room).join("alice")
        bob = FakeClient(self.room)
        bob.received()
        for attempt in ["alice", "ALICE", "ａlice", "server", "Server", "", "a b", "x" * 33,
                        "HELLO", "NICK", "zero\u200bwidth", "bell\x07", '{"message": "hi"}',
                        '{"nickname": "bob", "since": -1}', '{"nickname": "bob", "since": true}',
                        "\ud7ff", "\U000e0001"]:  # fmt: skip
            bob.send(attempt)
            self.assertEqual(bob.received(), ["RETRY"], attempt)
        bob.send(b"\xff\xfe")
        self.assertEqual(bob.received(), ["RETRY"])
        bob.send("bob")
        self.assertEqual(bob.received()[0], "READY")

    def test_texts_that_fail_strict_json_are_not_joined_under_their_literal_text(
        self,
    ) -> None:
        client = FakeClient(self.room)
        client.received()
        for attempt in ['{"nickname":"r8","since":NaN}', '{"nickname":"x","nickname":"y"}',
                        '{"nickname":"x","token":7}']:  # fmt: skip
            client.send(attempt)
            self.assertEqual(client.received(), ["RETRY"], attempt)

    def test_brace_that_is_not_json_is_a_bare_nickname(self) -> None:
        client = FakeClient(self.room)
        self.assertEqual(client.join("{abc")[-1]["users"], ["{abc"])

    def test_resume_form_with_whitespace_around(self) -> None:
        client = FakeClient(self.room)
        client.received()
        client.send(' \n{"nickname": "spaced", "since": 0} ')
        self.assertEqual(client.received()[0], "READY")

    def test_nfkc_display_form_kept(self) -> None:
        client = FakeClient(self.room)
        welcome = client.join("ｂｏｂ")[-1]
        self.assertEqual(welcome["users"], ["bob"])

    def test_several_choose_at_once(self) -> None:
        clients = [FakeClient(self.room) for _ in range(3)]
        for c in clients:
            c.received()
        clients[2].send("carol")
        clients[0].send("alice")
        self.assertEqual(clients[2].received()[0], "READY")
        self.assertEqual(clients[0].received()[0], "READY")
        self.assertEqual(clients[1].received(), [])
        clients[1].send("bob")
        self.assertEqual(clients[1].received()[-1]["users"], ["carol", "alice", "bob"])

    def test_bye_while_choosing_closes(self) -> None:
        client = FakeClient(self.room)
        client.send("BYE")
        self.assertTrue(client.closed)

    def test_handshake_timeout(self) -> None:
        client = FakeClient(self.room, port=1)
        joined = FakeClient(self.room, port=2)
        joined.join("alice")
        self.clock.advance(29.9)
        self.assertFalse(client.closed)
        self.clock.advance(0.2)
        self.assertTrue(client.closed)
        self.assertFalse(joined.closed)

    def test_nickname_free_at_once_after_leave(self) -> None:
        alice = FakeClient(self.room)
        alice.join("alice")
        alice.send("BYE")
        again = FakeClient(self.room)
        again.join("Alice")

    def test_frames_after_bye_ignored(self) -> None:
        alice = FakeClient(self.room)
        alice.join("alice")
        alice.protocol.dataReceived(frame(b"BYE") + frame(b'{"message": "late"}'))
        self.assertEqual(self.history.last_id, 0)


class ChatTests(SynchronousTestCase):
    """Broadcast, ids, timestamps, private messages, notices (sections 4-5)."""

    def setUp(self) -> None:
        self.room, self.clock, self.history = make_room()
        self.alice = FakeClient(self.room, port=1)
        self.alice.join("alice")
        self.bob = FakeClient(self.room, port=2)
        self.bob.join("bob")
        self.alice.received()

    def test_everyone_gets_it_sender_included(self) -> None:
        self.alice.send_json({"message": "hello", "nickname": "mallory", "timestamp": "x"})
        for client in (self.alice, self.bob):
            (packet,) = client.received()
            self.assertEqual(packet["nickname"], "alice")
            self.assertEqual(packet["message"], "hello")
            self.assertEqual(packet["id"], 1)
            self.assertEqual(packet["timestamp"], "2027-01-15T08:00:00.000Z")
            self.assertNotIn("history", packet)

    def test_stored_record_is_the_compact_json_broadcast(self) -> None:
        text = 'quote " backslash \\ tab\t é \U0001f600 </script>'
        self.alice.send_json({"message": text})
        (packet,) = self.bob.received()
        expected = {"id": 1, "timestamp": packet["timestamp"], "nickname": "alice", "message": text}
        self.assertEqual(self.history.records[0][1], dump_json(expected))

    def test_ids_increase_in_order(self) -> None:
        self.alice.send_json({"message": "one"})
        self.bob.send_json({"message": "two"})
        self.alice.send_json({"message": "three"})
        self.assertEqual(
            [(p["id"], p["message"]) for p in self.bob.received()],
            [(1, "one"), (2, "two"), (3, "three")],
        )

    def test_join_and_leave_notices(self) -> None:
        carol = FakeClient(self.room, port=3)
        carol.join("carol")
        for client in (self.alice, self.bob):
            (joined,) = client.received()
            self.assertEqual((joined["event"], joined["user"]), ("join", "carol"))
        self.assertEqual(carol.received(), [])
        carol.send("BYE")
        self.assertTrue(carol.closed)
        (left,) = self.alice.received()
        self.assertEqual((left["event"], left["user"], left["reason"]), ("leave", "carol", "bye"))

    def test_dropped_connection_is_a_leave(self) -> None:
        self.bob.drop()
        (left,) = self.alice.received()
        self.assertEqual(left["reason"], "disconnected")

    def test_json_bye_message_leaves(self) -> None:
        self.bob.send_json({"message": "BYE", "timestamp": "t", "nickname": "bob"})
        self.assertTrue(self.bob.closed)
        self.assertEqual(self.alice.received()[0]["reason"], "bye")
        self.assertEqual(self.history.last_id, 0)

    def test_bye_delivers_what_is_owed(self) -> None:
        self.alice.send_json({"message": "last words"})
        self.bob.send("BYE")
        self.assertEqual(self.bob.events(), [("alice", "last words")])

    def test_private_message(self) -> None:
        carol = FakeClient(self.room, port=3)
        carol.join("carol")
        self.alice.received()
        self.bob.received()
        self.alice.send_json({"message": "psst", "to": "BOB"})
        (to_bob,) = self.bob.received()
        (copy,) = self.alice.received()
        self.assertEqual(to_bob, copy)
        self.assertEqual((to_bob["to"], to_bob["nickname"]), ("bob", "alice"))
        self.assertNotIn("id", to_bob)
        self.assertEqual(carol.received(), [])
        self.assertEqual(self.history.last_id, 0)

    def test_private_message_to_a_huge_name(self) -> None:
        self.alice.send_json({"message": "hi", "to": "\u0007" * 10000 + "x" * 5000})
        (error,) = self.alice.received()
        self.assertEqual(error["code"], "no-such-user")
        self.assertLess(len(error["message"]), 100)

    def test_private_message_to_self_once(self) -> None:
        self.alice.send_json({"message": "note", "to": "alice"})
        self.assertEqual(len(self.alice.received()), 1)

    def test_who(self) -> None:
        self.bob.send_json({"command": "who"})
        (who,) = self.bob.received()
        self.assertEqual((who["event"], who["users"]), ("who", ["alice", "bob"]))

    def test_error_codes(self) -> None:
        cases = [
            ('{"message": 5}', "malformed"),
            ('{"message": "x", "to": 5}', "malformed"),
            ("not json", "malformed"),
            ("[1, 2]", "malformed"),
            ('{"a": 1, "a": 2}', "malformed"),
            ('{"message": NaN}', "malformed"),
            ('{"message": "\\ud800"}', "malformed"),
            ("{" * 40 + "}" * 40, "malformed"),
            ('{"other": 1}', "malformed"),
            ('{"message": "' + "é" * 2049 + '"}', "too-long"),
            ('{"message": ""}', "empty"),
            ('{"message": " \\n\\t "}', "empty"),
            ('{"message": "bell\\u0007"}', "control-chars"),
            ('{"message": "esc\\u001b[2J"}', "control-chars"),
            ('{"message": "c1\\u009b"}', "control-chars"),
            ('{"message": "hi", "to": "nobody"}', "no-such-user"),
            ("HELLO", "unknown-command"),
            ("READY", "unknown-command"),
            ('{"command": "dance"}', "unknown-command"),
        ]
        for text, code in cases:
            self.clock.advance(1)  # stay inside the rate limit
            self.bob.send(text)
            (error,) = self.bob.received()
            self.assertEqual((error["event"], error["code"]), ("error", code), text)
        self.bob.send(b"\xc3\x28")
        self.assertEqual(self.bob.received()[0]["code"], "malformed")
        self.assertEqual(self.alice.received(), [])
        self.bob.send_json({"message": "still here"})
        self.assertEqual(self.alice.events(), [("bob", "still here")])

    def test_json_whitespace_before_the_object(self) -> None:
        self.bob.send('\r\n\t {"message": "spaced"}')
        self.assertEqual(self.alice.events(), [("bob", "spaced")])

    def test_allowed_text(self) -> None:
        self.bob.send_json(
            {"message": "tab\tand\r\nlines \U0001f468\u200d\U0001f469 " + "é" * 2000}
        )
        (packet,) = self.alice.received()
        self.assertTrue(packet["message"].startswith("tab\tand\nlines"))

    def test_store_unavailable(self) -> None:
        self.history.fail = True
        self.bob.send_json({"message": "lost?"})
        (error,) = self.bob.received()
        self.assertEqual(error["code"], "unavailable")
        self.assertEqual(self.alice.received(), [])
        self.history.fail = False
        self.bob.send_json({"message": "back"})
        self.assertEqual(self.alice.received()[0]["id"], 1)


class HistoryReplayTests(SynchronousTestCase):
    """Replay for late joiners and resume with since (section 6)."""

    def setUp(self) -> None:
        self.room, self.clock, self.history = make_room(history_replay=3)
        self.alice = FakeClient(self.room, port=1)
        self.alice.join("alice")
        for n in range(5):
            self.alice.send_json({"message": f"m{n}"})
        self.alice.received()

    def test_late_joiner_gets_recent(self) -> None:
        after = FakeClient(self.room, port=2).join("bob")
        replay, welcome = after[:-1], after[-1]
        self.assertEqual([p["message"] for p in replay], ["m2", "m3", "m4"])
        self.assertTrue(all(p["history"] is True for p in replay))
        self.assertEqual((welcome["last_id"], welcome["first_id"]), (5, 1))

    def test_resume_since(self) -> None:
        bob = FakeClient(self.room, port=2)
        bob.received()
        bob.send('{"nickname": "bob", "since": 1}')
        frames = bob.received()
        self.assertEqual(frames[0], "READY")
        self.assertEqual([p["id"] for p in frames[1:-1]], [2, 3, 4, 5])

    def test_no_gap_no_duplicate_with_traffic_in_same_turn(self) -> None:
        self.alice.send_json({"message": "in flight"})  # queued, not yet written
        after = FakeClient(self.room, port=2).join("bob")
        self.assertEqual(after[-2]["message"], "in flight")
        self.assertEqual(after[-1]["last_id"], 6)

    def test_replay_zero(self) -> None:
        room, _, _ = make_room(history=self.history, history_replay=0)
        self.assertEqual([p["event"] for p in FakeClient(room).join("bob")], ["welcome"])


class FsyncAlwaysTests(SynchronousTestCase):
    """With fsync=always nobody sees a message before its fsync completes."""

    def setUp(self) -> None:
        self.history = MemoryHistory(durable_before_delivery=True)
        self.history.held_syncs = []
        self.room, _, _ = make_room(history=self.history)
        self.alice = FakeClient(self.room, port=1)
        self.alice.join("alice")

    def settle_sync(self, error: Exception | None = None) -> None:
        """The fsync the room waits for completes (or fails with C{error})."""
        assert self.history.held_syncs is not None
        held = self.history.held_syncs.pop()
        if error is None:
            held.callback(None)
        else:
            held.errback(error)

    def test_delivery_waits_for_sync(self) -> None:
        alice = self.alice
        alice.send_json({"message": "durable"})
        alice.send_json({"command": "who"})
        self.assertEqual(alice.events(), ["who"])
        self.settle_sync()
        self.assertEqual(alice.events(), [("alice", "durable")])

    def test_a_failed_fsync_shows_the_message_to_nobody(self) -> None:
        """docs/protocol.md section 6: its sender is told `unavailable`; others see nothing."""
        alice = self.alice
        bob = FakeClient(self.room, port=2)
        bob.join("bob")
        alice.received()
        alice.send_json({"message": "never shown"})
        alice.received()
        self.settle_sync(HistoryUnavailable("fsync failed"))
        error = alice.received()
        self.assertEqual([(p["event"], p["code"]) for p in error], [("error", "unavailable")])
        self.assertEqual(bob.events(), [])
        alice.send_json({"message": "next"})
        self.assertEqual(bob.events(), [])  # waits for its fsync
        self.settle_sync()
        self.assertEqual(bob.events(), [("alice", "next")])


class FsyncAlwaysJoinTests(SynchronousTestCase):
    """With fsync=always, a joiner still hears READY first."""

    def test_nothing_before_ready(self) -> None:
        history = MemoryHistory(durable_before_delivery=True)
        room, _, _ = make_room(history=history)
        FakeClient(room, port=1).join("alice")
        FakeClient(room, port=2).send("carol")  # its join notice waits for company
        bob = FakeClient(room, port=3)
        bob.transport.clear()
        bob.send("bob")
        self.assertEqual(bob.events(), ["READY", "welcome"])


class ShutdownTests(SynchronousTestCase):
    """Section 8: notice, grace, close everything without leave notices."""

    def test_shutdown(self) -> None:
        room, clock, _ = make_room()
        alice = FakeClient(room, port=1)
        alice.join("alice")
        choosing = FakeClient(room, port=2)
        choosing.received()
        room.announce_shutdown(5)
        (note,) = alice.received()
        self.assertEqual(note["event"], "shutdown")
        self.assertEqual(note["grace"], 5)
        self.assertEqual(note["message"], "Server closing in 5 seconds")
        clock.advance(2)
        late = choosing.join("late")
        self.assertEqual([p["event"] for p in late], ["welcome", "shutdown"])
        self.assertEqual(late[-1]["grace"], 3)
        bob = FakeClient(room, port=3)
        bob.join("bob")
        bob.send("BYE")  # leaving during the grace is announced as usual
        self.assertEqual(alice.events(), ["join", "join", "leave"])  # late, bob, bob
        self.assertEqual(choosing.events(), ["join", "leave"])
        room.close_all()
        self.assertTrue(alice.closed and choosing.closed)
        alice.drop()
        self.assertEqual(choosing.received(), [])


class SameTurnOrderTests(SynchronousTestCase):
    """Frames of one reactor turn reach each client once, in server order."""

    def setUp(self) -> None:
        self.room, self.clock, self.history = make_room(rate=0)
        self.alice = FakeClient(self.room, port=1)
        self.alice.join("alice")

    def test_joiner_mid_turn_gets_queued_message_once_and_no_stale_notice(self) -> None:
        first = FakeClient(self.room, port=2)
        first.received()
        first.send("first")  # its join notice is queued, not yet written
        self.alice.send_json({"message": "queued"})
        late = FakeClient(self.room, port=3)
        late.received()
        late.send("late")
        frames = late.received()
        self.assertEqual(frames[0], "READY")
        self.assertEqual(
            [(p.get("id"), p.get("event")) for p in frames[1:]], [(1, None), (None, "welcome")]
        )
        self.assertEqual(frames[-1]["users"], ["alice", "first", "late"])
        self.assertEqual(self.alice.events(), ["join", ("alice", "queued"), "join"])

    def test_error_reply_comes_after_what_was_queued_before_it(self) -> None:
        self.alice.protocol.dataReceived(
            frame(b'{"message": "one"}') + frame(b"junk") + frame(b'{"message": "two"}')
        )
        self.assertEqual(self.alice.events(), [("alice", "one"), "error", ("alice", "two")])

    def test_durable_bye_waits_for_the_fsync_of_its_last_message(self) -> None:
        history = MemoryHistory(durable_before_delivery=True)
        history.held_syncs = []
        room, _, _ = make_room(history=history)
        alice = FakeClient(room, port=1)
        alice.join("alice")
        alice.protocol.dataReceived(frame(b'{"message": "last"}') + frame(b"BYE"))
        alice.received()
        self.assertFalse(alice.closed)
        history.held_syncs.pop().callback(None)
        self.assertEqual(alice.events(), [("alice", "last")])
        self.assertTrue(alice.closed)
        self.assertTrue(room.is_free("alice"))


class LogAddressTests(SynchronousTestCase):
    """--log-addresses ties joins and leaves to a peer address; off by default."""

    def logged(self, **limits: object) -> list[str]:
        events: list[str] = []
        observer = lambda event: events.append(formatEvent(event))  # noqa: E731
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        room, _, _ = make_room(**limits)
        client = FakeClient(room, host="203.0.113.7", port=4242)
        client.join("alice")
        client.send("BYE")
        return [event for event in events if "alice" in event]

    def test_off_by_default(self) -> None:
        self.assertEqual(self.logged(), ["alice joined", "alice left (bye)"])

    def test_on(self) -> None:
        self.assertEqual(
            self.logged(log_addresses=True),
            ["alice joined from 203.0.113.7:4242", "alice left (bye) from 203.0.113.7:4242"],
        )
