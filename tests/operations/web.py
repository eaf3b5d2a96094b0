"""Asking a real server's --metrics-port, as Prometheus and a load balancer do."""

from __future__ import annotations

from tests.loopback import DEADLINE, connect_raw
from tests.redis.nodes import until
from tests.test_twistd import TwistdProcess

#: The name the --metrics-port site has in the "... starting on PORT" log line.
METRICS_SITE = "QuietSite"


async def get(port: int, path: str) -> tuple[int, str]:
    """The status and body of C{GET path} on 127.0.0.1:C{port} (HTTP/1.0: the server
    closes the connection after the body)."""
    peer = await connect_raw(port)
    peer.send(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await peer.closed()
    head, body = peer.received.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), body.decode()


async def metrics_port(server: TwistdProcess) -> int:
    """The port the server's --metrics-port (given as tcp:0) listens on."""
    await until(lambda: METRICS_SITE in server.ports, "the metrics port to listen")
    return server.ports[METRICS_SITE]


async def health_becomes(port: int, status: int, deadline: float = DEADLINE) -> str:
    """Ask `/healthz` until it answers C{status}; its body."""
    answers: list[tuple[int, str]] = []

    async def answered() -> bool:
        answers.append(await get(port, "/healthz"))
        return answers[-1][0] == status

    await until(answered, f"/healthz to answer {status}", deadline)
    return answers[-1][1]
