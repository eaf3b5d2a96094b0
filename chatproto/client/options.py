"""The command line: C{chatproto-client [options] HOST [PORT]} or C{chatproto-client [options]
ENDPOINT}."""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, NoReturn

from chatproto.core.nicknames import InvalidNickname, validate_nickname

PROGRAM: Final = "chatproto-client"
#: The environment variable a script may give the password in.
PASSWORD_VARIABLE: Final = "CHATPROTO_PASSWORD"
#: The server's default port (docs/protocol.md section 7), used when only a host is given.
DEFAULT_PORT: Final = 10328
#: Seconds to wait for a chat server to greet us (HELLO, NICK) before giving up.
DEFAULT_TIMEOUT: Final = 10.0


class UsageError(Exception):
    """Bad arguments; the message is one line for a person, without the program name."""


@dataclass(frozen=True)
class HostPort:
    """A server reached by host name (or address) and TCP port."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class EndpointDescription:
    """A server reached through a Twisted client endpoint description (C{unix:/path}, ...)."""

    text: str

    def __str__(self) -> str:
        return self.text


Address = HostPort | EndpointDescription


@dataclass(frozen=True)
class ClientOptions:
    """What the command line asked for, checked."""

    address: Address
    nickname: str | None
    reconnect: bool
    json: bool
    tls: bool
    ca_file: str | None
    timeout: float
    history: bool
    room: str | None = None
    #: The password of the nickname's account (`--password-file`, `CHATPROTO_PASSWORD`).
    password: str | None = None


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises L{UsageError} instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, not {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, not {port}")
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return seconds


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROGRAM,
        usage=f"{PROGRAM} [options] HOST [PORT]\n       {PROGRAM} [options] ENDPOINT",
        description="Chat from a terminal, or script the chat from a pipe "
        "(when standard input is not a terminal, every input line is sent as a message).",
    )
    parser.add_argument(
        "target",
        metavar="HOST|ENDPOINT",
        help="the server's host name or address, or a Twisted client endpoint description "
        "such as unix:/run/chat.sock or tcp:host=example.org:port=10328",
    )
    parser.add_argument(
        "port",
        metavar="PORT",
        type=_port,
        nargs="?",
        help=f"the server's port with HOST (default {DEFAULT_PORT})",
    )
    parser.add_argument("--nick", metavar="NAME", help="the nickname (required in pipe mode)")
    parser.add_argument(
        "--no-reconnect",
        dest="reconnect",
        action="store_false",
        help="exit with a non-zero status when the connection drops instead of reconnecting",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        help="give up when no chat server greets us within this time "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--no-history",
        dest="history",
        action="store_false",
        help="do not show the history the server replays when we join",
    )
    parser.add_argument(
        "--room",
        metavar="#ROOM",
        help="join this room and talk there (in pipe mode every input line goes to it)",
    )
    parser.add_argument(
        "--password-file",
        metavar="FILE",
        help="log in with the password on the first line of FILE (else the environment "
        f"variable {PASSWORD_VARIABLE}; a terminal asks when the nickname is registered)",
    )
    parser.add_argument(
        "--json", action="store_true", help="pipe mode: print what arrives as JSON Lines"
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="with HOST: connect with TLS (the server listens on ssl:)",
    )
    parser.add_argument(
        "--ca",
        metavar="FILE",
        dest="ca_file",
        help="with --tls: trust the CA certificate in this PEM file instead of the system's",
    )
    return parser


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _address(target: str, port: int | None) -> Address:
    """A host (an IPv6 address included) or, when it has a colon, an endpoint description."""
    if ":" not in target or _is_ip_address(target):
        return HostPort(target, DEFAULT_PORT if port is None else port)
    if port is not None:
        raise UsageError(f"PORT goes with a HOST, not with the endpoint description {target!r}")
    return EndpointDescription(target)


def _password(path: str | None, environ: Mapping[str, str]) -> str | None:
    """The password of `--password-file` (its first line), else of the environment."""
    if path is None:
        return environ.get(PASSWORD_VARIABLE) or None
    try:
        with open(path, encoding="utf-8") as file:
            line = file.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--password-file {path!r}: {getattr(e, 'strerror', None) or e}") from None
    if not line:
        raise UsageError(f"--password-file {path!r}: its first line is empty")
    return line


def sends_passwords_in_the_clear(options: ClientOptions) -> bool:
    """Whether a password would cross a network without TLS: neither `--tls` nor a TLS
    or Unix endpoint, to a host that is not the loopback."""
    address = options.address
    if isinstance(address, EndpointDescription):
        kind = address.text.partition(":")[0].casefold()
        if kind in ("ssl", "tls", "unix", "wss"):
            return False
        host = next((part[5:] for part in address.text.split(":") if part.startswith("host=")), "")
    else:
        if options.tls:
            return False
        host = address.host
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def parse_options(argv: list[str], environ: Mapping[str, str] | None = None) -> ClientOptions:
    """Parse and check C{argv} (without the program name); C{environ} (default: the
    process's) may hold the password.

    @raise UsageError: with one line saying what is wrong.
    """
    args = _parser().parse_args(argv)
    password = _password(args.password_file, os.environ if environ is None else environ)
    nickname = None
    if args.nick is not None:
        try:
            nickname = validate_nickname(args.nick)
        except InvalidNickname as e:
            raise UsageError(f"--nick: {e}") from None
    if args.room is not None and not args.room.startswith("#"):
        raise UsageError(f"--room: a room's name starts with #, not {args.room!r}")
    if args.ca_file is not None and not args.tls:
        raise UsageError("--ca needs --tls")
    address = _address(args.target, args.port)
    if args.tls and isinstance(address, EndpointDescription):
        raise UsageError(
            "--tls goes with HOST [PORT]; for an endpoint description use tls: or ssl:"
        )
    return ClientOptions(
        address=address,
        nickname=nickname,
        reconnect=args.reconnect,
        json=args.json,
        tls=args.tls,
        ca_file=args.ca_file,
        timeout=args.timeout,
        history=args.history,
        room=args.room,
        password=password,
    )
