"""The web client's session (protocol.js) under Node's test runner, without a browser: the
room paths a real server rarely takes (a takeover's welcomes, a refused rejoin, the default
room's name) and moderation's receipts, in tests/web/session.test.mjs; the typed commands
(commands.js) in tests/web/commands.test.mjs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.web.servers import DEADLINE

SUITES = [Path(__file__).with_name(name) for name in ("session.test.mjs", "commands.test.mjs")]


def test_the_session_module_passes_its_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("NODE TESTS SKIPPED: no node on the PATH")
    # The page's modules are plain .js files with no package.json: Node before 20.19 reads
    # them as ES modules only with this flag.
    run = [node, "--experimental-detect-module", "--test", *map(str, SUITES)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=DEADLINE, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
