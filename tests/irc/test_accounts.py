"""The IRC door's accounts on fakes (a StringTransport, a fake clock, no account store):
SASL's refusals, NickServ's reserved name, and how members' accounts show
(account-notify, account-tag, extended-join, 330) once the hall knows them."""

from __future__ import annotations

import base64

from twisted.trial.unittest import SynchronousTestCase

from tests.fakes import FakeClient, make_room
from tests.irc.fakes import FakeIrcClient


class SaslWithoutAccountsTests(SynchronousTestCase):
    """SASL on a server that keeps no accounts: every exchange ends in a refusal."""

    def setUp(self) -> None:
        self.room, _, _ = make_room()
        self.alice = FakeIrcClient(self.room)

    def test_authenticate_needs_the_capability(self) -> None:
        self.alice.send("AUTHENTICATE PLAIN")
        self.assertEqual(self.alice.lines(), [":irc.test 904 * :Request the sasl capability first"])

    def test_an_exchange_refused_aborted_or_too_long(self) -> None:
        alice = self.alice
        alice.send("CAP LS 302", "CAP REQ sasl")
        alice.lines()
        alice.send("AUTHENTICATE SCRAM-SHA-256")
        self.assertEqual(
            alice.lines(),
            [
                ":irc.test 908 * PLAIN :are available SASL mechanisms",
                ":irc.test 904 * :SASL authentication failed",
            ],
        )
        alice.send("AUTHENTICATE PLAIN", "AUTHENTICATE *")
        self.assertEqual(
            alice.lines(),
            [":irc.test AUTHENTICATE +", ":irc.test 906 * :SASL authentication aborted"],
        )
        alice.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + "A" * 401)
        self.assertEqual(
            alice.lines(), [":irc.test AUTHENTICATE +", ":irc.test 905 * :SASL message too long"]
        )
        payload = base64.b64encode(b"\0alice\0secret").decode()
        alice.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {payload}")
        self.assertEqual(
            alice.lines(),
            [
                ":irc.test AUTHENTICATE +",
                ":irc.test 904 * :SASL authentication failed: this server keeps no accounts",
            ],
        )

    def test_registering_in_the_middle_of_an_exchange_aborts_it(self) -> None:
        alice = self.alice
        alice.send("CAP LS 302", "CAP REQ sasl", "AUTHENTICATE PLAIN")
        alice.lines()
        alice.send("NICK alice", "USER a 0 * :A", "CAP END")
        lines = alice.lines()
        self.assertEqual(lines[0], ":irc.test 906 * :SASL authentication aborted")
        self.assertIn(" 001 alice ", lines[1])
        alice.send("AUTHENTICATE PLAIN")
        self.assertEqual(
            alice.lines(),
            [":irc.test 462 alice :SASL comes before registration; use NickServ IDENTIFY"],
        )

    def test_nobody_is_nickserv(self) -> None:
        self.alice.send("NICK nickserv", "USER a 0 * :A")
        self.assertEqual(
            self.alice.lines(),
            [":irc.test 432 * nickserv :Erroneous nickname: 'nickserv' is reserved"],
        )


class NickServTests(SynchronousTestCase):
    """NickServ's answers that need no account store."""

    def setUp(self) -> None:
        self.room, _, _ = make_room()
        self.alice = FakeIrcClient(self.room)
        self.alice.register("alice")

    def test_help_in_every_form(self) -> None:
        for line in ["PRIVMSG NickServ :HELP", "PRIVMSG nickserv :help", "NS HELP", "NICKSERV"]:
            self.alice.send(line)
            lines = self.alice.lines()
            self.assertEqual(len(lines), 4, line)
            self.assertTrue(all(text.startswith(":NickServ!NickServ@chatproto NOTICE alice :")
                                for text in lines))  # fmt: skip

    def test_an_unknown_command_is_echoed_short_and_a_notice_is_not_answered(self) -> None:
        self.alice.send("NS " + "X" * 300, "NOTICE NickServ :HELP")
        self.assertEqual(
            self.alice.lines(),
            [
                ":NickServ!NickServ@chatproto NOTICE alice :Unknown command or missing"
                f" parameters: {'X' * 32}; try HELP"
            ],
        )

    def test_identify_without_accounts(self) -> None:
        self.alice.send("PRIVMSG NickServ :IDENTIFY secret")
        self.assertEqual(
            self.alice.lines(),
            [
                ":NickServ!NickServ@chatproto NOTICE alice :Wrong password or no such"
                " account: this server keeps no accounts"
            ],
        )


class AccountsShownTests(SynchronousTestCase):
    """What IRC clients see of members' accounts, whichever door the members use."""

    def setUp(self) -> None:
        self.room, _, _ = make_room()
        self.carol = FakeIrcClient(self.room)
        self.carol.register("carol", "account-notify", "account-tag", "extended-join")

    def test_a_login_after_joining_is_announced_and_tagged(self) -> None:
        bob = FakeClient(self.room)
        bob.join("bob")
        self.assertEqual(self.carol.lines(), [":bob!bob@chatproto JOIN #chat * :bob"])
        member = self.room.local_member("bob")
        assert member is not None
        self.room.set_account(member, "bob")
        self.assertEqual(self.carol.lines(), [":bob!bob@chatproto ACCOUNT bob"])
        bob.send_json({"message": "hi"})
        self.assertEqual(self.carol.lines(), ["@account=bob :bob!bob@chatproto PRIVMSG #chat :hi"])
        self.carol.send("WHOIS bob")
        self.assertIn(":irc.test 330 carol bob bob :is logged in as", self.carol.lines())
        self.room.set_account(member, None)
        self.assertEqual(self.carol.lines(), [":bob!bob@chatproto ACCOUNT *"])

    def test_extended_join_shows_the_realname_of_an_irc_client(self) -> None:
        dave = FakeIrcClient(self.room)
        dave.send("NICK dave", "USER d 0 * :Dave D")
        self.assertEqual(self.carol.lines(), [":dave!dave@chatproto JOIN #chat * :Dave D"])

    def test_clients_without_the_capabilities_see_none_of_it(self) -> None:
        plain = FakeIrcClient(self.room)
        plain.register("plain")
        bob = FakeClient(self.room)
        bob.join("bob")
        member = self.room.local_member("bob")
        assert member is not None
        self.room.set_account(member, "bob")
        bob.send_json({"message": "hi"})
        self.assertEqual(
            plain.lines(),
            [":bob!bob@chatproto JOIN #chat", ":bob!bob@chatproto PRIVMSG #chat :hi"],
        )
