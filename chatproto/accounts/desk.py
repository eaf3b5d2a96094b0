"""Accounts at the doors (docs/protocol.md section 13), whatever their wire.

A door that has read a nickname frame calls L{enter}: it asks the store whether the
nickname is registered, logs in when a password came, and joins the hall with the
account. The account commands are L{register}, L{change_password} and L{unregister};
each answers the member with its notice. Every refusal is a L{PacketRejected} whose
code is section 13's (`account-required`, `auth-failed` with `retry_after` when
throttled, `weak-password`, `nickname-registered`, `rate-limited`); the door says it
in its own way (an `error` notice, then `RETRY` while choosing). Hashes and the store
run in their own threads (L{chatproto.accounts.manager.Accounts}), never here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from twisted.cred.error import UnauthorizedLogin
from twisted.logger import Logger

from chatproto.accounts.cred import LoginThrottled
from chatproto.accounts.manager import Accounts, RegistrationLimited
from chatproto.accounts.passwords import WeakPassword
from chatproto.accounts.workers import WorkersBusy
from chatproto.core.connection import ConnectionState
from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.nicknames import nickname_key
from chatproto.core.notices import notice
from chatproto.seams.accounts import AccountExists, NoSuchAccount

if TYPE_CHECKING:
    from chatproto.core.connection import Connection
    from chatproto.core.hall import Hall

#: Seconds a registration refused because the hashing threads are full is asked to wait.
BUSY_RETRY_AFTER = 1

_log = Logger()


async def enter(
    hall: Hall,
    member: Connection,
    nickname: str,
    since: int | None,
    token: str | None,
    password: str | None,
    account: str | None,
) -> bool:
    """Join C{member} as C{nickname} (see L{Hall.join}), proving the account the
    nickname belongs to when it is registered: with C{password}, for the account
    C{account} names (None: the nickname's own). Whether it joined; a refusal that
    has a reason raises L{PacketRejected}."""
    accounts = hall.accounts
    if accounts is None:  # a server without accounts: nobody's nickname is registered
        if password is not None:
            raise PacketRejected(ErrorCode.AUTH_FAILED, "This server keeps no accounts")
        return await _join(hall, member, nickname, since, token, None, claim=True)
    owner = await accounts.account_of(nickname)
    if password is None:
        if owner is None:
            return await _join(hall, member, nickname, since, token, None, claim=True)
        # A registered nickname: only a place a token names may be taken back.
        if await _join(hall, member, nickname, since, token, None, claim=False):
            return True
        raise PacketRejected(
            ErrorCode.ACCOUNT_REQUIRED, f"{nickname} is registered: log in with its password"
        )
    name = account if account is not None else nickname
    logged_in = await _log_in(accounts, name, password, member)
    if owner is not None and nickname_key(owner) != nickname_key(logged_in):
        raise PacketRejected(
            ErrorCode.ACCOUNT_REQUIRED, f"{nickname} is registered to another account"
        )
    return await _join(hall, member, nickname, since, token, logged_in, claim=True)


async def register(hall: Hall, member: Connection, password: str) -> None:
    """Register C{member}'s nickname with C{password}, log it in and say `registered`."""
    nickname = member.nickname
    try:
        await _accounts_of(hall).register(nickname, password, member.host)
    except WeakPassword as e:
        raise PacketRejected(ErrorCode.WEAK_PASSWORD, str(e)) from None
    except AccountExists as e:
        raise PacketRejected(
            ErrorCode.NICKNAME_REGISTERED, f"{nickname} belongs to the account {e.args[0]}"
        ) from None
    except RegistrationLimited as e:
        raise PacketRejected(
            ErrorCode.RATE_LIMITED, str(e), retry_after=math.ceil(e.retry_after)
        ) from None
    except WorkersBusy:
        raise PacketRejected(
            ErrorCode.RATE_LIMITED, "The server is busy", retry_after=BUSY_RETRY_AFTER
        ) from None
    hall.set_account(member, nickname)
    hall.unicast(
        member,
        notice(hall.timestamp(), "registered", f"{nickname} is registered", account=nickname),
    )


async def change_password(hall: Hall, member: Connection, old: str, new: str) -> None:
    """Give the member's account the password C{new} and say `password-changed`."""
    account = _account_of(member)
    try:
        await _accounts_of(hall).change_password(account, old, new, member.host)
    except WeakPassword as e:
        raise PacketRejected(ErrorCode.WEAK_PASSWORD, str(e)) from None
    except (UnauthorizedLogin, NoSuchAccount, WorkersBusy) as e:
        raise _auth_failed(e) from None
    hall.unicast(
        member,
        notice(hall.timestamp(), "password-changed", "Password changed", account=account),
    )


async def unregister(hall: Hall, member: Connection, password: str) -> None:
    """Drop the member's account and say `unregistered`; the member stays, logged out."""
    account = _account_of(member)
    try:
        await _accounts_of(hall).unregister(account, password, member.host)
    except (UnauthorizedLogin, NoSuchAccount, WorkersBusy) as e:
        raise _auth_failed(e) from None
    hall.set_account(member, None)
    hall.unicast(
        member,
        notice(hall.timestamp(), "unregistered", f"{account} is unregistered", account=account),
    )


async def _join(
    hall: Hall,
    member: Connection,
    nickname: str,
    since: int | None,
    token: str | None,
    account: str | None,
    claim: bool,
) -> bool:
    if member.state is not ConnectionState.CHOOSING:  # it left while the store answered
        return False
    # Checked here: the hall need not ask the store again.
    return await hall.join(
        member, nickname, since, token, account=account, claim=claim, unregistered=True
    )


async def _log_in(accounts: Accounts, name: str, password: str, member: Connection) -> str:
    """The name of the account logged in to, or L{PacketRejected} `auth-failed`; either
    is counted and logged (the account's name, never the password)."""
    observer = member.hall.observer
    try:
        logged_in = await accounts.log_in(name, password, member.host)
    except UnauthorizedLogin as e:
        observer.logged_in(False)
        _log.info("login to {account} failed", account=name, event_kind="login", succeeded=False)
        raise _auth_failed(e) from None
    observer.logged_in(True)
    _log.info("logged in to {account}", account=logged_in, event_kind="login", succeeded=True)
    return logged_in


def _auth_failed(reason: Exception) -> PacketRejected:
    """The `auth-failed` refusal for C{reason}, with `retry_after` when throttled."""
    if isinstance(reason, LoginThrottled):
        return PacketRejected(
            ErrorCode.AUTH_FAILED, str(reason), retry_after=math.ceil(reason.retry_after)
        )
    if isinstance(reason, WorkersBusy):
        return PacketRejected(
            ErrorCode.AUTH_FAILED, "The server is busy", retry_after=BUSY_RETRY_AFTER
        )
    return PacketRejected(ErrorCode.AUTH_FAILED, "Wrong password or no such account")


def _account_of(member: Connection) -> str:
    """The account a command is about: the one logged in to, else the nickname's own
    (whose password must then be given like any other)."""
    return member.account if member.account is not None else member.nickname


def _accounts_of(hall: Hall) -> Accounts:
    accounts = hall.accounts
    if accounts is None:
        raise PacketRejected(ErrorCode.UNKNOWN_COMMAND, "This server keeps no accounts")
    return accounts
