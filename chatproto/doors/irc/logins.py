"""Accounts on the IRC door (docs/protocol.md section 13): SASL PLAIN, PASS, and joining.

Every proof goes to the accounts' one portal (L{chatproto.accounts.manager.Accounts},
throttled there): SASL PLAIN (L{authenticate}, before registration), C{PASS} (the
password of the account NICK names, checked by L{sign_in} when registration completes)
and NickServ (L{chatproto.doors.irc.nickserv}). L{sign_in} joins the client to the
room with the account it proved: a registered nickname without its account's proof is
refused with 433, as the other doors refuse it with `account-required`.

While a login runs (a hash in another thread) the session reads nothing more from its
client, so logins of one connection are one at a time.
"""

from __future__ import annotations

import math
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from chatproto.accounts.cred import LoginThrottled
from chatproto.core.connection import ConnectionState
from chatproto.core.nicknames import nickname_key
from chatproto.core.reading import hold_reading_until
from chatproto.doors.irc.capabilities import SASL
from chatproto.doors.irc.identity import member_source
from chatproto.doors.irc.message import Message
from chatproto.doors.irc.replies import (
    ERR_ALREADYREGISTERED,
    ERR_NEEDMOREPARAMS,
    ERR_NICKNAMEINUSE,
)
from chatproto.doors.irc.sasl import (
    ERR_SASLABORTED,
    ERR_SASLFAIL,
    PLAIN,
    RPL_SASLMECHS,
    Ask,
    Outcome,
    PlainCredentials,
    Refuse,
    SaslExchange,
)

if TYPE_CHECKING:
    from chatproto.doors.irc.session import IrcSession

_log = Logger()

RPL_LOGGEDIN: Final = "900"
RPL_SASLSUCCESS: Final = "903"
ERR_SASLALREADY: Final = "907"
ERR_PASSWDMISMATCH: Final = "464"
RPL_WHOISACCOUNT: Final = "330"
#: The 433 text for a registered nickname chosen without its account's proof.
REGISTERED_TEXT: Final = "Nickname is registered; use SASL, PASS or another nickname"
ALREADY_LOGGED_IN: Final = "You are already logged in"


@dataclass(slots=True)
class IrcLogin:
    """One connection's logins before it is registered: its SASL exchange, and the
    account SASL proved (None: none yet)."""

    exchange: SaslExchange = field(default_factory=SaslExchange)
    account: str | None = None


def authenticate(session: IrcSession, message: Message) -> None:
    """AUTHENTICATE: a step of SASL PLAIN before registration (L{SaslExchange})."""
    replies, me = session.door.replies, session.registration.me
    login = session.login
    if session.state is ConnectionState.JOINED:
        session.reply([_once_registered(session)])
    elif login.account is not None:
        session.reply([replies.numeric(ERR_SASLALREADY, me, text=ALREADY_LOGGED_IN)])
    elif SASL not in session.registration.capabilities:
        session.reply([replies.numeric(ERR_SASLFAIL, me, text="Request the sasl capability first")])
    elif not message.params:
        session.reply([replies.numeric(ERR_NEEDMOREPARAMS, me, "AUTHENTICATE")])
    else:
        _step(session, login.exchange.receive(message.params[0]))


def _once_registered(session: IrcSession) -> Message:
    """AUTHENTICATE after registration: 907 for a client logged in, else 462 (SASL is
    offered before registration only; NickServ IDENTIFY logs in then)."""
    replies, me = session.door.replies, session.nickname
    if session.account is not None:
        return replies.numeric(ERR_SASLALREADY, me, text=ALREADY_LOGGED_IN)
    text = "SASL comes before registration; use NickServ IDENTIFY"
    return replies.numeric(ERR_ALREADYREGISTERED, me, text=text)


def _step(session: IrcSession, outcome: Outcome) -> None:
    """Answer one step of the exchange; complete credentials go to the portal."""
    replies, me = session.door.replies, session.registration.me
    if isinstance(outcome, Ask):
        session.reply([Message("AUTHENTICATE", ("+",), session.door.server.name)])
    elif isinstance(outcome, Refuse):
        refusal = replies.numeric(outcome.code, me, text=outcome.why)
        if outcome.mechanisms:
            mechanisms = "are available SASL mechanisms"
            session.reply([replies.numeric(RPL_SASLMECHS, me, PLAIN, text=mechanisms), refusal])
        else:
            session.reply([refusal])
    elif isinstance(outcome, PlainCredentials):
        while_reading_held(session, _sasl_login(session, outcome))


async def _sasl_login(session: IrcSession, credentials: PlainCredentials) -> None:
    """Check PLAIN credentials through the portal: 900 and 903, or 904."""
    replies, me = session.door.replies, session.registration.me
    proved = await log_in(session, credentials.account, credentials.password)
    if isinstance(proved, str):
        session.reply(
            [replies.numeric(ERR_SASLFAIL, me, text=f"SASL authentication failed{proved}")]
        )
        return
    session.login.account = proved.account
    session.reply(
        [
            logged_in(session, proved.account),
            replies.numeric(RPL_SASLSUCCESS, me, text="SASL authentication successful"),
        ]
    )


@dataclass(frozen=True)
class Proved:
    """A login the portal accepted: the account's name."""

    account: str


async def log_in(session: IrcSession, name: str, password: str) -> Proved | str:
    """Log in through the accounts' portal: the account, or why not (a suffix for a
    refusal's text: "" for a wrong password, the wait when throttled)."""
    accounts = session.hall.accounts
    if accounts is None:
        return ": this server keeps no accounts"
    try:
        return Proved(await accounts.log_in(name, password, session.host))
    except LoginThrottled as e:
        return f": too many failed logins; try again in {math.ceil(e.retry_after)} s"
    except UnauthorizedLogin:
        return ""
    except Exception:
        _log.failure("an IRC login failed")
        return ": accounts cannot be read now"


def logged_in(session: IrcSession, account: str) -> Message:
    """900 RPL_LOGGEDIN: the client is logged in to C{account}."""
    nickname = session.registration.nickname
    mask = member_source(nickname) if nickname is not None else "*"
    return session.door.replies.numeric(
        RPL_LOGGEDIN,
        session.registration.me,
        mask,
        account,
        text=f"You are now logged in as {account}",
    )


def sign_in(session: IrcSession, nickname: str) -> Deferred[Message | None]:
    """Registration is complete: join the room as C{nickname} with the account the client
    proved (SASL, or PASS for the nickname's own account). Fires with None once joined,
    else with the refusal: 433 (held, or registered and not proved), 464 (a wrong PASS)."""
    return Deferred.fromCoroutine(_sign_in(session, nickname))


async def _sign_in(session: IrcSession, nickname: str) -> Message | None:
    hall, replies = session.hall, session.door.replies
    login, registration = session.login, session.registration
    taken = replies.numeric(ERR_NICKNAMEINUSE, registration.me, nickname)
    if login.exchange.started:  # registration completed in the middle of an exchange
        login.exchange.reset()
        session.reply([replies.numeric(ERR_SASLABORTED, "*", text="SASL authentication aborted")])
    accounts = hall.accounts
    account = login.account
    owner = None
    if accounts is not None:
        try:
            owner = await accounts.account_of(nickname)
        except Exception:
            _log.failure("accounts cannot be read")
            return taken
    password, registration.password = registration.password, None
    if owner is not None and account is None and password is not None:
        proved = await log_in(session, nickname, password)
        if isinstance(proved, str):
            return replies.numeric(ERR_PASSWDMISMATCH, "*", text=f"Password incorrect{proved}")
        account = proved.account
        session.reply([logged_in(session, account)])
    if owner is not None and (account is None or nickname_key(owner) != nickname_key(account)):
        return replies.numeric(ERR_NICKNAMEINUSE, "*", nickname, text=REGISTERED_TEXT)
    if session.state is not ConnectionState.CHOOSING:
        return taken
    joined = await hall.join(
        session,
        nickname,
        None,
        account=account,
        unregistered=True,
        into_default=session.door.server.autojoin,
    )
    return None if joined else taken


def while_reading_held(session: IrcSession, work: Coroutine[Any, Any, None]) -> None:
    """Run C{work} (a login, an account command: a hash in another thread), reading
    nothing more from the client until it is done: one at a time per connection."""
    hold_reading_until(session, Deferred.fromCoroutine(work))


def whois_account(session: IrcSession, nickname: str, account: str) -> Message:
    """330 RPL_WHOISACCOUNT: C{nickname} is logged in to C{account}."""
    return session.door.replies.numeric(
        RPL_WHOISACCOUNT, session.nickname, nickname, account, text="is logged in as"
    )
