"""One QUIT per quitter on one IRC client's output (chatproto/doors/irc/quits.py)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.doors.irc.quits import REMEMBERED_QUITTERS, QuitFilter

QUIT = b"@time=2027-01-15T08:00:00.000Z :bob!bob@chatproto QUIT :Quit\r\n"
JOIN = b":bob!bob@chatproto JOIN #rust\r\n"
CHAT = b":carol!carol@chatproto PRIVMSG #chat :bob QUIT twice\r\n"


class QuitFilterTests(SynchronousTestCase):
    def test_the_second_quit_is_dropped_until_a_join(self) -> None:
        quits = QuitFilter()
        self.assertEqual(quits.filter(QUIT + CHAT), QUIT + CHAT)
        self.assertEqual(quits.filter(QUIT), b"")
        self.assertEqual(quits.filter(JOIN + QUIT + QUIT), JOIN + QUIT)

    def test_names_of_an_entered_room_count_as_seen(self) -> None:
        quits = QuitFilter()
        quits.filter(QUIT)
        quits.seen(["alice", "bob"])
        self.assertEqual(quits.filter(QUIT), QUIT)

    def test_text_that_mentions_quit_is_kept(self) -> None:
        self.assertEqual(QuitFilter().filter(CHAT * 2), CHAT * 2)

    def test_memory_is_bounded(self) -> None:
        quits = QuitFilter()
        for n in range(REMEMBERED_QUITTERS + 1):
            quits.filter(b":q%d!q%d@chatproto QUIT :Quit\r\n" % (n, n))
        # The oldest is forgotten: a repeat of its QUIT goes through.
        self.assertEqual(
            quits.filter(b":q0!q0@chatproto QUIT :Quit\r\n"), b":q0!q0@chatproto QUIT :Quit\r\n"
        )
        self.assertEqual(quits.filter(b":q9!q9@chatproto QUIT :Quit\r\n"), b"")
