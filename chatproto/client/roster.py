"""Who is online, as the server's notices tell it: the names Tab completes."""

from __future__ import annotations

from typing import Final

from chatproto.client.incoming import Notice, string_field, string_list
from chatproto.core.nicknames import nickname_key

#: At most this many names are kept (the server's default --max-clients), whatever a
#: server sends.
MAX_NAMES: Final = 10000


class Roster:
    """The joined nicknames in join order, kept up to date by C{welcome}, C{who}, C{join}
    and C{leave} notices."""

    def __init__(self) -> None:
        #: Display nickname by collision key, in join order.
        self._names: dict[str, str] = {}

    def heard(self, notice: Notice) -> None:
        """Follow a notice (other events change nothing)."""
        if notice.event in ("welcome", "who"):
            self._names = {}
            for name in string_list(notice.packet, "users"):
                self._add(name)
            return
        user = string_field(notice.packet, "user")
        if user is None:
            return
        if notice.event == "join":
            self._add(user)
        elif notice.event == "leave":
            self._names.pop(nickname_key(user), None)

    def names(self) -> list[str]:
        """The nicknames online, in join order."""
        return list(self._names.values())

    def _add(self, name: str) -> None:
        if len(self._names) < MAX_NAMES:
            self._names[nickname_key(name)] = name
