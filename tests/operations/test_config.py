"""`--config FILE` (docs/protocol.md section 15): every option from a TOML file, the
command line winning, and one-line errors naming the file and the key."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from twisted.python import usage

from chatproto.operations.config import file_values
from chatproto.service import Options
from tests.certs import make_certificate
from tests.test_twistd import BIN

#: A value for each option whose default is None (they are off unless given).
GIVEN = {
    "ws-port": "tcp:0",
    "irc-port": "tcp:0",
    "metrics-port": "tcp:0",
    "redis": "redis://127.0.0.1:1/0",
    "operators": "alice,bob",
}


def parsed(tmp_path: Path, toml: str, *arguments: str) -> Options:
    """Options parsed from C{arguments} and the TOML file C{toml}, in C{tmp_path}."""
    config = tmp_path / "chat.toml"
    config.write_text(toml)
    options = Options()
    options.parseOptions(["--config", str(config), *arguments])
    return options


def test_every_option_can_be_set_in_the_file(tmp_path: Path) -> None:
    certificate, _ = make_certificate(tmp_path)
    values = {
        row[0]: GIVEN.get(row[0], row[2])
        for row in Options.optParameters
        if row[0] != "config" and GIVEN.get(row[0], row[2]) not in (None, ())
    }
    values["redis-ca"] = str(certificate)
    values["accounts-db"] = str(tmp_path / "a.db")
    values["history-file"] = str(tmp_path / "h.jsonl")
    values["rate"] = 2.5  # not the defaults, so that the file is seen to count
    values["motd"] = "line one\nline two"
    toml = "".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items())
    toml += "".join(f"{row[0]} = true\n" for row in Options.optFlags)
    from_file = parsed(tmp_path, toml)
    from_command_line = Options()
    arguments = [f"--{name}={value}" for name, value in values.items()]
    from_command_line.parseOptions([*arguments, *(f"--{row[0]}" for row in Options.optFlags)])
    for name in [*values, *(row[0] for row in Options.optFlags)]:
        assert from_file[name] == from_command_line[name], name
    assert from_file["rate"] == 2.5 and from_file["log-addresses"]


def test_the_example_file_of_the_docs_is_read() -> None:
    example = Path(__file__).parents[2] / "docs" / "examples" / "chat.toml"
    values = file_values(Options(), str(example))
    assert values["metrics-port"] == "tcp:9102:interface=127.0.0.1"
    assert values["motd"].startswith("Welcome to the school chat.\n")


def test_the_command_line_wins(tmp_path: Path) -> None:
    history = str(tmp_path / "h.jsonl")
    options = parsed(
        tmp_path,
        'rate = 5\nmotd = "from the file"\nws-origins = ["https://a.example", "https://b.example"]\n',
        "--rate", "7", "--history-file", history, "--accounts-db", str(tmp_path / "a.db"),
    )  # fmt: skip
    assert (options["rate"], options["motd"]) == (7.0, "from the file")
    assert options["ws-origins"] == "https://a.example,https://b.example"
    assert {"rate", "history-file", "config"} <= options.given


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ("prot = 1", "unknown key 'prot'"),
        ("rate = -1", "--rate must be >= 0, got -1"),
        ("rate = true", "rate must be a string, a number or a list of strings"),
        ("log-addresses = 1", "log-addresses must be true or false, got 1"),
        ("rate = \nburst = 2", "not a TOML file: Invalid value (at line 1, column 8)"),
        ('redis = "bogus"', "redis: 'bogus': use redis://host:port/db"),
        ('motd = "a\\u0007b"', "--motd must hold no control characters but line breaks"),
        (f'motd = "{"x" * 4097}"', "--motd must be at most 4096 bytes of UTF-8"),
    ],
)
def test_a_bad_key_or_value_is_one_line_naming_it(tmp_path: Path, toml: str, error: str) -> None:
    with pytest.raises(usage.UsageError) as raised:
        parsed(tmp_path, toml, "--history-file", str(tmp_path / "h.jsonl"))
    assert str(raised.value).startswith(f"--config {str(tmp_path / 'chat.toml')!r}: {error}")
    assert "\n" not in str(raised.value)


def test_under_twistd_a_bad_file_ends_start_up_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "chat.toml").write_text("max-clients = 10\nprot = 1\n")
    run = subprocess.run(
        [str(BIN / "twistd"), "--pidfile=", "-n", "chat", "--config", "chat.toml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == "twistd chat: --config 'chat.toml': unknown key 'prot'\n"
    missing = subprocess.run(
        [str(BIN / "twistd"), "--pidfile=", "-n", "chat", "--config", "nowhere.toml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert missing.stderr == "twistd chat: --config 'nowhere.toml': No such file or directory\n"
