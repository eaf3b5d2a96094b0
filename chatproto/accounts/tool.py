"""`chatproto-accounts`: the operator's tool for the account database (docs/protocol.md section 13).

    chatproto-accounts --db FILE add NAME      # register NAME
    chatproto-accounts --db FILE passwd NAME   # set NAME's password (a reset)
    chatproto-accounts --db FILE del NAME      # drop NAME's account
    chatproto-accounts --db FILE list          # every account, one a line
    chatproto-accounts --redis URL ...         # the same on the accounts kept in Redis

`add` and `passwd` read the password from the first line of standard input, or ask
for it twice without echo on a terminal; any password of 1 to 1024 bytes is taken.
It works while a server uses the same file (WAL mode; the server sees the change at
its next lookup). The exit status is 0 on success, 1 with one line saying why
otherwise, 2 on misuse.
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
from collections.abc import Sequence
from typing import TextIO

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime

from chatproto.accounts.hashing import PasswordHashing
from chatproto.accounts.passwords import MAX_GIVEN_BYTES, can_be_given
from chatproto.accounts.sqlite import SQLiteAccountStore, UnusableDatabase
from chatproto.core.nicknames import InvalidNickname, nickname_key, validate_nickname
from chatproto.seams.accounts import AccountExists, IAccountStore, NoSuchAccount
from chatproto.seams.redis.accounts import RedisAccountStore
from chatproto.seams.redis.address import RedisAddress, parse_redis_url
from chatproto.seams.redis.client import RedisUnavailable


class Reactor(IReactorFromThreads, IReactorTime):
    """What the tool needs of the reactor (for type checking only)."""


class ToolError(Exception):
    """What went wrong, in one line for the operator."""


def read_password(stdin: TextIO, name: str) -> str:
    """The password for C{name}: asked twice without echo on a terminal, else the first
    line of C{stdin}."""
    if stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("Again: ") != password:
            raise ToolError("the two passwords differ")
    else:
        line = stdin.readline()
        if not line:
            raise ToolError("no password on standard input (give it as its first line)")
        password = line.removesuffix("\n").removesuffix("\r")
    if not can_be_given(password):
        raise ToolError(f"a password has 1 to {MAX_GIVEN_BYTES} bytes of UTF-8")
    return password


async def open_store(reactor: Reactor, arguments: argparse.Namespace) -> IAccountStore:
    """The store C{--db} or C{--redis} names (raise L{ToolError})."""
    if arguments.redis is not None:
        try:
            return await RedisAccountStore.open(arguments.redis, reactor)
        except RedisUnavailable as e:
            raise ToolError(f"cannot reach Redis at {arguments.redis}: {e}") from None
    try:
        return await SQLiteAccountStore.open(reactor, arguments.db)
    except (UnusableDatabase, sqlite3.Error, OSError) as e:
        raise ToolError(f"cannot use {arguments.db}: {e}") from None


async def run(reactor: Reactor, arguments: argparse.Namespace, stdin: TextIO) -> str:
    """Carry out the command in C{arguments}; return what to print (raise L{ToolError})."""
    store = await open_store(reactor, arguments)
    hashing = PasswordHashing(reactor)
    hashing.startService()
    try:
        return await _command(store, hashing, arguments, stdin)
    except AccountExists as e:
        raise ToolError(f"{arguments.name!r} is taken: it is, or looks like, account {e}") from None
    except NoSuchAccount:
        raise ToolError(f"no account is named {arguments.name!r}") from None
    except sqlite3.Error as e:
        raise ToolError(f"cannot use {arguments.db}: {e}") from None
    except RedisUnavailable as e:
        raise ToolError(f"lost Redis at {arguments.redis}: {e}") from None
    finally:
        hashing.stopService()
        await store.close()


async def _command(
    store: IAccountStore,
    hashing: PasswordHashing,
    arguments: argparse.Namespace,
    stdin: TextIO,
) -> str:
    command = arguments.command
    if command == "list":
        return "".join(f"{each}\n" for each in await store.names())
    name: str = arguments.name
    if command == "add":
        try:
            name = validate_nickname(name)
        except InvalidNickname as e:
            raise ToolError(f"{name!r} cannot be a nickname: {e}") from None
        found = await store.find(name)
        if found is not None:  # before asking for a password it could not use
            raise AccountExists(found.name)
        await store.add(name, await hashing.hash(read_password(stdin, name)))
        return f"account {name} added\n"
    account = await store.find(name)
    if account is None or nickname_key(account.name) != nickname_key(name):
        raise NoSuchAccount(name)  # a lookalike of an account is not that account
    if command == "del":
        await store.delete(account.name)
        return f"account {account.name} deleted\n"
    password_hash = await hashing.hash(read_password(stdin, account.name))
    await store.set_password_hash(account.name, password_hash)
    return f"password of account {account.name} changed\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatproto-accounts", description="Look after the chat server's accounts."
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", metavar="FILE", help="the account database (SQLite)")
    where.add_argument(
        "--redis", type=_redis_url, metavar="URL", help="the accounts kept in this Redis"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command, what in (
        ("add", "register NAME (the password: stdin's first line, or asked for)"),
        ("passwd", "set the password of account NAME (the same way)"),
        ("del", "drop account NAME"),
    ):
        commands.add_parser(command, help=what).add_argument("name", metavar="NAME")
    commands.add_parser("list", help="every account's name, one a line")
    return parser


def _redis_url(text: str) -> RedisAddress:
    """argparse type of --redis: a URL as the server's --redis takes it."""
    try:
        return parse_redis_url(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line and exit: 0 on success, 1 on failure, 2 on misuse."""
    arguments = _parser().parse_args(argv)

    async def command(reactor: Reactor) -> None:
        try:
            sys.stdout.write(await run(reactor, arguments, sys.stdin))
        except ToolError as e:
            print(f"chatproto-accounts: {e}", file=sys.stderr)
            raise SystemExit(1) from None

    task.react(lambda reactor: Deferred.fromCoroutine(command(reactor)))


if __name__ == "__main__":
    main()
