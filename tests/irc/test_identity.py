"""What WHO and WHOIS show of a member (docs/irc.md): USER's fields for IRC clients."""

from __future__ import annotations

import pytest_twisted
from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.fitting import LINE_BYTES
from chatproto.doors.irc.identity import USERLEN, MemberIdentity
from chatproto.doors.irc.message import serialise
from chatproto.doors.irc.replies import Replies
from tests.irc.clients import connect_irc
from tests.irc.conftest import Doors
from tests.irc.fakes import SERVER
from tests.loopback import connect


class MemberIdentityTests(SynchronousTestCase):
    """The username as ~username, safe in a nick!user@host; the realname as given."""

    def test_other_doors_show_the_nickname(self) -> None:
        self.assertEqual(MemberIdentity.of_nickname("bob"), MemberIdentity("bob", "bob", "bob"))

    def test_username(self) -> None:
        for given, shown in [
            ("alice", "~alice"),
            ("ａｌｉｃｅ", "~alice"),  # NFKC, as nicknames
            ("😊😊", "~😊😊"),  # any script, as nicknames
            ("a!b@c*d?e,f:g\x01", "~abcdefg"),  # what would break a source or a mask
            ("x" * 40, "~" + "x" * USERLEN),
            ("@!", "~nick"),  # nothing left: the nickname stands in
        ]:
            self.assertEqual(MemberIdentity.from_user("nick", given, "Real").username, shown)

    def test_realname_as_given(self) -> None:
        identity = MemberIdentity.from_user("nick", "u", ": Ann  O'Nym :)")
        self.assertEqual(identity.realname, ": Ann  O'Nym :)")

    def test_long_realname_is_cut_to_fit_the_line(self) -> None:
        nickname = "𝔵" * 32  # 128 bytes of UTF-8
        identity = MemberIdentity.from_user(nickname, "🦊" * USERLEN, "é" * 250)
        replies = Replies(SERVER)
        (who, _) = replies.who(nickname, "#chat", [identity])
        (whois, _) = replies.whois(nickname, nickname, identity)
        for message in (who, whois):
            self.assertLessEqual(len(serialise(message)), LINE_BYTES)
            self.assertRegex(message.params[-1], "^(0 )?é+$")


@pytest_twisted.ensureDeferred
async def test_who_and_whois_across_doors(doors: Doors) -> None:
    bob = await connect(doors.packet_port)
    await bob.join("bob")
    alice = await connect_irc(doors.irc_port)
    alice.send("NICK alice", "USER al 0 * :Alice Liddell")
    await alice.until(lambda line: " 366 " in line)
    alice.send("WHOIS bob", "WHOIS ALICE", "WHO #chat")
    assert await alice.synced() == [
        ":irc.test 311 alice bob bob chatproto * :bob",
        ":irc.test 318 alice bob :End of /WHOIS list",
        ":irc.test 311 alice alice ~al chatproto * :Alice Liddell",
        ":irc.test 318 alice alice :End of /WHOIS list",
        ":irc.test 352 alice #chat bob chatproto irc.test bob H :0 bob",
        ":irc.test 352 alice #chat ~al chatproto irc.test alice H :0 Alice Liddell",
        ":irc.test 315 alice #chat :End of WHO list",
    ]
