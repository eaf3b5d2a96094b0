"""The command line: C{chatproto-client [--nick NAME] [--no-reconnect] [--json] [--tls]
[--ca FILE] HOST PORT}."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import NoReturn

from chatproto.core.nicknames import InvalidNickname, validate_nickname

PROGRAM = "chatproto-client"


class UsageError(Exception):
    """Bad arguments; the message is one line for a person, without the program name."""


@dataclass(frozen=True)
class ClientOptions:
    """What the command line asked for, checked."""

    host: str
    port: int
    nickname: str | None
    reconnect: bool
    json: bool
    tls: bool
    ca_file: str | None


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


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROGRAM,
        description="Chat from a terminal, or script the chat from a pipe "
        "(when standard input is not a terminal, every input line is sent as a message).",
    )
    parser.add_argument("host", metavar="HOST", help="the server's host name or address")
    parser.add_argument("port", metavar="PORT", type=_port, help="the server's port")
    parser.add_argument("--nick", metavar="NAME", help="the nickname (required in pipe mode)")
    parser.add_argument(
        "--no-reconnect",
        dest="reconnect",
        action="store_false",
        help="exit with a non-zero status when the connection drops instead of reconnecting",
    )
    parser.add_argument(
        "--json", action="store_true", help="pipe mode: print what arrives as JSON Lines"
    )
    parser.add_argument(
        "--tls", action="store_true", help="connect with TLS (the server listens on ssl:)"
    )
    parser.add_argument(
        "--ca",
        metavar="FILE",
        dest="ca_file",
        help="with --tls: trust the CA certificate in this PEM file instead of the system's",
    )
    return parser


def parse_options(argv: list[str]) -> ClientOptions:
    """Parse and check C{argv} (without the program name).

    @raise UsageError: with one line saying what is wrong.
    """
    args = _parser().parse_args(argv)
    nickname = None
    if args.nick is not None:
        try:
            nickname = validate_nickname(args.nick)
        except InvalidNickname as e:
            raise UsageError(f"--nick: {e}") from None
    if args.ca_file is not None and not args.tls:
        raise UsageError("--ca needs --tls")
    return ClientOptions(
        host=args.host,
        port=args.port,
        nickname=nickname,
        reconnect=args.reconnect,
        json=args.json,
        tls=args.tls,
        ca_file=args.ca_file,
    )
