"""Two load generators against the same servers in the same run: this tree's and an
earlier commit's (its bench/ exported with ``git archive``), to check that a change of
generator keeps the figures and to show what each costs its core.

    python -m bench.compare_generators --rev REV --targets ngircd,inspircd --runs 2

Runs alternate between the generators (a fresh server each time, pinned, waiting for
quiet cores and repeating disturbed runs as ``make bench`` does); other options go to
both generators, so use only options both know. The table shows each figure's median per
generator (rows as ``make bench`` prints them) and the ratio of the new one's to the old
one's; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.run_bench import RESULTS, ROOT, add_noise_options, measure, medians, table, targets


def export_bench(rev: str, directory: Path) -> Path:
    """Write commit C{rev}'s bench/ into C{directory}; return the directory."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "bench"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


def comparison(name: str, runs: dict[str, list[dict[str, Any]]]) -> str:
    """One target's table: the median of each figure per generator, and new/old."""
    old, new = f"{name} old generator", f"{name} new generator"
    meds = {old: medians(runs["old"]), new: medians(runs["new"])}
    return table([old, new], meds, [(new, old)])


def main(argv: Sequence[str] | None = None) -> int:
    """Run both generators against each target, alternating; print the tables."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rev", required=True, help="the commit whose generator is the old one")
    p.add_argument("--targets", default="ngircd,inspircd")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--twistd", default=str(ROOT / ".venv" / "bin" / "twistd"))
    add_noise_options(p)
    args, loadgen_args = p.parse_known_args(argv)
    wanted = [n for n in args.targets.split(",") if n]
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / f"servers-{time.strftime('%Y%m%d-%H%M%S')}.log"
    found, missing = targets(os.path.abspath(args.twistd), wanted, None, log)
    available = {name: found[name] for name in wanted if name in found}
    for name in wanted:
        if name not in available:
            print(f"[compare] {name}: skipped ({missing.get(name, 'unknown')})", file=sys.stderr)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {"old": [], "new": []} for name in available
    }
    with tempfile.TemporaryDirectory(prefix="old-generator-") as scratch:
        roots = {"old": export_bench(args.rev, Path(scratch)), "new": ROOT}
        for round_ in range(args.runs):
            for name, target in available.items():
                # Alternate which goes first, so a drift of the machine touches both alike.
                order = ["old", "new"] if round_ % 2 == 0 else ["new", "old"]
                for which in order:
                    label = f"{round_ + 1}/{args.runs} ({which} generator)"
                    result = measure(target, loadgen_args, log, args, label, roots[which])
                    if isinstance(result, str):
                        print(f"[compare] {name}, {which} generator: {result}", file=sys.stderr)
                        return 1
                    runs[name][which].append(result)
    for name in runs:
        print(comparison(name, runs[name]) + "\n")
    print(json.dumps({"rev": args.rev, "loadgen_args": loadgen_args, "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
