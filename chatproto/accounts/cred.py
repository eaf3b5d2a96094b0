"""Logging in through twisted.cred (docs/protocol.md section 13).

Every door turns its own form of proof (the JSON nickname frame's `password`, SASL
PLAIN, `PASS`, `NickServ IDENTIFY`) into L{LoginCredentials} for one L{Portal}
(L{account_portal}), whose checker is L{AccountChecker}: another checker (LDAP, a
site's single sign-on) can be plugged in later without touching the doors.

    _, account, _ = await portal.login(LoginCredentials(name, password, host), None, IChatAccount)
    account.name  # the account logged in to

A refusal fails with L{twisted.cred.error.UnauthorizedLogin} (`auth-failed`); a
throttled one with its subclass L{LoginThrottled}, which says how long to wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword, UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from zope.interface import Attribute, Interface, implementer

from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.passwords import can_be_given
from chatproto.accounts.throttle import LoginThrottle
from chatproto.accounts.workers import WorkersBusy
from chatproto.core.nicknames import nickname_key
from chatproto.seams.accounts import Account, IAccountStore

_log = Logger()

#: Seconds a login refused because the hashing threads are full is asked to wait.
BUSY_RETRY_AFTER = 1.0


class IChatAccount(Interface):
    """The avatar of a login: the account a connection is logged in to."""

    if TYPE_CHECKING:
        name: str
    else:
        name = Attribute("The account's name (str): the nickname that registered it.")


@implementer(IChatAccount)
@dataclass(frozen=True)
class ChatAccount:
    """An account logged in to."""

    name: str


class LoginThrottled(UnauthorizedLogin):
    """Refused whatever the password: too many failures (or too many logins at once)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after:.0f} s")
        self.retry_after = retry_after


class LoginCredentials(UsernamePassword):
    """A name and a password (text, as the client sent them), and the host they came
    from (None for a Unix socket): what every door hands the portal."""

    def __init__(self, name: str, password: str, host: str | None) -> None:
        super().__init__(
            name.encode("utf-8", "surrogatepass"), password.encode("utf-8", "surrogatepass")
        )
        self.name = name
        self.text_password = password
        self.host = host


@implementer(ICredentialsChecker)
class AccountChecker:
    """Checks a name and a password against the account store, throttled; the avatar
    id is the account's name in UTF-8."""

    credentialInterfaces = (IUsernamePassword,)

    def __init__(
        self, store: IAccountStore, hashing: PasswordHashing, throttle: LoginThrottle
    ) -> None:
        self._store = store
        self._hashing = hashing
        self._throttle = throttle

    def requestAvatarId(self, credentials: IUsernamePassword) -> Deferred[bytes | tuple[()]]:
        """Fire with the account's name (bytes) if the password is right, else fail with
        L{UnauthorizedLogin} (or L{LoginThrottled})."""
        if isinstance(credentials, LoginCredentials):
            name, password, host = credentials.name, credentials.text_password, credentials.host
        else:
            name = credentials.username.decode("utf-8", "surrogatepass")
            password = credentials.password.decode("utf-8", "surrogatepass")
            host = None
        return Deferred.fromCoroutine(self._check(name, password, host))

    async def _check(self, name: str, password: str, host: str | None) -> bytes | tuple[()]:
        account = await self._store.find(name)
        # A lookalike's failures count against the account it belongs to.
        key = nickname_key(account.name if account is not None else name)
        retry_after = self._throttle.retry_after(key, host)
        if retry_after is not None:
            raise LoginThrottled(retry_after)
        try:
            right = can_be_given(password) and await self._verify(account, password)
        except WorkersBusy:
            raise LoginThrottled(BUSY_RETRY_AFTER) from None
        if not right:
            self._throttle.failed(key, host)
            raise UnauthorizedLogin("wrong password or no such account")
        assert account is not None
        if self._hashing.needs_rehash(account.password_hash):
            await self._rehash(account, password)
        return account.name.encode("utf-8")

    def _verify(self, account: Account | None, password: str) -> Deferred[bool]:
        """Verify C{password}; for no account, spend the same time and say no."""
        if account is None:
            return Deferred.fromCoroutine(self._hashing.verify_nothing(password))
        return self._hashing.verify(account.password_hash, password)

    async def _rehash(self, account: Account, password: str) -> None:
        """Store a hash made with today's parameters (the login succeeds either way)."""
        try:
            new_hash = await self._hashing.hash(password)
            await self._store.set_password_hash(account.name, new_hash, account.password_hash)
        except Exception:
            _log.failure(
                "could not rehash the password of account {name!r}",
                name=account.name,
                event_kind="login",
            )


@implementer(IRealm)
class AccountRealm:
    """Makes the L{IChatAccount} avatar of an account name."""

    def requestAvatar(
        self, avatarId: bytes | tuple[()], mind: object, *interfaces: type[Interface]
    ) -> tuple[type[Interface], ChatAccount, Callable[[], None]]:
        """The account of C{avatarId}; logging out of it does nothing."""
        if IChatAccount not in interfaces or not isinstance(avatarId, bytes):
            raise NotImplementedError("only IChatAccount avatars of named accounts")
        return IChatAccount, ChatAccount(avatarId.decode("utf-8")), lambda: None


def account_portal(
    store: IAccountStore, hashing: PasswordHashing, throttle: LoginThrottle
) -> Portal:
    """The portal every door logs in through."""
    return Portal(AccountRealm(), [AccountChecker(store, hashing, throttle)])
