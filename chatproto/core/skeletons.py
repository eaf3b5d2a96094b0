"""Confusable skeletons (docs/protocol.md section 3): `alice` and `\u0430lice` look alike.

Two nicknames collide when the Unicode TR39 skeletons of their keys are equal. The
skeleton comes from ICU's spoof checker (`uspoof_getSkeleton`), through PyICU (the
`pyicu-wheels` distribution, which bundles ICU so that nothing is compiled): it
applies Unicode's own `confusables.txt`, the data of the Unicode version that
L{UNICODE_VERSION} names (ICU 77.1: Unicode 16.0). No table is kept here.

TR39 skeletons keep case: a digit zero maps to a capital `O`, and since a key is
case-folded, `b0b` and `bob` do not collide, while `a1ice` and `alice` do (`1`, `I`
and `l` all map to `l`).
"""

from __future__ import annotations

from typing import Final

import icu  # type: ignore[import-untyped]  # PyICU ships no type information

#: The Unicode version of the confusables data the skeletons follow.
UNICODE_VERSION: Final[str] = icu.UNICODE_VERSION

#: ICU's checks and skeletons are const calls, safe from any thread once it is built.
_CHECKER: Final = icu.SpoofChecker()


def skeleton(key: str) -> str:
    """The TR39 skeleton of C{key} (a nickname key: L{chatproto.core.nicknames.nickname_key}).

    Keys whose skeletons are equal look alike and so collide.
    """
    result: str = _CHECKER.getSkeleton(0, key)  # the type argument is ignored since ICU 58
    return result
