"""A node that cannot reach Redis says so: to a joining client, and once in its log."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted
from twisted.logger import capturedLogs, formatEvent

from tests.loopback import connect
from tests.redis.nodes import start_node, stop_node, until
from tests.redis.server import RedisServer


@pytest_twisted.ensureDeferred
async def test_no_redis_yet_answers_unavailable_and_logs_once_each_way(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)  # its port is chosen, nothing listens there yet
    with capturedLogs() as logged:
        node = await start_node(redis.url, wait=False)
        await until(lambda: node.redis._commands.failed_attempts >= 2, "two failed attempts")
        json_form = await connect(node.port)
        assert [await json_form.next(), await json_form.next()] == ["HELLO", "NICK"]
        json_form.send_json({"nickname": "alice"})
        error = await json_form.next()
        assert (error["event"], error["code"]) == ("error", "unavailable")
        assert await json_form.next() == "RETRY"
        bare = await connect(node.port)
        assert [await bare.next(), await bare.next()] == ["HELLO", "NICK"]
        bare.send("bob")
        assert await bare.next() == "RETRY"  # a bare nickname's sender hears nothing else
        redis.start()
        try:
            await until(lambda: node.redis.presence.ready, "the node to reach Redis")
            json_form.send_json({"nickname": "alice"})
            assert await json_form.next() == "READY"
            await stop_node(node)
        finally:
            redis.stop()
    said = [formatEvent(event) for event in logged]
    cannot = f"cannot reach Redis at {redis.url}: Connection was refused"
    assert sum(text.startswith(cannot) for text in said) == 1, said
    assert sum(text == f"Redis at {redis.url} is up" for text in said) == 1, said
    per_attempt = [t for t in said if "Scheduling retry" in t or "seams.redis.client" in t]
    assert not per_attempt, said
