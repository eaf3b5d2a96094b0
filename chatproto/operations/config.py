"""`--config FILE`: options from a TOML file (docs/operations.md, docs/protocol.md
section 15).

The file's keys are the long option names without the dashes (`rate = 5`,
`motd = "..."`, `log-addresses = true`); each value is checked as the command line
would check it, so a bad one is refused with the same words, naming the file. A list
of strings is the comma-separated list an option like `--ws-origins` takes.
"""

from __future__ import annotations

import getopt
import tomllib
from collections.abc import Sequence
from typing import Any

from twisted.python import usage

#: Keys that are another name for an option (the option's own `opt_` method).
ALIASES = {"irc-channel": "default-room"}


def file_values(options: usage.Options, path: str) -> dict[str, Any]:
    """The option values the TOML file at C{path} gives, by long option name, checked and
    converted as on the command line.

    @raise usage.UsageError: one line naming the file and the key or value at fault.
    """
    where = f"--config {path!r}"
    try:
        with open(path, "rb") as file:
            table = tomllib.load(file)
    except OSError as e:
        raise usage.UsageError(f"{where}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise usage.UsageError(f"{where}: not a TOML file: {e}") from None
    # The tables usage.Options reads its options from (a subclass's class attributes).
    parameters = {row[0]: row for row in getattr(options, "optParameters", [])}
    flags = {row[0] for row in getattr(options, "optFlags", [])}
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = ALIASES.get(key, key)
        if name in flags:
            if not isinstance(value, bool):
                raise usage.UsageError(f"{where}: {key} must be true or false, got {value!r}")
            values[name] = int(value)  # as usage.Options keeps a flag
        elif name in parameters and name != "config":
            values[name] = _checked(parameters[name], _as_text(where, key, value), where)
        else:
            raise usage.UsageError(f"{where}: unknown key {key!r}")
    return values


def _as_text(where: str, key: str, value: object) -> str:
    """A TOML value as the command line would give it."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise usage.UsageError(f"{where}: {key} must be a string, a number or a list of strings")


def _checked(row: Sequence[Any], text: str, where: str) -> Any:
    """C{text} through the option's own check and conversion, as usage.Options does."""
    coerce = row[4] if len(row) > 4 else None
    if coerce is None:
        return text
    try:
        return coerce(text)
    except usage.UsageError as e:  # already names the option
        raise usage.UsageError(f"{where}: {e}") from None
    except ValueError as e:
        raise usage.UsageError(f"{where}: {row[0]}: {e}") from None


def given_options(options: usage.Options, arguments: Sequence[str]) -> tuple[set[str], str | None]:
    """The long names of the options C{arguments} give (a command line, which wins over
    the file), and the file named by `--config` among them (None: none). A command
    line that does not parse gives nothing: parsing it reports the mistake."""
    try:
        pairs, _ = getopt.getopt(list(arguments), options.shortOpt, options.longOpt)
    except getopt.GetoptError:
        return set(), None
    given: set[str] = set()
    path = None
    for option, value in pairs:
        name = option[2:] if option.startswith("--") else options.synonyms[option[1:]]
        name = ALIASES.get(name, name)
        given.add(name)
        if name == "config":
            path = value
    return given, path
