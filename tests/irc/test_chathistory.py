"""IRCv3 draft/chathistory on the IRC door (docs/irc.md), on fakes: the `history`
command of docs/protocol.md section 12 over IRC."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.msgids import msgid_for
from tests.fakes import FakeClient, make_room
from tests.irc.fakes import FakeIrcClient

#: What alice asks for: the history in a batch, with times and msgids.
CAPABILITIES = ("batch", "server-time", "message-tags", "draft/chathistory")


class ChatHistoryTests(SynchronousTestCase):
    """Ten messages in #rust, one a second, from bob (a word-packet client)."""

    def setUp(self) -> None:
        self.room, self.clock, _ = make_room()
        self.bob = FakeClient(self.room)
        self.bob.join("bob")
        self.bob.send_json({"command": "join", "room": "#rust"})
        for n in range(1, 11):
            self.bob.send_json({"message": f"m{n}", "room": "#rust"})
            self.bob.received()
            self.clock.advance(1)
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice", *CAPABILITIES)
        self.alice.send("JOIN #rust")
        self.alice.lines()

    def texts(self, command: str) -> list[str]:
        """The texts of the PRIVMSGs answering C{command}, checking the batch around them."""
        self.alice.send(command)
        lines = self.alice.lines()
        self.assertRegex(lines[0], r"^:irc\.test BATCH \+(\S+) chathistory #rust$")
        reference = lines[0].split()[2][1:]
        self.assertEqual(lines[-1], f":irc.test BATCH -{reference}")
        for line in lines[1:-1]:
            self.assertTrue(line.startswith(f"@batch={reference};"), line)
        return [line.rsplit(" :", 1)[1] for line in lines[1:-1]]

    def test_offered_and_advertised(self) -> None:
        lines = FakeIrcClient(self.room).register("carol", "draft/chathistory")
        self.assertIn("draft/chathistory", lines[0])  # CAP LS
        isupport = next(line for line in lines if " 005 " in line)
        self.assertIn(" CHATHISTORY=100 ", isupport)
        self.assertIn(" MSGREFTYPES=msgid,timestamp ", isupport)

    def test_latest(self) -> None:
        self.assertEqual(self.texts("CHATHISTORY LATEST #rust * 3"), ["m8", "m9", "m10"])
        after = msgid_for("#rust", 8)
        self.assertEqual(self.texts(f"CHATHISTORY LATEST #RUST msgid={after} 50"), ["m9", "m10"])

    def test_before_after_around_by_msgid(self) -> None:
        five = msgid_for("#rust", 5)
        self.assertEqual(self.texts(f"CHATHISTORY BEFORE #rust msgid={five} 2"), ["m3", "m4"])
        self.assertEqual(self.texts(f"CHATHISTORY AFTER #rust msgid={five} 2"), ["m6", "m7"])
        self.assertEqual(
            self.texts(f"CHATHISTORY AROUND #rust msgid={five} 4"), ["m3", "m4", "m5", "m6"]
        )
        two, seven = msgid_for("#rust", 2), msgid_for("#rust", 7)
        self.assertEqual(
            self.texts(f"CHATHISTORY BETWEEN #rust msgid={two} msgid={seven} 10"),
            ["m3", "m4", "m5", "m6"],
        )
        self.assertEqual(
            self.texts(f"CHATHISTORY BETWEEN #rust msgid={seven} msgid={two} 2"), ["m5", "m6"]
        )

    def test_by_timestamp(self) -> None:
        # m1 was stored at 08:00:00.000, m2 a second later, and so on.
        at_m4 = "timestamp=2027-01-15T08:00:03.000Z"
        self.assertEqual(self.texts(f"CHATHISTORY BEFORE #rust {at_m4} 2"), ["m2", "m3"])
        self.assertEqual(self.texts(f"CHATHISTORY AFTER #rust {at_m4} 2"), ["m5", "m6"])
        late = "timestamp=2027-01-15T08:00:08.500Z"
        self.assertEqual(self.texts(f"CHATHISTORY LATEST #rust {late} 5"), ["m10"])
        self.assertEqual(
            self.texts("CHATHISTORY BEFORE #rust timestamp=2000-01-01T00:00:00.000Z 5"), []
        )

    def test_lines_carry_their_live_msgid_and_time(self) -> None:
        self.alice.send("CHATHISTORY LATEST #rust * 1")
        line = self.alice.lines()[1]
        self.assertIn(f";msgid={msgid_for('#rust', 10)}", line)
        self.assertIn(";time=2027-01-15T08:00:09.000Z", line)

    def test_failures(self) -> None:
        five = msgid_for("#rust", 5)
        other = msgid_for("#chat", 5)
        cases = {
            "CHATHISTORY": "FAIL CHATHISTORY NEED_MORE_PARAMS * :Missing parameters",
            "CHATHISTORY LATEST #rust *": (
                "FAIL CHATHISTORY NEED_MORE_PARAMS LATEST :Missing parameters"
            ),
            "CHATHISTORY SOON #rust * 5": "FAIL CHATHISTORY UNKNOWN_COMMAND SOON :Unknown command",
            f"CHATHISTORY BEFORE #rust msgid={five} x": (
                "FAIL CHATHISTORY INVALID_PARAMS BEFORE :x is not a positive number of messages"
            ),
            f"CHATHISTORY BEFORE #rust msgid={other} 5": (
                f"FAIL CHATHISTORY INVALID_PARAMS BEFORE :{other} names no message of this channel"
            ),
            "CHATHISTORY BEFORE #rust * 5": (
                "FAIL CHATHISTORY INVALID_PARAMS BEFORE :* is only for LATEST"
            ),
            "CHATHISTORY LATEST #elsewhere * 5": (
                "FAIL CHATHISTORY INVALID_TARGET LATEST #elsewhere :You are not in #elsewhere"
            ),
        }
        for command, expected in cases.items():
            self.alice.send(command)
            self.assertEqual(self.alice.lines(), [f":irc.test {expected}"], command)

    def test_a_nickname_has_no_stored_history(self) -> None:
        self.alice.send("CHATHISTORY LATEST bob * 5")
        lines = self.alice.lines()
        self.assertEqual([line.split()[1] for line in lines], ["BATCH", "BATCH"])
