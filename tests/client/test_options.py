"""The command line."""

from __future__ import annotations

import pytest

from chatproto.client.options import (
    ClientOptions,
    EndpointDescription,
    HostPort,
    UsageError,
    parse_options,
)


def test_all_options() -> None:
    argv = ["--nick", "ａlice", "--no-reconnect", "--json", "--tls", "--ca", "ca.pem"]
    argv += ["--timeout", "2.5", "--no-history", "--room", "#ops", "h", "99"]
    assert parse_options(argv) == ClientOptions(
        address=HostPort("h", 99),
        nickname="alice",
        reconnect=False,
        json=True,
        tls=True,
        ca_file="ca.pem",
        timeout=2.5,
        history=False,
        room="#ops",
    )


def test_defaults() -> None:
    assert parse_options(["localhost", "10328"]) == ClientOptions(
        address=HostPort("localhost", 10328),
        nickname=None,
        reconnect=True,
        json=False,
        tls=False,
        ca_file=None,
        timeout=10.0,
        history=True,
    )


@pytest.mark.parametrize(
    ("argv", "address", "shown"),
    [
        (["chat.example"], HostPort("chat.example", 10328), "chat.example:10328"),
        (["::1"], HostPort("::1", 10328), "[::1]:10328"),
        (["fe80::1", "7"], HostPort("fe80::1", 7), "[fe80::1]:7"),
        (["unix:/chat.sock"], EndpointDescription("unix:/chat.sock"), "unix:/chat.sock"),
        (
            ["tcp:host=chat.example:port=99"],
            EndpointDescription("tcp:host=chat.example:port=99"),
            "tcp:host=chat.example:port=99",
        ),
    ],
)
def test_a_host_with_the_default_port_or_an_endpoint_description(
    argv: list[str], address: object, shown: str
) -> None:
    options = parse_options(argv)
    assert options.address == address
    assert str(options.address) == shown


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: HOST|ENDPOINT"),
        (["h", "port"], "port must be a number"),
        (["h", "70000"], "port must be between 1 and 65535"),
        (["--nick", "a b", "h", "1"], "--nick: a nickname cannot contain spaces"),
        (["--ca", "x.pem", "h", "1"], "--ca needs --tls"),
        (["--bogus", "h", "1"], "unrecognized arguments: --bogus"),
        (["--timeout", "-1", "h"], "argument --timeout: must be > 0, got -1"),
        (["--timeout", "soon", "h"], "argument --timeout: must be a number of seconds, not 'soon'"),
        (["--timeout", "inf", "h"], "argument --timeout: must be > 0, got inf"),
        (["unix:/x", "1"], "PORT goes with a HOST, not with the endpoint description 'unix:/x'"),
        (["--tls", "unix:/x"], "--tls goes with HOST [PORT]; for an endpoint description use tls:"),
        (["--room", "ops", "h"], "--room: a room's name starts with #, not 'ops'"),
    ],
)
def test_bad_arguments_raise_one_line(argv: list[str], complaint: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_options(argv)
    assert complaint in str(raised.value)
    assert "\n" not in str(raised.value)
