"""The machinery of ``scripts/check_claims.py``: claims (a README snippet whose numbers are
recomputed from committed files), sources, the allow-list of non-claims, and the check.

A claim is written as the README's own text with ``{}`` where a number stands::

    Claim("flat image scores PSNR {} dB and SSIM {}",
          [csv_cell("results/table1_offline.md", ...), ...])

Literal text is matched as is (any run of whitespace matches any whitespace, so line
breaks do not matter); ``{...}`` skips up to 300 characters. Numbers written literally
in a snippet are settings the claim names ("tau 20", "Size 11"): the README must repeat
them exactly for the claim to match, so they count as checked; results always get a
``{}`` and a source. Each ``{}`` gets one source,
a :class:`Src` that recomputes the number from ``results/`` or ``assets/``. A README
number matches its source when they agree at the README's precision (``54.0`` matches
54.04, ``1,000`` matches 1000).

The check fails on a claim whose snippet is not in the README, on a number that differs
from its source, and on any README number outside claims, code and the allow-list.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"\d[\d,]*(?:\.\d+)?(?:e-?\d+)?"
#: A README number: digits not glued to a word (``VGG19``, ``block4``, ``fp32`` are names).
NUMBER_IN_TEXT = re.compile(
    r"(?<![\w.^])\d+(?:,\d{3})*(?:\.\d+)?(?:e-?\d+)?(?![A-Za-wyz_\d])")


@dataclass
class Src:
    """One recomputed number: ``fn()`` gives it, ``desc`` says from where."""

    desc: str
    fn: Callable[[], float]
    bound: str = "="        # "=": equal at the README's precision; ">=" / "<=": README's
                            # number is a bound the value keeps (value >= / <= quoted)

    def value(self) -> float:
        return float(self.fn())

    def agrees(self, quoted: str, value: float) -> bool:
        q = float(quoted.replace(",", ""))
        if self.bound == ">=":
            return value >= q
        if self.bound == "<=":
            return value <= q
        return agrees(quoted, value)


@dataclass
class Claim:
    """A README snippet (``{}`` = a quoted number, ``{...}`` = skipped text) and one source
    per ``{}``."""

    snippet: str
    sources: Sequence[Src]
    note: str = ""
    regex: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parts = re.split(r"(\{\}|\{\.\.\.\})", self.snippet)
        out = []
        for p in parts:
            if p == "{}":
                out.append(f"({NUMBER})")
            elif p == "{...}":
                out.append(r"[\s\S]{0,300}?")
            else:
                out.append(r"\s+".join(re.escape(w) for w in re.split(r"\s+", p)))
        self.regex = re.compile("".join(out))
        n = self.snippet.count("{}")
        if n != len(self.sources):
            raise ValueError(f"claim {self.snippet!r} has {n} numbers but "
                             f"{len(self.sources)} sources")


# ----------------------------------------------------------------------------- sources

def _path(rel: str) -> Path:
    return ROOT / rel


def _rows(rel: str) -> list[dict]:
    with _path(rel).open(newline="") as f:
        return list(csv.DictReader(f))


def _match(row: dict, where: dict) -> bool:
    return all(str(row.get(k)) == str(v) for k, v in where.items())


def csv_cell(rel: str, col: str, **where) -> Src:
    """The value of ``col`` in the one row of CSV ``rel`` that matches ``where``."""
    def fn() -> float:
        rows = [r for r in _rows(rel) if _match(r, where)]
        if len(rows) != 1:
            raise LookupError(f"{len(rows)} rows of {rel} match {where}")
        return float(rows[0][col])
    return Src(f"{rel}: {col} where {where}", fn)


def csv_agg(rel: str, col: str, agg: Callable[[list[float]], float], **where) -> Src:
    """``agg`` (e.g. ``min``, ``max``, ``len``) of ``col`` over the rows matching ``where``
    (rows whose value is not a finite number are left out)."""
    def fn() -> float:
        vals = [float(r[col]) for r in _rows(rel) if _match(r, where)]
        vals = [v for v in vals if v == v and abs(v) != float("inf")]
        if not vals:
            raise LookupError(f"no rows of {rel} match {where}")
        return agg(vals)
    return Src(f"{rel}: {getattr(agg, '__name__', 'agg')}({col}) where {where}", fn)


def md_rows(rel: str, table: int = 0) -> list[dict]:
    """The rows of the ``table``-th Markdown table of ``rel`` as dicts (header -> cell)."""
    blocks, cur = [], []
    for line in _path(rel).read_text().splitlines():
        if line.startswith("|"):
            cur.append([c.strip().strip("*").strip() for c in line.strip().strip("|").split("|")])
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    head, *body = blocks[table]
    return [dict(zip(head, r)) for r in body if not set("".join(r)) <= set("-: ")]


def _num(cell: str) -> float:
    return float(cell.replace("%", "").replace(",", "").strip())


def md_agg(rel: str, col: str, agg: Callable[[list[float]], float], table: int = 0,
           **where) -> Src:
    """``agg`` of column ``col`` of a Markdown table over the rows matching ``where``."""
    def fn() -> float:
        vals = [_num(r[col]) for r in md_rows(rel, table) if _match(r, where)]
        if not vals:
            raise LookupError(f"no rows of {rel} table {table} match {where}")
        return agg(vals)
    return Src(f"{rel} table {table}: {getattr(agg, '__name__', 'agg')}({col}) where {where}",
               fn)


def md_cell(rel: str, col: str, table: int = 0, **where) -> Src:
    """Column ``col`` of the one row of a Markdown table that matches ``where``."""
    def fn() -> float:
        vals = [_num(r[col]) for r in md_rows(rel, table) if _match(r, where)]
        if len(vals) != 1:
            raise LookupError(f"{len(vals)} rows of {rel} table {table} match {where}")
        return vals[0]
    return Src(f"{rel} table {table}: {col} where {where}", fn)


def text_num(rel: str, pattern: str, group: int = 1) -> Src:
    """A number in the text of ``rel`` (a Markdown result file): the first match of
    ``pattern`` (a regex; ``{}`` stands for the number), its group ``group``."""
    rx = re.compile(pattern.replace("{}", f"({NUMBER})"))

    def fn() -> float:
        m = rx.search(_path(rel).read_text())
        if not m:
            raise LookupError(f"{pattern!r} not found in {rel}")
        return float(m.group(group).replace(",", ""))
    return Src(f"{rel}: {pattern!r}", fn)


def json_value(rel: str, *keys) -> Src:
    """``data[k1][k2]...`` of a JSON file (an asset card or a result)."""
    def fn() -> float:
        d = json.loads(_path(rel).read_text())
        for k in keys:
            d = d[k]
        return float(d)
    return Src(f"{rel}: {'.'.join(map(str, keys))}", fn)


def at_least(src: Src) -> Src:
    """The README states a lower bound ("above 85 %", "target >= 70 %" when met)."""
    return Src(f"{src.desc} (>= the README's bound)", src.fn, ">=")


def at_most(src: Src) -> Src:
    """The README states an upper bound ("below 0.16", "target <= 1.5x" when met)."""
    return Src(f"{src.desc} (<= the README's bound)", src.fn, "<=")


def derived(desc: str, fn: Callable[[], float]) -> Src:
    """Any computation over committed files (say which in ``desc``)."""
    return Src(desc, fn)


def const(value: float, why: str) -> Src:
    """A number fixed by definition (a chance level, a protocol setting): say why."""
    return Src(f"by definition: {why}", lambda: value)


# ----------------------------------------------------------------------------- the check

def agrees(quoted: str, value: float) -> bool:
    """``quoted`` (README text) equals ``value`` at the README's precision."""
    q = Decimal(quoted.replace(",", ""))
    return abs(float(q) - value) <= 0.5 * 10.0 ** q.as_tuple().exponent + 1e-12


def excluded_spans(text: str) -> list[tuple[int, int]]:
    """Code (fenced and indented blocks, inline code), link targets and URLs: commands,
    names and addresses, not claims."""
    spans = []
    for rx in (r"```[\s\S]*?```", r"(?m)^(?: {4}|\t).*$", r"`[^`\n]*`", r"\]\([^)]*\)",
               r"https?://\S+", r"<!--[\s\S]*?-->"):
        spans += [m.span() for m in re.finditer(rx, text)]
    return spans


def _inside(pos: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(a <= pos[0] and pos[1] <= b for a, b in spans)


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def check(text: str, claims: Sequence[Claim], allowed: Sequence[tuple[str, str]]
          ) -> tuple[list[str], int]:
    """Failures (one line each) and the number of README numbers checked against a source."""
    failures: list[str] = []
    covered: list[tuple[int, int]] = []
    checked = 0
    for c in claims:
        matches = list(c.regex.finditer(text))
        if not matches:
            failures.append(f"claim not found in the README: {c.snippet!r}")
            continue
        for m in matches:
            covered.append(m.span())
            for i, src in enumerate(c.sources, start=1):
                quoted = m.group(i)
                covered.append(m.span(i))
                try:
                    value = src.value()
                except Exception as exc:  # a missing or changed source file
                    failures.append(f"line {line_of(text, m.start(i))}: {quoted} in "
                                    f"{c.snippet!r}: source failed: {src.desc}: {exc}")
                    continue
                checked += 1
                if not src.agrees(quoted, value):
                    failures.append(f"line {line_of(text, m.start(i))}: README says {quoted} "
                                    f"in {c.snippet!r}, {src.desc} gives {value:.6g}")
    skip = excluded_spans(text)
    for rx, _why in allowed:
        skip += [m.span() for m in re.finditer(rx, text)]
    for m in NUMBER_IN_TEXT.finditer(text):
        if _inside(m.span(), covered) or _inside(m.span(), skip):
            continue
        lo, hi = max(0, m.start() - 40), min(len(text), m.end() + 40)
        ctx = re.sub(r"\s+", " ", text[lo:hi])
        failures.append(f"line {line_of(text, m.start())}: number {m.group()} has no source "
                        f"(add a claim or, for a non-claim, an allow-list entry): ...{ctx}...")
    return failures, checked
