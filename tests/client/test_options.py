"""The command line."""

from __future__ import annotations

import pytest

from chatproto.client.options import ClientOptions, UsageError, parse_options


def test_all_options() -> None:
    argv = ["--nick", "ａlice", "--no-reconnect", "--json", "--tls", "--ca", "ca.pem", "h", "99"]
    assert parse_options(argv) == ClientOptions(
        host="h", port=99, nickname="alice", reconnect=False, json=True, tls=True, ca_file="ca.pem"
    )


def test_defaults() -> None:
    assert parse_options(["localhost", "10328"]) == ClientOptions(
        host="localhost",
        port=10328,
        nickname=None,
        reconnect=True,
        json=False,
        tls=False,
        ca_file=None,
    )


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: HOST, PORT"),
        (["h", "port"], "port must be a number"),
        (["h", "70000"], "port must be between 1 and 65535"),
        (["--nick", "a b", "h", "1"], "--nick: a nickname cannot contain spaces"),
        (["--ca", "x.pem", "h", "1"], "--ca needs --tls"),
        (["--bogus", "h", "1"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_raise_one_line(argv: list[str], complaint: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_options(argv)
    assert complaint in str(raised.value)
    assert "\n" not in str(raised.value)
