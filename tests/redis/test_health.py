"""`/healthz` of a real `twistd chat --redis` process follows Redis going and coming back."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest_twisted
from twisted.internet.error import ProcessExitedAlready

from tests.operations.web import health_becomes, metrics_port
from tests.redis.server import RedisServer
from tests.test_twistd import start_twistd

#: Seconds Redis may take to be reached again once it is back (the node's reconnect
#: backoff, then a probe a second at most).
RETURN_DEADLINE = 30.0


@pytest_twisted.ensureDeferred
async def test_healthz_is_503_while_redis_is_down_and_200_once_it_is_back(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    server = start_twistd(
        tmp_path, "--redis", redis_server.url, "--metrics-port", "tcp:0:interface=127.0.0.1",
        "--shutdown-grace", "0",
    )  # fmt: skip
    try:
        await server.listening
        port = await metrics_port(server)
        assert await health_becomes(port, 200) == "ok\n"

        redis_server.stop()
        reason = await health_becomes(port, 503)
        assert reason.startswith("Redis: "), reason

        redis_server.start()
        assert await health_becomes(port, 200, RETURN_DEADLINE) == "ok\n"
    finally:
        with contextlib.suppress(ProcessExitedAlready):
            server.transport.signalProcess("TERM")
        await server.ended
