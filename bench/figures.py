"""How the benchmark's tables and verdicts write a figure."""

from __future__ import annotations


def fmt(value: float | None) -> str:
    """A figure for a table: '-' when not measured, thousands grouped, else 3 digits."""
    if value is None:
        return "-"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def number(value: float) -> str:
    """A figure in a sentence: thousands grouped from 1,000 on."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:g}"
