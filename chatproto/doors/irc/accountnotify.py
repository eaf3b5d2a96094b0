"""IRCv3 `account-notify`: C{ACCOUNT} when a member logs in or out while joined.

The hall tells its watchers when a joined member of this node logs in or out (NickServ,
`REGISTER`, the packet doors' `register` and `unregister`); L{account_changed} sends
C{:nick!nick@chatproto ACCOUNT <name>} (C{*}: logged out) to every IRC client of this
node that shares a room with it, and to the member itself, once each, when it asked for
the capability. A change on another node reaches this node's mirror of accounts
(account-tag) but sends no ACCOUNT here (docs/irc.md).
"""

from __future__ import annotations

from chatproto.core.member import IMember
from chatproto.doors.irc.accountcaps import NO_ACCOUNT
from chatproto.doors.irc.capabilities import ACCOUNT_NOTIFY
from chatproto.doors.irc.identity import member_source
from chatproto.doors.irc.message import Message
from chatproto.doors.irc.session import IrcSession


def account_changed(member: IMember) -> None:
    """Tell the IRC clients sharing a room with C{member} (and C{member}) its account."""
    account = member.account if member.account is not None else NO_ACCOUNT
    line = Message("ACCOUNT", (account,), member_source(member.nickname))
    told: set[int] = set()
    sharers = [
        member,
        *(other for room in member.rooms.values() for other in room.members.values()),
    ]
    for other in sharers:
        if id(other) in told or not isinstance(other, IrcSession):
            continue
        told.add(id(other))
        if ACCOUNT_NOTIFY in other.registration.capabilities:
            other.reply([line])
