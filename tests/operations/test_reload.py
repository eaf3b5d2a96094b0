"""SIGHUP to a real `twistd chat --config FILE` behind TLS: the file's limits and MOTD
apply, the certificate is read again, and nobody is dropped (docs/protocol.md
section 15)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor, ssl
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS

from tests.certs import make_certificate
from tests.loopback import RawClient
from tests.redis.nodes import until
from tests.test_twistd import TwistdProcess, start_twistd


async def tls_client(port: int, trusted: Path) -> RawClient:
    """A word-packet client over TLS that trusts only the certificate C{trusted}."""
    trust = ssl.Certificate.loadPEM(trusted.read_bytes())
    tls = ssl.optionsForClientTLS("localhost", trustRoot=trust)
    tcp = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    return await connectProtocol(wrapClientTLS(tls, tcp), RawClient())


def certificate_in(directory: Path) -> Path:
    """A new certificate and key in C{directory}; the certificate's path."""
    directory.mkdir()
    return make_certificate(directory)[0]


def serve(certificate: Path, workdir: Path) -> None:
    """Put C{certificate} and its key where the server reads them."""
    shutil.copy(certificate, workdir / "cert.pem")
    shutil.copy(certificate.with_name("key.pem"), workdir / "key.pem")


async def hang_up(server: TwistdProcess, line: bytes) -> None:
    """Send SIGHUP and wait until the server logs C{line} (after what it logged so far)."""
    seen = server.output.count(line)
    server.transport.signalProcess("HUP")
    await until(lambda: server.output.count(line) > seen, f"the log to say {line!r}")


@pytest_twisted.ensureDeferred
async def test_sighup_applies_limits_motd_and_certificate_without_dropping_anyone(
    tmp_path: Path,
) -> None:
    first, second = certificate_in(tmp_path / "first"), certificate_in(tmp_path / "second")
    serve(first, tmp_path)
    config = tmp_path / "chat.toml"
    config.write_text('motd = "Welcome to the first"\nmax-message-bytes = 100\nrate = 0\n')
    server = start_twistd(
        tmp_path, "--port", "ssl:0:interface=127.0.0.1:privateKey=key.pem:certKey=cert.pem",
        "--config", "chat.toml", "--shutdown-grace", "0",
    )  # fmt: skip
    port = await server.listening
    alice = await tls_client(port, first)
    assert (await alice.join("alice"))[-1]["motd"] == "Welcome to the first"

    serve(second, tmp_path)
    config.write_text('motd = "Welcome to the second"\nmax-message-bytes = 10\nrate = 0\n')
    await hang_up(server, b"reloaded the TLS certificate of --port")
    assert b"reload: --max-message-bytes is now 10 (was 100)" in server.output
    # Alice, connected before, stays, and her new frames meet the new limit.
    alice.send_json({"message": "longer than ten bytes"})
    assert (await alice.until_event("error"))["code"] == "too-long"
    alice.send_json({"message": "short"})
    assert (await alice.next_chat())["message"] == "short"
    # A new connection gets the new certificate, and the new MOTD in its welcome.
    bob = await tls_client(port, second)
    assert (await bob.join("bob"))[-1]["motd"] == "Welcome to the second"
    stale = await tls_client(port, first)  # trusts only the old certificate
    await stale.closed()
    assert stale.frames.pending == []

    # A bad file changes nothing, and says so.
    config.write_text('motd = "Never shown"\nrate = -1\n')
    await hang_up(server, b"nothing changed")
    assert b"--config 'chat.toml': --rate must be >= 0, got -1; nothing changed" in server.output
    carol = await tls_client(port, second)
    assert (await carol.join("carol"))[-1]["motd"] == "Welcome to the second"
    bob.send_json({"message": "still here"})
    assert (await alice.next_chat())["message"] == "still here"

    server.transport.signalProcess("TERM")
    await server.ended
    assert b"Traceback" not in server.output
