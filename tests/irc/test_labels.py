"""IRCv3 labeled-response on the IRC door (docs/irc.md), on fakes."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.fakes import make_room
from tests.irc.fakes import FakeIrcClient


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
