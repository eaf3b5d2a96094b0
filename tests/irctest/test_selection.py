"""tests/irctest/selection.txt names only what irctest has: pytest ignores a --deselect
that matches nothing, so a misspelt exclusion would otherwise go unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
SELECTION = Path(__file__).with_name("selection.txt")
IRCTEST = ROOT.parent / "shared" / "irctest"


def entries() -> list[str]:
    """The selection's entries, `-` kept (comments and blank lines left out)."""
    lines = SELECTION.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.skipif(not IRCTEST.is_dir(), reason=f"irctest is not at {IRCTEST}")
@pytest.mark.parametrize("entry", entries())
def test_every_entry_names_a_file_and_its_tests(entry: str) -> None:
    path, *names = entry.removeprefix("-").split("::")
    source = (IRCTEST / path).read_text(encoding="utf-8")
    for name in names:
        bare = re.sub(r"\[.*\]$", "", name)  # a parametrised test's id, without the case
        assert re.search(rf"(class|def) {re.escape(bare)}", source), f"{name} is not in {path}"
