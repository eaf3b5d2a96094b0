"""Server timestamps are UTC, RFC 3339, millisecond precision."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from chatproto.core.timestamps import rfc3339_millis


class TimestampTests(SynchronousTestCase):
    """The format of every packet's `timestamp`."""

    def test_format(self) -> None:
        self.assertEqual(rfc3339_millis(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(rfc3339_millis(1795966244.1239), "2026-11-29T15:30:44.123Z")
        self.assertEqual(rfc3339_millis(1795966244.9999), "2026-11-29T15:30:44.999Z")
        self.assertEqual(rfc3339_millis(1795966245.0), "2026-11-29T15:30:45.000Z")
