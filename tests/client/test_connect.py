"""The endpoint the client connects through, from what the command line said."""

from __future__ import annotations

import pytest
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    UNIXClientEndpoint,
)
from twisted.internet.testing import MemoryReactorClock

from chatproto.client.connect import client_endpoint
from chatproto.client.options import UsageError, parse_options


def endpoint_for(*argv: str) -> object:
    return client_endpoint(MemoryReactorClock(), parse_options(list(argv)))


def test_host_and_port_or_a_description() -> None:
    assert isinstance(endpoint_for("chat.example"), HostnameEndpoint)
    assert isinstance(endpoint_for("unix:/run/chat.sock"), UNIXClientEndpoint)
    assert isinstance(endpoint_for("tcp:host=127.0.0.1:port=7"), TCP4ClientEndpoint)


@pytest.mark.parametrize(
    ("description", "complaint"),
    [
        ("localhost:10328", "(Unknown endpoint type: 'localhost')"),
        ("tcp:host=h", "'tcp:host=h' is not a client endpoint description ("),
        ("tcp:h:port=x", "'tcp:h:port=x' is not a client endpoint description ("),
    ],
)
def test_a_bad_description_is_one_line(description: str, complaint: str) -> None:
    with pytest.raises(UsageError) as raised:
        endpoint_for(description)
    assert complaint in str(raised.value)
    assert str(raised.value).endswith("; for a host and a port write HOST PORT")
