"""SASL PLAIN's AUTHENTICATE exchange (IRCv3 sasl 3.1), without a connection."""

from __future__ import annotations

import base64

from chatproto.doors.irc.sasl import (
    CHUNK,
    ERR_SASLABORTED,
    ERR_SASLFAIL,
    ERR_SASLTOOLONG,
    MAX_PAYLOAD,
    Ask,
    PlainCredentials,
    Refuse,
    SaslExchange,
    Wait,
    plain_credentials,
)


def payload(*fields: str) -> str:
    return base64.b64encode("\0".join(fields).encode("utf-8")).decode("ascii")


def started() -> SaslExchange:
    exchange = SaslExchange()
    assert exchange.receive("plain") == Ask()
    return exchange


def test_a_short_payload_is_complete_at_once() -> None:
    outcome = started().receive(payload("", "alice", "secret"))
    assert outcome == PlainCredentials("alice", "secret")


def test_chunks_of_400_bytes_wait_for_the_rest() -> None:
    text = payload("foo", "foo", "x" * 592)  # 800 bytes of base64
    exchange = started()
    assert exchange.receive(text[:CHUNK]) == Wait()
    assert exchange.receive(text[CHUNK:]) == Wait()
    assert exchange.receive("+") == PlainCredentials("foo", "x" * 592)


def test_an_unknown_mechanism_lists_plain() -> None:
    outcome = SaslExchange().receive("SCRAM-SHA-256")
    assert isinstance(outcome, Refuse)
    assert (outcome.code, outcome.mechanisms) == (ERR_SASLFAIL, True)


def test_abort_and_oversized_chunks_and_payloads_end_the_exchange() -> None:
    exchange = started()
    assert exchange.receive("*") == Refuse(ERR_SASLABORTED, "SASL authentication aborted")
    assert not exchange.started
    exchange = started()
    outcome = exchange.receive("A" * (CHUNK + 1))
    assert isinstance(outcome, Refuse) and outcome.code == ERR_SASLTOOLONG
    exchange = started()
    for _ in range(MAX_PAYLOAD // CHUNK):
        assert exchange.receive("A" * CHUNK) == Wait()
    outcome = exchange.receive("A" * CHUNK)
    assert isinstance(outcome, Refuse) and outcome.code == ERR_SASLFAIL
    assert exchange.receive("PLAIN") == Ask()  # and it may start again


def test_payloads_that_are_not_plain_credentials() -> None:
    assert plain_credentials("!!!") is None  # not base64
    assert plain_credentials(payload("", "", "secret")) is None  # no account
    assert plain_credentials(payload("", "alice", "")) is None  # no password
    assert plain_credentials(payload("alice", "secret")) is None  # two fields
    assert plain_credentials(payload("", "alice", "se", "cret")) is None  # a NUL in it
    assert plain_credentials(payload("mallory", "alice", "secret")) is None  # acting for another
    assert plain_credentials(base64.b64encode(b"\0alice\0\xff").decode()) is None  # not UTF-8
    assert plain_credentials(payload("ALICE", "alice", "secret")) == PlainCredentials(
        "alice", "secret"
    )
