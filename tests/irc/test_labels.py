"""IRCv3 labeled-response on the IRC door (docs/irc.md), on fakes."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.codec import codec_for
from chatproto.doors.irc.echoes import LabellingCodec
from chatproto.seams.history import Stored
from tests.fakes import MemoryRoomStores, make_room
from tests.irc.fakes import SERVER, FakeIrcClient


class LabelTests(SynchronousTestCase):
    """alice asked for labeled-response and batch."""

    def setUp(self) -> None:
        self.room, _, _ = make_room()
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice", "labeled-response", "batch")

    def test_one_line_carries_the_label(self) -> None:
        self.alice.send("@label=a1 PING x")
        self.assertEqual(self.alice.lines(), ["@label=a1 :irc.test PONG irc.test x"])

    def test_several_lines_come_in_a_batch(self) -> None:
        self.alice.send("@label=a2 NAMES #chat")
        self.assertEqual(
            self.alice.lines(),
            [
                "@label=a2 :irc.test BATCH +b1 labeled-response",
                "@batch=b1 :irc.test 353 alice = #chat :alice",
                "@batch=b1 :irc.test 366 alice #chat :End of /NAMES list",
                ":irc.test BATCH -b1",
            ],
        )

    def test_no_answer_is_an_ack(self) -> None:
        self.alice.send("@label=a3 PRIVMSG #chat :hi", "@label=a4 JOIN #chat")
        self.assertEqual(self.alice.lines(), ["@label=a3 :irc.test ACK", "@label=a4 :irc.test ACK"])

    def test_a_join_is_answered_by_its_entrance(self) -> None:
        self.alice.send("@label=j JOIN #rust")
        self.assertEqual(
            self.alice.lines(),
            [
                "@label=j :irc.test BATCH +b1 labeled-response",
                "@batch=b1 :alice!alice@chatproto JOIN #rust",
                "@batch=b1 :irc.test 353 alice = #rust :@alice",
                "@batch=b1 :irc.test 366 alice #rust :End of /NAMES list",
                ":irc.test BATCH -b1",
            ],
        )

    def test_errors_and_history_carry_it(self) -> None:
        self.alice.send("@label=e PART #nowhere")
        self.assertEqual(
            self.alice.lines(), ["@label=e :irc.test 403 alice #nowhere :No such channel"]
        )
        self.alice.send("@label=h CHATHISTORY LATEST #chat * 5")
        self.assertEqual(
            self.alice.lines(),
            [
                "@label=h :irc.test BATCH +b3 labeled-response",
                "@batch=b3 :irc.test BATCH +b2 chathistory #chat",
                "@batch=b3 :irc.test BATCH -b2",
                ":irc.test BATCH -b3",
            ],
        )

    def test_a_label_too_long_is_not_echoed(self) -> None:
        self.alice.send(f"@label={'x' * 65} PING x")
        self.assertEqual(self.alice.lines(), [":irc.test PONG irc.test x"])

    def test_without_the_capability_no_label(self) -> None:
        bob = FakeIrcClient(self.room)
        bob.register("bob")
        bob.send("@label=a1 PING x")
        self.assertEqual(bob.lines(), [":irc.test PONG irc.test x"])


class LabelledEchoTests(SynchronousTestCase):
    """alice asked for echo-message too: a labelled message is answered by its copy."""

    def setUp(self) -> None:
        self.stores = MemoryRoomStores()
        self.room, _, self.history = make_room(room_stores=self.stores)
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice", "labeled-response", "batch", "echo-message")
        self.bob = FakeIrcClient(self.room, self.alice.factory)
        self.bob.register("bob", "labeled-response", "batch", "echo-message")
        self.alice.lines()

    def test_the_copy_of_a_channel_message_carries_the_label(self) -> None:
        self.alice.send("@label=c1 PRIVMSG #chat :hi")
        self.assertEqual(self.alice.lines(), ["@label=c1 :alice!alice@chatproto PRIVMSG #chat :hi"])
        self.assertEqual(self.bob.lines(), [":alice!alice@chatproto PRIVMSG #chat :hi"])

    def test_copies_alike_are_answered_in_order(self) -> None:
        self.alice.send(
            "@label=c1 PRIVMSG #chat :hi", "PRIVMSG #chat :hi", "@label=c2 NOTICE #chat :hi"
        )
        self.assertEqual(
            self.alice.lines(),
            [
                "@label=c1 :alice!alice@chatproto PRIVMSG #chat :hi",
                ":alice!alice@chatproto PRIVMSG #chat :hi",
                "@label=c2 :alice!alice@chatproto PRIVMSG #chat :hi",
            ],
        )

    def test_the_copy_in_another_room(self) -> None:
        self.alice.send("JOIN #rust")
        self.alice.lines()
        self.alice.send("@label=r PRIVMSG #rust :in rust", "@label=c PRIVMSG #chat :in chat")
        self.assertEqual(
            self.alice.lines(),
            [
                "@label=r :alice!alice@chatproto PRIVMSG #rust :in rust",
                "@label=c :alice!alice@chatproto PRIVMSG #chat :in chat",
            ],
        )

    def test_private_copies_are_the_answer(self) -> None:
        self.alice.send("@label=p1 PRIVMSG bob :psst")
        self.assertEqual(self.alice.lines(), ["@label=p1 :alice!alice@chatproto PRIVMSG bob :psst"])
        self.assertEqual(self.bob.lines(), [":alice!alice@chatproto PRIVMSG bob :psst"])
        carol = FakeIrcClient(self.room, self.alice.factory)
        carol.register("carol")
        self.alice.lines()
        self.alice.send("@label=p2 PRIVMSG bob,carol :both")
        self.assertEqual(
            self.alice.lines(),
            [
                "@label=p2 :irc.test BATCH +b2 labeled-response",
                "@batch=b2 :alice!alice@chatproto PRIVMSG bob :both",
                "@batch=b2 :alice!alice@chatproto PRIVMSG carol :both",
                ":irc.test BATCH -b2",
            ],
        )

    def test_a_refused_message_is_answered_ack_after_the_error(self) -> None:
        self.history.fail = True
        self.alice.send("@label=f PRIVMSG #chat :lost")
        self.assertEqual(
            self.alice.lines(),
            [
                ":irc.test NOTICE * :The message could not be stored (unavailable)",
                "@label=f :irc.test ACK",
            ],
        )
        self.history.fail = False
        self.alice.send("@label=g PRIVMSG #chat :lost")
        self.assertEqual(
            self.alice.lines(), ["@label=g :alice!alice@chatproto PRIVMSG #chat :lost"]
        )

    def test_an_error_carries_the_label(self) -> None:
        self.alice.send("@label=n PRIVMSG #rust :hi")
        self.assertEqual(
            self.alice.lines(), ["@label=n :irc.test 403 alice #rust :No such channel"]
        )

    def test_parting_before_the_copy_answers_ack(self) -> None:
        self.alice.send("JOIN #rust")
        self.alice.lines()
        held: list[Deferred[Stored]] = []
        self.stores.histories["#rust"].add = lambda fields: (  # type: ignore[method-assign]
            held.append(Deferred()) or held[-1]
        )
        self.alice.send("@label=s PRIVMSG #rust :slow", "PART #rust")
        self.assertEqual(
            self.alice.lines(), [":alice!alice@chatproto PART #rust", "@label=s :irc.test ACK"]
        )
        held[0].callback((1, b'{"id":1,"timestamp":"t","nickname":"alice","message":"slow"}'))
        self.assertEqual(self.alice.lines(), [])


class CopyBeforeItsIdTests(SynchronousTestCase):
    """A store shared by several nodes may deliver a copy before it tells the sender the
    message's id: the copy goes out unlabelled, and the label is answered ACK then."""

    def test_the_label_is_answered_once(self) -> None:
        settled: list[bool] = []
        labels = LabellingCodec(
            codec_for(SERVER, frozenset({"echo-message"})),
            "alice",
            lambda messages, label: f"{label}:{len(messages)}".encode(),
            lambda: settled.append(True),
        )
        awaited = labels.expect("#chat", "x")
        assert awaited is not None
        copy = b'{"id":7,"timestamp":"2026-01-01T00:00:00.000Z","nickname":"alice","message":"hi"}'
        self.assertEqual(labels.encode(copy), b":alice!alice@chatproto PRIVMSG #chat :hi\r\n")
        self.assertEqual(labels.stored(awaited, 7), "x")
        self.assertEqual(settled, [True])
        self.assertEqual(labels.stored(awaited, 7), None)
