"""A member's outlet (core/outbox.py, `Outbox.direct`): the fan-out may write straight to
the socket only while nothing waits for the member, so that nothing overtakes."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.outbox import Outbox


class RecordingOutlet:
    """A socket that takes everything."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes, /) -> int:
        self.sent.append(data)
        return len(data)


class QuietOwner:
    """An outbox's owner that never overflows here and ignores ended streams."""

    def outbox_overflowed(self) -> None:
        """Not reached: these tests stay under the limit."""

    def outbox_streamed(self) -> None:
        """Nothing waits for the stream's end."""


class OutletTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.written: list[bytes] = []
        self.outbox = Outbox(self.written.append, 100, QuietOwner())
        self.outlet = RecordingOutlet()

    def test_no_outlet_until_the_door_opens_one(self) -> None:
        self.assertIsNone(self.outbox.direct)
        self.outbox.open_outlet(self.outlet)
        self.assertIs(self.outbox.direct, self.outlet)

    def test_a_stream_closes_it_until_the_stream_and_what_waited_are_written(self) -> None:
        self.outbox.open_outlet(self.outlet)
        self.outbox.hold()  # the store has not answered the replay yet
        self.assertIsNone(self.outbox.direct)
        self.outbox.send(b"live")
        self.outbox.stream(iter([b"replay"]))
        self.assertEqual(self.written, [b"replaylive"])
        self.assertIs(self.outbox.direct, self.outlet)

    def test_a_full_transport_closes_it_until_it_is_empty(self) -> None:
        self.outbox.open_outlet(self.outlet)
        self.outbox.pause()
        self.assertIsNone(self.outbox.direct)
        self.outbox.resume()
        self.assertIs(self.outbox.direct, self.outlet)

    def test_bytes_queued_in_the_transport_close_it_until_the_door_reopens_it(self) -> None:
        self.outbox.open_outlet(self.outlet)
        self.outbox.close_outlet()
        self.assertIsNone(self.outbox.direct)
        self.outbox.resume()  # an empty transport buffer: the door's next write says so
        self.assertIsNone(self.outbox.direct)
        self.outbox.open_outlet(self.outlet)
        self.assertIs(self.outbox.direct, self.outlet)

    def test_a_stopped_outbox_never_shows_it_again(self) -> None:
        self.outbox.open_outlet(self.outlet)
        self.outbox.stop()
        self.assertIsNone(self.outbox.direct)
        self.outbox.open_outlet(self.outlet)
        self.outbox.resume()
        self.assertIsNone(self.outbox.direct)
