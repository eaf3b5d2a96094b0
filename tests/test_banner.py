"""The banner `make run` prints and the address `make client` uses, from the door options."""

from __future__ import annotations

import pytest

from chatproto.banner import banner, client_arguments, parse_door


@pytest.mark.parametrize(
    ("typed", "arguments"),
    [
        ("tcp:10328", "localhost 10328"),
        ("10328", "localhost 10328"),
        ("tcp:10328:interface=127.0.0.1", "127.0.0.1 10328"),
        ("tcp:port=10328:interface=0.0.0.0:backlog=50", "localhost 10328"),
        ("tcp6:10328:interface=\\:\\:1", "::1 10328"),
        ("ssl:10329:privateKey=key.pem:certKey=cert.pem", "--tls localhost 10329"),
        ("unix:chat.sock:mode=660", "unix:chat.sock"),
    ],
)
def test_client_reaches_the_host_and_port_the_endpoint_listens_on(
    typed: str, arguments: str
) -> None:
    assert client_arguments(parse_door(typed)) == arguments


def test_default_doors_warn_that_every_interface_is_open() -> None:
    assert banner("tcp:10328", "tcp:8080", "tcp:6667", "chat-history.jsonl") == [
        "chatproto: serving on all interfaces, without TLS:"
        " whoever can reach these ports can join.",
        "  tcp:10328  terminal client: make client"
        "   (or: .venv/bin/chatproto-client localhost 10328)",
        "  tcp:8080  browser: open http://localhost:8080/",
        "  tcp:6667  IRC client: /connect localhost 6667, the room is #chat",
        "  history: chat-history.jsonl; stop with Ctrl+C",
    ]


def test_loopback_doors_print_addresses_without_the_endpoint_options() -> None:
    lines = banner(
        "tcp:10328:interface=127.0.0.1",
        "tcp6:8080:interface=\\:\\:1",
        "tcp:6667:interface=127.0.0.1",
        "h.jsonl",
        make_client="make client PORT=tcp:10328:interface=127.0.0.1",
    )
    assert lines[:4] == [
        "chatproto: serving on this machine only.",
        "  tcp:10328:interface=127.0.0.1  terminal client:"
        " make client PORT=tcp:10328:interface=127.0.0.1"
        "   (or: .venv/bin/chatproto-client 127.0.0.1 10328)",
        "  tcp6:8080:interface=\\:\\:1  browser: open http://[::1]:8080/",
        "  tcp:6667:interface=127.0.0.1  IRC client: /connect 127.0.0.1 6667, the room is #chat",
    ]


def test_one_plain_door_on_a_named_interface_is_warned_about() -> None:
    lines = banner("ssl:10329:privateKey=k.pem", None, "tcp:6667:interface=192.0.2.7", "h")
    assert lines[0] == (
        "chatproto: serving on the interfaces named below, without TLS:"
        " whoever can reach these ports can join."
    )
    assert (
        lines[2] == "  tcp:6667:interface=192.0.2.7  IRC client: /connect 192.0.2.7 6667,"
        " the room is #chat"
    )


def test_tls_doors_say_so() -> None:
    lines = banner("ssl:10329:privateKey=k.pem", "ssl:8443:privateKey=k.pem", None, "h")
    assert lines[:3] == [
        "chatproto: serving over TLS where other machines can reach it.",
        "  ssl:10329:privateKey=k.pem  terminal client: make client"
        "   (or: .venv/bin/chatproto-client --tls localhost 10329)",
        "  ssl:8443:privateKey=k.pem  browser: open https://localhost:8443/",
    ]
