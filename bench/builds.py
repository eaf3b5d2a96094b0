"""Scratch installs the benchmark runner needs.

- A previous commit's server, to measure it in the same run as the current
  one: its tree exported with ``git archive`` (no checkout or worktree is
  registered in the repository) and installed into a virtualenv of its own,
  in the user's cache directory (``$XDG_CACHE_HOME/chatproto-bench``, shared
  by every checkout). Not under the repository: a virtualenv is thousands
  of Python files that the repository's own checks would read.
- The Node peer's pinned ``ws`` package, installed with npm into
  bench/results/ (git-ignored).
- The Go peer (bench/peers/go-hub), built by ``make bench`` (bench/bench.mk) into
  bench/results/go-hub against Debian's gorilla/websocket; here only its versions.

Each install is done once and reused while its stamp file says it is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
ROOT: Final = HERE.parent
RESULTS: Final = HERE / "results"
CACHE: Final = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chatproto-bench"
#: The pinned version of the Node peer's WebSocket library.
WS_VERSION: Final = "8.23.0"
#: The Go peer's binary, where bench/bench.mk builds it.
GO_HUB: Final = RESULTS / "go-hub"
#: The Debian package the Go peer is built against.
GORILLA_PACKAGE: Final = "golang-github-gorilla-websocket-dev"


class BuildError(Exception):
    """A scratch install could not be made; the message says why."""


def _run(
    command: list[str], log: Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    with open(log, "ab") as out:
        out.write(f"\n=== {' '.join(command)}\n".encode())
        out.flush()
        return subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)


def resolve_commit(rev: str) -> str:
    """The full commit id of C{rev} in this repository.

    @raise BuildError: when C{rev} names no commit.
    """
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BuildError(f"{rev!r} is not a commit of this repository")
    return done.stdout.strip()


def install_commit(rev: str, log: Path) -> tuple[str, Path]:
    """Install the chat server of commit C{rev}; return its commit id and its twistd.

    @raise BuildError: when the export or the install fails (details in C{log}).
    """
    commit = resolve_commit(rev)
    home = CACHE / f"baseline-{commit[:12]}"
    twistd = home / "venv" / "bin" / "twistd"
    stamp = home / ".installed"
    if stamp.exists() and twistd.exists():
        return commit, twistd
    shutil.rmtree(home, ignore_errors=True)
    source = home / "src"
    source.mkdir(parents=True)
    print(f"[bench] installing {commit[:12]} into {home} (once)", file=sys.stderr, flush=True)
    with subprocess.Popen(["git", "archive", commit], cwd=ROOT, stdout=subprocess.PIPE) as git:
        assert git.stdout is not None
        with tarfile.open(fileobj=git.stdout, mode="r|") as tar:
            tar.extractall(source, filter="data")
    if git.returncode != 0:
        raise BuildError(f"git archive {commit[:12]} failed")
    python = home / "venv" / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(home / "venv")],
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        # Build Twisted's plugin cache now, so that twistd does not warn on every start.
        [
            str(python),
            "-c",
            "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))",
        ],
    ]
    for step in steps:
        if _run(step, log, cwd=home).returncode != 0:
            raise BuildError(f"installing {commit[:12]} failed at {step[2]!r}: see {log}")
    stamp.touch()
    return commit, twistd


def install_node_ws(log: Path) -> Path:
    """Install the pinned C{ws} with npm (once); return the node_modules directory for NODE_PATH.

    @raise BuildError: without node or npm, or when npm fails (details in C{log}).
    """
    if not shutil.which("node") or not shutil.which("npm"):
        raise BuildError("node and npm are not both on PATH")
    home = RESULTS / "node-ws"
    modules = home / "node_modules"
    package = modules / "ws" / "package.json"
    if package.exists() and json.loads(package.read_text()).get("version") == WS_VERSION:
        return modules
    home.mkdir(parents=True, exist_ok=True)
    print(f"[bench] npm install ws@{WS_VERSION} into {home} (once)", file=sys.stderr, flush=True)
    npm = ["npm", "install", "--prefix", str(home), "--no-audit", "--no-fund", f"ws@{WS_VERSION}"]
    if _run(npm, log, cwd=home).returncode != 0 or not package.exists():
        raise BuildError(f"npm install ws@{WS_VERSION} failed: see {log}")
    return modules


def node_version() -> str:
    """The version of node on PATH, or '?'."""
    node = shutil.which("node")
    if not node:
        return "?"
    done = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def go_version() -> str:
    """The version of go on PATH (as C{go version} names it, e.g. go1.19.8), or '?'."""
    go = shutil.which("go")
    if not go:
        return "?"
    done = subprocess.run([go, "version"], capture_output=True, text=True, check=False)
    words = done.stdout.split()
    return words[2] if len(words) > 2 else "?"


def gorilla_version() -> str:
    """The version of the installed Debian gorilla/websocket package, or '?'."""
    if not shutil.which("dpkg-query"):
        return "?"
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", GORILLA_PACKAGE],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"
