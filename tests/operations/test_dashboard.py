"""docs/grafana-dashboard.json is built on the metrics the server has, and
docs/operations.md describes each of its panels."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import generate_latest

from tests.operations.test_metrics import metered_room

DOCS = Path(__file__).parents[2] / "docs"


def test_every_metric_of_the_dashboard_exists_and_every_panel_is_described() -> None:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    _, _, registry = metered_room()
    exposed = set(re.findall(r"^(\w+)", generate_latest(registry).decode(), re.MULTILINE))
    operations = (DOCS / "operations.md").read_text()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"\b((?:chatproto|process)_\w+)\{", target["expr"]):
                assert name in exposed, (panel["title"], name)
        assert f"**{panel['title']}**" in operations, panel["title"]
