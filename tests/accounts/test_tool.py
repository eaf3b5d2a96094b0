"""`chatproto-accounts`, run as a real process (docs/protocol.md section 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import pytest_twisted

from chatproto.accounts.sqlite import SQLiteAccountStore

#: The working tree, so that `python -m` runs this checkout's code.
ROOT = Path(__file__).resolve().parents[2]
#: Seconds a run of the tool may take (a deadline, not a sleep).
DEADLINE = 60


def _tool(db: Path, *args: str, stdin: str | None = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatproto.accounts.tool", "--db", str(db), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=DEADLINE,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert (result.returncode, result.stderr) == (0, "")
    return result.stdout


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1
    return result.stderr


def test_add_list_passwd_del(db_path: Path) -> None:
    assert _ok(_tool(db_path, "add", "alice", stdin="first password\n")) == "account alice added\n"
    _ok(_tool(db_path, "add", "Bob", stdin="second password\r\nignored\n"))
    assert _ok(_tool(db_path, "list")) == "alice\nBob\n"
    assert (
        _ok(_tool(db_path, "passwd", "ALICE", stdin="x\n")) == "password of account alice changed\n"
    )
    assert _ok(_tool(db_path, "del", "bob")) == "account Bob deleted\n"
    assert _ok(_tool(db_path, "list")) == "alice\n"


@pytest.mark.parametrize(
    ("args", "stdin", "why"),
    [
        (("add", "carol"), "", "no password on standard input"),
        (("add", "carol"), "\n", "a password has 1 to 1024 bytes"),
        (("passwd", "alice"), "x" * 1025 + "\n", "a password has 1 to 1024 bytes"),
        (("add", "server"), "pw\n", "'server' cannot be a nickname: 'server' is reserved"),
        (("add", "a b"), "pw\n", "cannot contain spaces"),
        (("passwd", "nobody"), "pw\n", "no account is named 'nobody'"),
        (("del", "nobody"), "", "no account is named 'nobody'"),
        (("del", "\u0430lice"), "", "no account is named '\u0430lice'"),  # only alice's lookalike
    ],
)
def test_refusals(db_path: Path, args: tuple[str, ...], stdin: str, why: str) -> None:
    _ok(_tool(db_path, "add", "alice", stdin="pw\n"))
    assert why in _refused(_tool(db_path, *args, stdin=stdin))


def test_a_taken_or_lookalike_name_is_refused(db_path: Path) -> None:
    _ok(_tool(db_path, "add", "alice", stdin="pw\n"))
    for name in ("Alice", "\u0430lice"):
        why = _refused(_tool(db_path, "add", name, stdin="pw\n"))
        assert (
            why == f"chatproto-accounts: {name!r} is taken: it is, or looks like, account alice\n"
        )


def test_an_unusable_file_is_refused(tmp_path: Path) -> None:
    why = _refused(_tool(tmp_path / "missing" / "accounts.sqlite3", "list"))
    assert why.startswith("chatproto-accounts: cannot use ")
    (tmp_path / "junk").write_bytes(b"junk" * 1000)
    assert "file is not a database" in _refused(_tool(tmp_path / "junk", "list"))


def test_misuse_exits_2(db_path: Path) -> None:
    assert _tool(db_path, "rename", "alice").returncode == 2


def _add_typing(db_path: Path, first: str, again: str) -> tuple[int, str]:
    """`add alice` on a terminal, typing C{first} at the prompt and C{again} at the
    second: the exit status and what the terminal showed after the second prompt."""
    tool = pexpect.spawn(
        sys.executable,
        ["-m", "chatproto.accounts.tool", "--db", str(db_path), "add", "alice"],
        cwd=str(ROOT),
        timeout=DEADLINE,
        encoding="utf-8",
    )
    tool.expect_exact("Password for alice: ")
    tool.sendline(first)
    tool.expect_exact("Again: ")
    tool.sendline(again)
    tool.expect(pexpect.EOF)
    tool.close()
    return tool.exitstatus, tool.before


def test_the_password_is_asked_for_without_echo_on_a_terminal(db_path: Path) -> None:
    status, shown = _add_typing(db_path, "typed secret", "typed secret")
    assert status == 0
    assert "typed secret" not in shown
    assert "account alice added" in shown


def test_two_different_typed_passwords_are_refused(db_path: Path) -> None:
    status, shown = _add_typing(db_path, "one", "two")
    assert status == 1
    assert "the two passwords differ" in shown


@pytest_twisted.ensureDeferred
async def test_it_works_while_a_server_uses_the_database(
    store: SQLiteAccountStore, db_path: Path
) -> None:
    await store.add("carol", "h")
    # The server's store keeps the file open (WAL) while the tool writes to it.
    _ok(_tool(db_path, "add", "dave", stdin="pw\n"))
    dave = await store.find("dave")
    assert dave is not None and dave.password_hash.startswith("$argon2id$")
    assert _ok(_tool(db_path, "list")) == "carol\ndave\n"
    _ok(_tool(db_path, "passwd", "carol", stdin="new\n"))
    carol = await store.find("carol")
    assert carol is not None and carol.password_hash != "h"
    _ok(_tool(db_path, "del", "dave"))
    assert await store.find("dave") is None
