"""The control words of the protocol (docs/protocol.md section 1).

They belong to the core because the nickname rules (section 3) refuse them on
every door, not only on the doors that send them.
"""

from __future__ import annotations

from typing import Final

HELLO: Final = "HELLO"
NICK: Final = "NICK"
READY: Final = "READY"
RETRY: Final = "RETRY"
BYE: Final = "BYE"
CONTROL_WORDS: Final = frozenset({HELLO, NICK, READY, RETRY, BYE})
