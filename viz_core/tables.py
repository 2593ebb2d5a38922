"""Markdown tables of results (the reports of Sec. 3's experiments, benchmarks, sweeps)."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                   cell: Callable[[object], str] = str, right: bool = True) -> str:
    """A Markdown table: ``headers``, then one line per row with each value through
    ``cell``. ``right``: every column after the first is right-aligned (numbers)."""
    align = ["---"] + ["---:" if right else "---"] * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align[:len(headers)]) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
