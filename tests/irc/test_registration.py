"""Registration and IRCv3 capability negotiation (docs/protocol.md section 10)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.capabilities import OFFERED, apply_request
from chatproto.doors.irc.registration import Phase, Registration, Step
from tests.irc.helpers import REPLIES, line, wire


def feed(registration: Registration, *texts: str) -> list[Step]:
    """The steps for each of the client's C{texts}."""
    return [registration.receive(line(text)) for text in texts]


def replies_of(steps: list[Step]) -> list[str]:
    """Every reply of C{steps}, as wire lines."""
    return [text for step in steps for text in wire(step.replies)]


class CapabilityRequestTests(SynchronousTestCase):
    """CAP REQ is all or nothing."""

    def test_enable_and_disable(self) -> None:
        self.assertEqual(
            apply_request(frozenset(), "server-time batch"), frozenset({"server-time", "batch"})
        )
        self.assertEqual(
            apply_request(frozenset({"batch", "echo-message"}), "-batch"),
            frozenset({"echo-message"}),
        )

    def test_unknown_or_empty_refuses_all(self) -> None:
        self.assertIsNone(apply_request(frozenset(), "server-time sasl"))
        self.assertIsNone(apply_request(frozenset(), "-sasl"))
        self.assertIsNone(apply_request(frozenset(), ""))

    def test_offer(self) -> None:
        for name in ["server-time", "message-tags", "echo-message", "batch", "multi-prefix"]:
            self.assertIn(name, OFFERED)
        self.assertNotIn("sasl", OFFERED)


class PlainRegistrationTests(SynchronousTestCase):
    """NICK and USER without CAP: the room is asked at once."""

    def test_nick_then_user(self) -> None:
        registration = Registration(REPLIES)
        nick, user = feed(registration, "NICK alice", "USER alice 0 * :Alice L")
        self.assertEqual((nick.replies, nick.join_as), ([], None))
        self.assertEqual((user.replies, user.join_as), ([], "alice"))
        self.assertIs(registration.phase, Phase.ASKING)
        registration.room_accepted()
        self.assertIs(registration.phase, Phase.REGISTERED)
        self.assertEqual(registration.me, "alice")

    def test_user_then_nick_keeps_the_display_form(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(registration, "PASS secret", "USER a 0 * :A", "NICK ａlice")
        self.assertEqual(replies_of(steps), [])
        self.assertEqual(steps[-1].join_as, "alice")  # NFKC, section 3

    def test_taken_nickname_then_another(self) -> None:
        registration = Registration(REPLIES)
        feed(registration, "NICK alice", "USER a 0 * :A")
        self.assertEqual(
            wire(registration.nickname_taken().replies),
            [":irc.test 433 * alice :Nickname is already in use"],
        )
        self.assertIs(registration.phase, Phase.WAITING)
        (step,) = feed(registration, "NICK alice_")
        self.assertEqual(step.join_as, "alice_")

    def test_invalid_nicknames(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(registration, "NICK " + "x" * 33, "NICK server", "NICK", "NICK :")
        self.assertEqual(
            replies_of(steps),
            [
                ":irc.test 432 * "
                + "x" * 33
                + " :Erroneous nickname: a nickname has at most 32 characters",
                ":irc.test 432 * server :Erroneous nickname: 'server' is reserved",
                ":irc.test 431 * :No nickname given",
                ":irc.test 431 * :No nickname given",
            ],
        )
        self.assertIsNone(registration.nickname)

    def test_user_needs_four_parameters_and_a_realname(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(registration, "NICK alice", "USER a 0 *", "USER a 0 * :", "USER :")
        self.assertEqual(replies_of(steps), [":irc.test 461 * USER :Not enough parameters"] * 3)
        self.assertIs(registration.phase, Phase.WAITING)

    def test_other_commands_wait_for_registration(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(registration, "JOIN #chat", "PRIVMSG #chat :hi", "FOO")
        self.assertEqual(replies_of(steps), [":irc.test 451 * :You have not registered"] * 3)

    def test_ping_before_registration(self) -> None:
        steps = feed(Registration(REPLIES), "PING x", "PING", "PING :a b")
        self.assertEqual(
            replies_of(steps),
            [
                ":irc.test PONG irc.test x",
                ":irc.test 409 * :No origin specified",
                ":irc.test PONG irc.test :a b",
            ],
        )

    def test_quit_before_registration_gets_error_then_close(self) -> None:
        registration = Registration(REPLIES)
        (step,) = feed(registration, "QUIT :gone fishing")
        self.assertEqual(wire(step.replies), ["ERROR :Closing link (Quit: gone fishing)"])
        self.assertTrue(step.close)
        self.assertIs(registration.phase, Phase.CLOSED)
        self.assertEqual(
            wire(Registration(REPLIES).quit(()).replies), ["ERROR :Closing link (Quit)"]
        )

    def test_no_input_while_the_room_decides(self) -> None:
        registration = Registration(REPLIES)
        feed(registration, "NICK alice", "USER a 0 * :A")
        with self.assertRaises(RuntimeError):
            registration.receive(line("PING x"))

    def test_the_room_answers_only_when_asked(self) -> None:
        with self.assertRaises(RuntimeError):
            Registration(REPLIES).room_accepted()
        with self.assertRaises(RuntimeError):
            Registration(REPLIES).nickname_taken()


class NegotiationTests(SynchronousTestCase):
    """CAP LS / REQ / LIST / END, and registration held until END."""

    def test_ls_302_negotiation(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(
            registration,
            "CAP LS 302",
            "NICK alice",
            "USER a 0 * :A",
            "CAP REQ :server-time batch",
            "CAP LIST",
        )
        self.assertEqual(
            replies_of(steps),
            [
                ":irc.test CAP * LS :batch draft/chathistory draft/message-redaction"
                " echo-message"
                " labeled-response message-tags multi-prefix server-time",
                ":irc.test CAP * ACK :server-time batch",
                ":irc.test CAP * LIST :batch server-time",
            ],
        )
        self.assertTrue(all(step.join_as is None for step in steps))
        self.assertIs(registration.phase, Phase.NEGOTIATING)
        (end,) = feed(registration, "CAP END")
        self.assertEqual((end.replies, end.join_as), ([], "alice"))
        self.assertEqual(registration.capabilities, frozenset({"server-time", "batch"}))

    def test_ls_without_version_lists_the_same(self) -> None:
        (step,) = feed(Registration(REPLIES), "CAP LS")
        self.assertEqual(
            wire(step.replies),
            [
                ":irc.test CAP * LS :batch draft/chathistory draft/message-redaction"
                " echo-message"
                " labeled-response message-tags multi-prefix server-time"
            ],
        )

    def test_nak_repeats_the_request_and_changes_nothing(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(registration, "CAP REQ :server-time sasl", "CAP REQ echo-message")
        self.assertEqual(
            replies_of(steps),
            [":irc.test CAP * NAK :server-time sasl", ":irc.test CAP * ACK :echo-message"],
        )
        self.assertEqual(registration.capabilities, frozenset({"echo-message"}))

    def test_req_alone_holds_registration(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(registration, "CAP REQ :batch", "NICK alice", "USER a 0 * :A")
        self.assertEqual([step.join_as for step in steps], [None, None, None])
        self.assertEqual(feed(registration, "CAP END")[0].join_as, "alice")

    def test_list_and_end_alone_do_not_hold_it(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(registration, "CAP LIST", "CAP END", "NICK alice", "USER a 0 * :A")
        self.assertEqual(replies_of(steps), [":irc.test CAP * LIST :"])
        self.assertEqual(steps[-1].join_as, "alice")

    def test_unknown_subcommand_and_bare_cap(self) -> None:
        registration = Registration(REPLIES)
        steps = feed(registration, "CAP FOO", "CAP")
        self.assertEqual(
            replies_of(steps),
            [
                ":irc.test 410 * FOO :Invalid CAP command",
                ":irc.test 461 * CAP :Not enough parameters",
            ],
        )
        self.assertIs(registration.phase, Phase.WAITING)

    def test_subcommands_ignore_case(self) -> None:
        (step,) = feed(Registration(REPLIES), "cap ls 302")
        self.assertIn("LS", wire(step.replies)[0])

    def test_after_registration(self) -> None:
        registration = Registration(REPLIES)
        feed(registration, "NICK alice", "USER a 0 * :A")
        registration.room_accepted()
        steps = [
            registration.cap(line(text))
            for text in ["CAP REQ :echo-message", "CAP LIST", "CAP END", "CAP LS 302"]
        ]
        self.assertEqual(
            replies_of(steps),
            [
                ":irc.test CAP alice ACK :echo-message",
                ":irc.test CAP alice LIST :echo-message",
                ":irc.test CAP alice LS :batch draft/chathistory draft/message-redaction"
                " echo-message labeled-response message-tags multi-prefix server-time",
            ],
        )
        self.assertIs(registration.phase, Phase.REGISTERED)
        with self.assertRaises(RuntimeError):
            registration.receive(line("NICK bob"))
