"""What the doors ask of accounts (docs/protocol.md section 13), in one object.

L{Accounts} puts the store, the hashing threads, the portal and the throttles
together: C{log_in} for the nickname frame, SASL, `PASS` and `NickServ IDENTIFY`;
C{register}, C{change_password} and C{unregister} for the commands of the same
names; C{account_of} to learn whether a nickname needs a password. Each failure is
an exception that names its error code (below).
"""

from __future__ import annotations

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.interfaces import IReactorTime

from chatproto.accounts.cred import IChatAccount, LoginCredentials, account_portal
from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.passwords import check_chosen
from chatproto.accounts.throttle import LoginThrottle, RegistrationLimit
from chatproto.core.nicknames import nickname_key
from chatproto.seams.accounts import AccountExists, IAccountStore


class RegistrationLimited(Exception):
    """`--register-per-hour` registrations from this address already (`rate-limited`)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many registrations; try again in {retry_after:.0f} s")
        self.retry_after = retry_after


class Accounts:
    """Accounts as the doors use them.

    Failures: L{UnauthorizedLogin} (`auth-failed`; L{LoginThrottled} with
    C{retry_after} when throttled), L{WeakPassword} (`weak-password`),
    L{AccountExists} (`nickname-registered`), L{RegistrationLimited} (`rate-limited`).
    """

    def __init__(
        self,
        store: IAccountStore,
        hashing: PasswordHashing,
        clock: IReactorTime,
        register_per_hour: int,
    ) -> None:
        self.store = store
        self._hashing = hashing
        self.portal = account_portal(store, hashing, LoginThrottle(clock))
        self._registrations = RegistrationLimit(clock, register_per_hour)

    async def account_of(self, nickname: str) -> str | None:
        """The name of the account C{nickname} belongs to (its key's, or a lookalike's),
        or None when anyone may hold it."""
        account = await self.store.find(nickname)
        return None if account is None else account.name

    async def log_in(self, name: str, password: str, host: str | None) -> str:
        """Log in to the account C{name} belongs to; return the account's name."""
        _, avatar, _ = await self.portal.login(
            LoginCredentials(name, password, host), None, IChatAccount
        )
        return IChatAccount(avatar).name

    async def register(self, name: str, password: str, host: str | None) -> None:
        """Register C{name} (a valid nickname, as shown) with C{password}."""
        check_chosen(password)
        if host is not None:
            retry_after = self._registrations.retry_after(host)
            if retry_after is not None:
                raise RegistrationLimited(retry_after)
        existing = await self.account_of(name)
        if existing is not None:  # before the hash, which it would waste
            raise AccountExists(existing)
        await self.store.add(name, await self._hashing.hash(password))
        if host is not None:
            self._registrations.registered(host)

    async def change_password(self, account: str, old: str, new: str, host: str | None) -> None:
        """Give C{account} the password C{new}, if C{old} is its password."""
        check_chosen(new)
        await self._prove(account, old, host)
        await self.store.set_password_hash(account, await self._hashing.hash(new))

    async def unregister(self, account: str, password: str, host: str | None) -> None:
        """Drop C{account}, if C{password} is its password."""
        await self._prove(account, password, host)
        await self.store.delete(account)

    async def _prove(self, account: str, password: str, host: str | None) -> None:
        """Check C{password} for C{account} itself (a login, throttled alike)."""
        if nickname_key(await self.log_in(account, password, host)) != nickname_key(account):
            raise UnauthorizedLogin("that is another account's password")
