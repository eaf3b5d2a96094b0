"""IRCv3 C{labeled-response}: a client tags a command with C{label}, and the server's
answer carries it back (docs/irc.md).

One line of answer carries the C{label} tag itself; several come in one
C{labeled-response} batch whose opening line carries it; no answer at all is an C{ACK}.
A label longer than L{MAX_LABEL_BYTES} is not echoed (the client gets its answer
unlabelled): the spec bounds labels at that size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from chatproto.doors.irc.capabilities import BATCH, LABELED_RESPONSE
from chatproto.doors.irc.message import Message

#: The longest label echoed, in bytes of UTF-8 (IRCv3 labeled-response).
MAX_LABEL_BYTES: Final = 64
LABEL_TAG: Final = "label"
BATCH_TYPE: Final = "labeled-response"


def label_of(message: Message, capabilities: frozenset[str]) -> str | None:
    """The label to echo with the answer to C{message}, if the client asked for one."""
    label = message.tags.get(LABEL_TAG)
    if not label or LABELED_RESPONSE not in capabilities:
        return None
    return label if len(label.encode("utf-8")) <= MAX_LABEL_BYTES else None


def _tagged(message: Message, **tags: str) -> Message:
    return Message(
        message.command,
        message.params,
        message.source,
        {**tags, **message.tags},
        force_trailing=message.force_trailing,
    )


def labelled(
    messages: Sequence[Message],
    label: str,
    server_name: str,
    reference: str,
    capabilities: frozenset[str],
) -> list[Message]:
    """C{messages}, the whole answer to a labelled command, labelled: C{ACK} for none,
    the tag for one, a batch named C{reference} for several (without the batch
    capability, only the first line can carry the label)."""
    if not messages:
        return [Message("ACK", (), server_name, {LABEL_TAG: label})]
    first, *rest = messages
    if not rest or BATCH not in capabilities:
        return [_tagged(first, **{LABEL_TAG: label}), *rest]
    return [
        Message("BATCH", (f"+{reference}", BATCH_TYPE), server_name, {LABEL_TAG: label}),
        # Lines of a batch of their own (a chathistory batch) stay in it.
        *(_tagged(message, batch=reference) for message in messages),
        Message("BATCH", (f"-{reference}",), server_name),
    ]
