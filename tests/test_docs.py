"""The docs match the repository: every module in the README layout, every spec citation real."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SPEC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
#: How code, tests and docs cite the specification: section N, or subsection N.M.
CITATION = re.compile(r"docs/protocol\.md\s+sections?\s+(\d+(?:\.\d+)?)")


def _layout() -> str:
    start = README.index("\n## Layout")
    end = README.find("\n## ", start + 1)
    return README[start : end if end >= 0 else None]


def _spec_sections() -> set[str]:
    """The numbers of the spec's sections (## 1. Framing) and subsections (### 1.2 Frames)."""
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", SPEC, re.MULTILINE))


def test_the_readme_layout_names_every_module() -> None:
    layout = _layout()
    modules = [
        path.relative_to(ROOT).as_posix()
        for top in ("chatproto", "twisted")
        for path in sorted((ROOT / top).rglob("*.py"))
        if path.name != "__init__.py"
    ]
    missing = [module for module in modules if f"`{module}`" not in layout]
    assert not missing, f"add these to the README's Layout section: {missing}"


def test_the_specification_is_numbered_one_to_fifteen() -> None:
    sections = re.findall(r"^## (\d+)\. ", SPEC, re.MULTILINE)
    assert sections == [str(number) for number in range(1, 16)]


def _texts() -> list[Path]:
    """The repository's own text files: code, tests, benchmarks, docs and build files."""
    top = [ROOT / name for name in ("README.md", "setup.cfg", "Makefile")]
    nested = [
        path
        for folder in ("chatproto", "twisted", "tests", "bench", "docs")
        for pattern in ("*.py", "*.md", "*.mk")
        for path in (ROOT / folder).rglob(pattern)
    ]
    return top + nested


def test_every_citation_of_the_specification_names_a_section_it_has() -> None:
    sections = _spec_sections()
    cited = {
        (path.relative_to(ROOT).as_posix(), number)
        for path in _texts()
        for number in CITATION.findall(path.read_text(encoding="utf-8"))
    }
    assert cited, "no citation found: has the citation form changed?"
    assert not {(path, n) for path, n in cited if n not in sections}


def test_nothing_cites_another_contract() -> None:
    """docs/protocol.md is the specification: no doc, module or test points elsewhere."""
    forbidden = "PROTOCOL" + ".md"  # spelled so that this file does not cite it either
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for top in ("chatproto", "tests", "bench", "twisted"):
        texts += sorted((ROOT / top).rglob("*.py"))
    offenders = [p.name for p in texts if forbidden in p.read_text(encoding="utf-8")]
    assert not offenders
