"""Who is logged in, as IRCv3 shows it: `account-tag` and `extended-join` on live lines.

The room's records carry nicknames only; the account of a member (of any door, on any
node: each node mirrors the account beside every place) is looked up when a record is
encoded, through the hall (L{MemberDirectory}). So
a live line from a logged-in member carries C{@account=NAME} (C{account-tag}) and a
JOIN, with C{extended-join}, reads C{JOIN #chan NAME :realname} (C{*} for nobody logged
in). Replayed history carries no account: who holds a nickname now need not be who said
it then. C{account-notify} is L{chatproto.doors.irc.accountnotify}'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from chatproto.doors.irc.capabilities import ACCOUNT_TAG, EXTENDED_JOIN
from chatproto.doors.irc.fitting import split_to_fit, text_budget
from chatproto.doors.irc.identity import MemberIdentity
from chatproto.doors.irc.message import Message

if TYPE_CHECKING:
    from chatproto.core.hall import Hall

#: What extended-join shows for a member logged in to no account.
NO_ACCOUNT: Final = "*"


@runtime_checkable
class _Identified(Protocol):
    """A member that gave C{USER} (an IRC client of this node)."""

    identity: MemberIdentity | None


@dataclass(frozen=True)
class MemberDirectory:
    """What the IRC door looks up about any member by nickname: its account and what
    WHO shows of it. Equal for every session of one hall, so that codecs are shared."""

    hall: Hall

    def account_of(self, nickname: str) -> str | None:
        """The account the member holding C{nickname} is logged in to (any door, any
        node), else None."""
        return self.hall.account_held(nickname)

    def identity_of(self, nickname: str) -> MemberIdentity:
        """What USER said for an IRC client on this node; the nickname for anyone else
        (other doors have no username or realname; other nodes' clients are not known)."""
        member = self.hall.local_member(nickname)
        if isinstance(member, _Identified) and member.identity is not None:
            return member.identity
        return MemberIdentity.of_nickname(nickname)


def with_accounts(
    messages: list[Message],
    record: Mapping[str, Any],
    capabilities: frozenset[str],
    directory: MemberDirectory | None,
) -> list[Message]:
    """C{messages}, the lines of one live C{record}, with its member's account shown as
    C{capabilities} ask (account-tag, extended-join)."""
    if directory is None or not capabilities & {ACCOUNT_TAG, EXTENDED_JOIN}:
        return messages
    who = record.get("nickname") if record.get("event") is None else record.get("user")
    if not isinstance(who, str):
        return messages
    account = directory.account_of(who)
    if EXTENDED_JOIN in capabilities:
        realname = directory.identity_of(who).realname
        messages = [
            extended_join(message, account, realname) if message.command == "JOIN" else message
            for message in messages
        ]
    if ACCOUNT_TAG in capabilities and account is not None:
        messages = [account_tagged(message, account) for message in messages]
    return messages


def account_tagged(message: Message, account: str) -> Message:
    """C{message} with the tag C{account=<account>} (IRCv3 account-tag)."""
    return dataclasses.replace(message, tags={**message.tags, "account": account})


def extended_join(join: Message, account: str | None, realname: str) -> Message:
    """A JOIN as extended-join writes it: C{JOIN #chan <account or *> :realname}, the
    realname cut to fit one line."""
    template = dataclasses.replace(
        join, params=(*join.params, account if account is not None else NO_ACCOUNT)
    )
    # At least one character, even when a long source leaves no room in 512 bytes.
    shown = split_to_fit(realname, max(text_budget(template), 4))[0] if realname else ""
    return dataclasses.replace(template, params=(*template.params, shown), force_trailing=True)
