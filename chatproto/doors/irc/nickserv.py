"""NickServ on the IRC door, and IRCv3 draft/account-registration's C{REGISTER}.

NickServ is no member: the door answers C{PRIVMSG NickServ :<command>} (and the
C{NICKSERV}/C{NS} commands some clients send for C{/msg NickServ}) itself, with
NOTICEs from C{NickServ}. Nobody can hold the name (section 3 reserves it):

- C{REGISTER <password> [email]}: register the sender's nickname (the email is not
  kept: there is no recovery by mail); it is then logged in;
- C{IDENTIFY [account] <password>}: log in to the account (by default the nickname's);
- C{HELP}: what it answers.

C{REGISTER <account> <email> <password>} (draft/account-registration, after
registration only; the account must be the nickname or C{*}) registers as NickServ does
and answers C{REGISTER SUCCESS} or C{FAIL REGISTER <code>}. Logins go through the
accounts' portal (L{chatproto.doors.irc.logins.log_in}), throttled there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from twisted.logger import Logger

from chatproto.accounts.manager import RegistrationLimited
from chatproto.accounts.passwords import WeakPassword
from chatproto.accounts.workers import WorkersBusy
from chatproto.core.nicknames import MAX_NICKNAME_CODE_POINTS, NICKSERV, nickname_key
from chatproto.doors.irc.identity import member_source
from chatproto.doors.irc.logins import log_in, logged_in, while_reading_held
from chatproto.doors.irc.message import Message, safe_text
from chatproto.seams.accounts import AccountExists

if TYPE_CHECKING:
    from chatproto.doors.irc.session import IrcSession

_log = Logger()

_NICKSERV_KEY: Final = nickname_key(NICKSERV)
#: The email parameter of draft/account-registration when none is given.
NO_EMAIL: Final = "*"
HELP: Final = (
    "NickServ keeps the accounts of this server's nicknames (every door shares them).",
    "REGISTER <password> [email]: register your nickname (8 to 256 bytes; the email is not kept)",
    "IDENTIFY [account] <password>: log in to an account (by default your nickname's)",
    "Passwords cross the network as they are: connect with TLS where it is not trusted.",
)


def for_nickserv(message: Message) -> bool:
    """Whether a PRIVMSG or NOTICE is addressed to NickServ (and to nobody else)."""
    return bool(message.params) and nickname_key(message.params[0]) == _NICKSERV_KEY


def nickserv(session: IrcSession, message: Message) -> None:
    """A command to NickServ: C{PRIVMSG NickServ :text}, or C{NICKSERV text} / C{NS text}.
    A NOTICE to NickServ is never answered."""
    if message.command == "NOTICE":
        return
    if message.command == "PRIVMSG":
        words = message.params[1].split() if len(message.params) > 1 else []
    else:
        words = " ".join(message.params).split()
    command = words[0].upper() if words else "HELP"
    arguments = words[1:]
    if command == "REGISTER" and arguments:
        while_reading_held(session, _register_for_nickserv(session, arguments[0]))
    elif command == "IDENTIFY" and arguments:
        account = arguments[0] if len(arguments) > 1 else session.nickname
        while_reading_held(session, _identify(session, account, arguments[-1]))
    elif command == "HELP":
        _said_by_nickserv(session, *HELP)
    else:
        shown = command[:MAX_NICKNAME_CODE_POINTS]  # an echo, kept short: it fits one line
        _said_by_nickserv(session, f"Unknown command or missing parameters: {shown}; try HELP")


def account_registration(session: IrcSession, message: Message) -> None:
    """C{REGISTER <account> <email> <password>} (draft/account-registration)."""
    if len(message.params) < 3:
        _fail(session, "NEED_MORE_PARAMS", "*", "REGISTER <account> <email> <password>")
        return
    account, _email, password = message.params[:3]
    if account != "*" and nickname_key(account) != nickname_key(session.nickname):
        _fail(session, "ACCOUNT_NAME_MUST_BE_NICK", account, "The account is your nickname")
        return
    while_reading_held(session, _register_for_command(session, password))


async def _register_for_nickserv(session: IrcSession, password: str) -> None:
    """NickServ REGISTER: the outcome in a NOTICE from NickServ."""
    text, _ = await _register(session, password)
    _said_by_nickserv(session, text)


async def _register_for_command(session: IrcSession, password: str) -> None:
    """REGISTER: C{REGISTER SUCCESS <account> :text} or C{FAIL REGISTER <code>}."""
    text, failure = await _register(session, password)
    if failure is not None:
        _fail(session, failure, session.nickname, text)
        return
    server = session.door.server.name
    success = Message("REGISTER", ("SUCCESS", session.nickname, text), server, force_trailing=True)
    session.reply([success])


async def _register(session: IrcSession, password: str) -> tuple[str, str | None]:
    """Register the session's nickname with C{password}, which is then logged in (900).
    Returns what to say, and the draft/account-registration code of a failure (None:
    registered)."""
    nickname, accounts = session.nickname, session.hall.accounts
    if accounts is None:
        return "This server keeps no accounts", "TEMPORARILY_UNAVAILABLE"
    try:
        await accounts.register(nickname, password, session.host)
    except WeakPassword as e:
        return f"Weak password: {e}", "WEAK_PASSWORD"
    except AccountExists as e:
        return f"{nickname} belongs to the account {e.args[0]}", "ACCOUNT_EXISTS"
    except RegistrationLimited as e:
        return f"Too many registrations; try again in {math.ceil(e.retry_after)} s", "RATE_LIMITED"
    except WorkersBusy:
        return "The server is busy; try again in 1 s", "TEMPORARILY_UNAVAILABLE"
    except Exception:
        _log.failure("an IRC registration failed")
        return "Accounts cannot be changed now", "TEMPORARILY_UNAVAILABLE"
    session.hall.set_account(session, nickname)
    session.reply([logged_in(session, nickname)])
    return f"{nickname} is registered; you are logged in to it", None


async def _identify(session: IrcSession, account: str, password: str) -> None:
    """Log the session in to C{account}, unless its nickname is another account's."""
    proved = await log_in(session, account, password)
    if isinstance(proved, str):
        _said_by_nickserv(session, f"Wrong password or no such account{proved}")
        return
    accounts = session.hall.accounts
    assert accounts is not None  # the login went through them
    try:
        owner = await accounts.account_of(session.nickname)
    except Exception:
        _log.failure("accounts cannot be read")
        _said_by_nickserv(session, "Accounts cannot be read now")
        return
    if owner is not None and nickname_key(owner) != nickname_key(proved.account):
        _said_by_nickserv(session, f"{session.nickname} is registered to another account")
        return
    session.hall.set_account(session, proved.account)
    session.reply([logged_in(session, proved.account)])
    _said_by_nickserv(session, f"You are now identified as {proved.account}")


def _said_by_nickserv(session: IrcSession, *texts: str) -> None:
    """NOTICEs from NickServ to the session."""
    source, me = member_source(NICKSERV), session.nickname
    notices = [
        Message("NOTICE", (me, safe_text(text)), source, force_trailing=True) for text in texts
    ]
    session.reply(notices)


def _fail(session: IrcSession, code: str, account: str, text: str) -> None:
    """C{FAIL REGISTER <code> <account> :text} (IRCv3 standard replies)."""
    session.reply([session.door.replies.fail("REGISTER", code, text, account)])


#: The commands of a registered client this module answers.
ACCOUNT_COMMANDS: Final[dict[str, Callable[[IrcSession, Message], None]]] = {
    "NICKSERV": nickserv,
    "NS": nickserv,
    "REGISTER": account_registration,
}
