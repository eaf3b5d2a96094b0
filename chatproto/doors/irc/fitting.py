"""Fitting text into IRC lines: at most 512 bytes with the source and CR LF, tags apart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from chatproto.doors.irc.message import Message, serialise

#: An IRC line without its tags, CR LF included (RFC 1459).
LINE_BYTES: Final = 512


def text_budget(template: Message) -> int:
    """Bytes of UTF-8 left for a last parameter appended to C{template}'s parameters.

    Counts everything the line will hold (source, command, parameters, the C{:} and
    CR LF) except the tags, which have a bound of their own.
    """
    probe = Message(template.command, (*template.params, ""), template.source)
    return LINE_BYTES - len(serialise(probe))


def split_to_fit(text: str, budget: int) -> list[str]:
    """Cut C{text} into pieces of at most C{budget} bytes of UTF-8, at character boundaries.

    A piece ends after the last space that fits, when that keeps at least half the budget,
    so words stay whole where they can; the pieces joined give C{text} back.

    @raise ValueError: when C{budget} cannot hold the widest character (4 bytes).
    """
    if budget < 4:
        raise ValueError(f"no room for text: {budget} bytes")
    pieces = []
    data = text.encode("utf-8")
    while len(data) > budget:
        cut = budget
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: the cut is inside a character
            cut -= 1
        space = data.rfind(b" ", budget // 2, cut)
        if space >= 0:
            cut = space + 1
        pieces.append(data[:cut].decode("utf-8"))
        data = data[cut:]
    pieces.append(data.decode("utf-8"))
    return pieces


def pack_words(words: Iterable[str], budget: int) -> list[str]:
    """Join C{words} (without spaces) with spaces into as few texts of at most C{budget}
    bytes as fit.

    A word longer than the budget gets a text of its own (callers keep words short).
    The words are joined and encoded once and cut at the last space that fits: a
    names list of 1,000 nicknames costs a few dozen cuts, not a loop over them.
    """
    joined = " ".join(words).encode("utf-8")
    return [text.decode("utf-8") for text in packed_words(joined, budget)]


def packed_words(joined: bytes, budget: int) -> list[bytes]:
    """L{pack_words} of words already joined with spaces and encoded, as bytes."""
    texts: list[bytes] = []
    start, end = 0, len(joined)
    while start < end:
        if end - start <= budget:
            cut = end
        else:
            cut = joined.rfind(b" ", start, start + budget + 1)
            if cut <= start:  # the next word alone is over the budget
                cut = joined.find(b" ", start)
                if cut == -1:
                    cut = end
        texts.append(joined[start:cut])
        start = cut + 1
    return texts
