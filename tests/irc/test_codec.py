"""The IRC door's codec: the room's records as IRC lines, one codec per live capability set."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.errors import ErrorCode
from chatproto.core.notices import error_notice, notice
from chatproto.doors.irc import codec
from chatproto.doors.irc.codec import codec_for
from tests.irc.fakes import SERVER

STAMP = "2026-11-24T03:30:44.123Z"
CHAT = b'{"id":7,"timestamp":"%s","nickname":"bob","message":"hi"}' % STAMP.encode()


class EncodingTests(SynchronousTestCase):
    """Each kind of record, with and without server-time."""

    def test_records(self) -> None:
        plain = codec_for(SERVER, frozenset())
        records = [
            CHAT,
            notice(STAMP, "join", "carol joined", user="carol"),
            notice(STAMP, "leave", "carol left", user="carol", reason="slow"),
            notice(STAMP, "shutdown", "Server closing in 5 seconds", grace=5),
            error_notice(STAMP, ErrorCode.UNAVAILABLE, "The message could not be stored"),
        ]
        self.assertEqual(
            plain.encode_batch(records).decode().split("\r\n"),
            [
                ":bob!bob@chatproto PRIVMSG #chat :hi",
                ":carol!carol@chatproto JOIN #chat",
                ":carol!carol@chatproto QUIT :Too slow to read (send queue full)",
                ":irc.test NOTICE #chat :Server closing in 5 seconds",
                ":irc.test NOTICE * :The message could not be stored (unavailable)",
                "",
            ],
        )
        timed = codec_for(SERVER, frozenset({"server-time"}))
        self.assertEqual(timed.encode(CHAT), b"@time=%s " % STAMP.encode() + plain.encode(CHAT))
        self.assertEqual(
            plain.encode_replayed(CHAT), b":bob!bob@chatproto PRIVMSG #chat :[03:30] hi\r\n"
        )

    def test_only_lines_a_quit_filter_reads_need_each_clients_send(self) -> None:
        plain = codec_for(SERVER, frozenset())
        quit_notice = notice(STAMP, "leave", "carol left", user="carol", reason="bye")
        join_notice = notice(STAMP, "join", "carol joined", user="carol")
        self.assertTrue(plain.same_for_all(plain.encode_batch([CHAT, CHAT])))
        self.assertFalse(plain.same_for_all(plain.encode_batch([CHAT, quit_notice])))
        self.assertFalse(plain.same_for_all(plain.encode(join_notice)))

    def test_one_codec_per_live_capability_set(self) -> None:
        self.assertIs(
            codec_for(SERVER, frozenset({"batch", "multi-prefix"})), codec_for(SERVER, frozenset())
        )
        echo = codec_for(SERVER, frozenset({"echo-message", "message-tags"}))
        self.assertTrue(echo.echoes_sender)
        self.assertFalse(codec_for(SERVER, frozenset()).echoes_sender)
        self.assertIsNot(echo, codec_for(SERVER, frozenset({"echo-message", "server-time"})))

    def test_message_tags_add_the_msgid(self) -> None:
        plain = codec_for(SERVER, frozenset())
        tagged = codec_for(SERVER, frozenset({"message-tags"}))
        self.assertIsNot(tagged, plain)
        self.assertEqual(tagged.encode(CHAT), b"@msgid=I2NoYXQ.7 " + plain.encode(CHAT))
        self.assertEqual(
            tagged.encode_replayed(CHAT), b"@msgid=I2NoYXQ.7 " + plain.encode_replayed(CHAT)
        )

    def test_many_records_encode_the_same(self) -> None:
        encoder = codec.IrcCodec(SERVER, frozenset())
        records = [CHAT.replace(b'"id":7', b'"id":%d' % n) for n in range(codec.RECENT_RECORDS * 3)]
        first = [encoder.encode(record) for record in records]
        self.assertEqual([encoder.encode(record) for record in records], first)
        self.assertEqual(set(first), {b":bob!bob@chatproto PRIVMSG #chat :hi\r\n"})
