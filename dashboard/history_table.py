"""The History page's table of runs (Streamlit glue): its columns' headers and help, the
metric columns a listed run has, its height, and its columns' widths.

The first columns (image, when, from, model, target, scheme, the judge's verdict) share
what a 1280 px screen has beside the sidebar (:data:`HEAD_PX`): each gets what its texts
need, the verdict first, and the widest of the others give way (:func:`head_widths`). A
"from" text longer than its column (a sweep's title) is shortened in its middle, so that
its start (the page, CLI or sweep) and its end (the end of a sweep's name, a dashboard
sweep's time) both show (:func:`fit_rows`); the whole title is in the "made by" filter.
Widths come from the texts at the table's font (:func:`text_px`), since a browser
reports no width to the server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: The History table's help on its metric columns.
METRIC_HELP = {"activation": "the last target activation; what it measures (a class logit or "
                             "log-probability, a channel mean, an inversion's relative feature "
                             "error) is in the target column",
               "objective": "the last data term D (minimised)"}
#: The History table's columns besides the metrics: (header, help).
COLUMNS = {
    "thumb": ("image", "the pre-image"),
    "started": ("when", "when the run started (local time; to the second in the "
                        "comparison below)"),
    "origin": ("from", "the page, CLI command or sweep that made the run; runs of one Run "
                       "click share its short id; a long sweep title is shortened in its "
                       "middle (in full in the 'made by' filter)"),
    "cell": ("varied", "a sweep cell's values of the settings its sweep varied (its "
                       "cell id); the sweep itself is in the 'from' column"),
    "model": ("model", None),
    "target": ("target", "what the run aimed at, which is what its activation metric "
                         "measures (a class logit or log-probability, a channel, an "
                         "inversion's feature error)"),
    "scheme": ("scheme", "the regularization: which kernels filter the gradient (fluid) "
                         "and the solution (elastic), or TV"),
    "verdict": ("judge's verdict", "the independent judge's top class on the pre-image "
                                   "and its probability (✓: it is the target; an "
                                   "inversion's target is the original's class), after a "
                                   "✗ the target's probability in brackets; 'model:' where "
                                   "no judge looked. Select the run for every network's "
                                   "verdict in full"),
    "status": ("status", None), "task": ("task", None),
    "tags": ("tags", None), "note": ("note", None), "id": ("run id", None)}
#: The thumbnail column's width (px): a row is 35 px high, so a wider one only adds margin.
THUMB_PX = 60
#: Rows the History table shows before it scrolls (Streamlit's rows are 35 px high).
TABLE_ROWS, ROW_PX = 18, 35
#: Metrics the table leaves to the verdict column (they sort and compare all the same).
NOT_IN_TABLE = ("judge_hit",)
#: What the first columns share (px): at 1280x720 the table is 820 px wide beside the
#: sidebar, 34 of them its tick column.
HEAD_PX = 786
#: The verdict's widest (a longer one ends in "..."), the least another first column gets
#: when they do not all fit, and the widest of the columns after them (px).
VERDICT_PX, LEAST_PX, MOST_PX = 230, 90, 260
#: Text columns after the first ones that stop short of :data:`MOST_PX` (px).
WIDEST = {"cell": 170, "id": 110}
#: Characters by their width at the table's font (14 px Source Sans), else 7 px (8.5 px
#: for a capital): a cell's padding is 16 px, 2 more spare.
_NARROW, _THIN, _WIDE = "ij',.:;| ·", "fltI!()-[]{}r/\\", "wmMW%@…"


def text_px(text: Any) -> float:
    """How wide a cell with ``text`` is drawn (px), padding included, within a few percent
    at the table's font.

    >>> text_px("today 16:20"), text_px("fmnist_resnet_robust")
    (85.5, 143.5)
    """
    return 18 + sum(3.5 if c in _NARROW else 4.5 if c in _THIN else 11 if c in _WIDE
                    else 8.5 if c.isupper() or c == "✓" else 7 for c in str(text))


def text_width(texts: Sequence[Any], header: str, most: int = MOST_PX) -> int:
    """A text column's width in pixels: its longest text (or header), at most ``most``
    (longer texts end in "...").

    >>> text_width(["CLI sweep sw1", "Playground"], "from")
    110
    """
    return int(min(most, max(text_px(t) for t in [header, *texts] if t is not None)))


def head_widths(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The widths of the first columns (image to verdict), which share :data:`HEAD_PX`:
    the image and the start time as they need, the verdict as its longest text needs (at
    most :data:`VERDICT_PX`), then the others the rest, the narrowest first as they need,
    the widest an equal share of what is left (at least :data:`LEAST_PX`).

    >>> rows = [{"started": "today 16:20", "origin": "CLI sweep " + "x" * 60,
    ...          "model": "fmnist_vgg", "target": "9 · Ankle boot, logit",
    ...          "scheme": "no regularization", "verdict": "✗ Bag 43%; Ankle boot 5%"}]
    >>> w = head_widths(rows)
    >>> w["verdict"], w["model"], w["target"], w["origin"], sum(w.values())
    (171, 83, 132, 139, 786)
    """
    from dashboard.run_history import TABLE_HEAD

    head = TABLE_HEAD[:TABLE_HEAD.index("verdict") + 1]
    need = {k: text_width([r.get(k) for r in rows], COLUMNS[k][0], HEAD_PX)
            for k in head if k != "thumb"}
    out = {"thumb": THUMB_PX, "started": need["started"],
           "verdict": min(need["verdict"], VERDICT_PX)}
    rest = sorted((k for k in need if k not in out), key=need.__getitem__)
    left = HEAD_PX - sum(out.values())
    for i, k in enumerate(rest):  # the narrowest in full, the widest share what is left
        out[k] = min(need[k], max(LEAST_PX, left // (len(rest) - i)))
        left -= out[k]
    return out


def fit_text(text: str, px: float) -> str:
    """``text`` as it is where it fits ``px`` (:func:`text_px`), else shortened in its
    middle, its start and its end kept.

    >>> fit_text("CLI sweep regularization_path_of_the_ankle_boot", 160)
    'CLI sweep re…kle_boot'
    >>> fit_text("Playground", 140)
    'Playground'
    """
    if text_px(text) <= px:
        return text
    for keep in range(len(text) - 1, 0, -1):
        head, tail = text[:keep - keep * 2 // 5], text[len(text) - keep * 2 // 5:]
        short = head.rstrip() + "…" + tail.lstrip()
        if text_px(short) <= px:
            return short
    return "…"


def fit_rows(rows: Sequence[Mapping[str, Any]], widths: Mapping[str, int]) -> list[dict]:
    """The rows with each "from" text that is wider than its column (``widths``:
    :func:`head_widths`) shortened in its middle (:func:`fit_text`)."""
    px = widths["origin"]
    return [{**r, "origin": fit_text(str(r["origin"]), px)} if r.get("origin") else dict(r)
            for r in rows]


def verdict_cell(verdicts: Sequence[Mapping[str, Any]]) -> str:
    """The table's verdict: :func:`~viz_core.store.verdict_words.verdict_short`, with the
    target's probability alone in brackets after a ✗ (the target column names the
    target; selected, the run shows every verdict in full).

    >>> v = {"role": "judge", "top": [["Bag", 0.43]], "target": "Ankle boot"}
    >>> verdict_cell([{**v, "target_prob": 0.05}]), verdict_cell([{**v, "role": "model"}])
    ('✗ Bag 43% (5%)', 'model: ✗ Bag 43%')
    >>> verdict_cell([{"role": "judge", "top": [["Coat", 0.8]], "target": "Coat",
    ...                "target_prob": 0.8}])
    '✓ Coat 80%'
    """
    from viz_core.store.verdict_words import not_finite, verdict_short

    pick = next((v for v in verdicts if v.get("role") == "judge"), None) or \
        next((v for v in verdicts if v.get("role") == "model"), None)
    tp = pick.get("target_prob") if pick and not not_finite(pick) else None
    if tp is None:
        return verdict_short(verdicts)
    text = verdict_short([{**v, "target_prob": None} for v in verdicts])
    return text + f" ({tp:.0%})" if text.removeprefix("model: ").startswith("✗") else text


def table_keys(rows: Sequence[Mapping[str, Any]], metric_keys: Sequence[str]) -> list[str]:
    """The metric columns of the table: those at least one listed run has, not the ones the
    verdict column says (:data:`NOT_IN_TABLE`).

    >>> table_keys([{"psnr": None, "objective": 1.0}], ["objective", "psnr", "judge_hit"])
    ['objective']
    """
    return [k for k in metric_keys if k not in NOT_IN_TABLE
            and any(r.get(k) is not None for r in rows)]


def table_height(n: int) -> int:
    """The table's height in pixels: every row up to :data:`TABLE_ROWS`, then it scrolls.

    >>> table_height(3), table_height(500)
    (143, 668)
    """
    return ROW_PX * (min(max(n, 1), TABLE_ROWS) + 1) + 3


def table_config(keys: Sequence[str], rows: Sequence[Mapping[str, Any]] = (),
                 widths: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The table's column configuration: plain headers, the first columns as wide as
    ``widths`` gives (default: :func:`head_widths` of ``rows``), every other text column
    as wide as its texts (:func:`text_width`), each metric by the registry's label
    (:func:`viz_core.store.settings_text.metric_text`), four significant digits."""
    import streamlit as st

    from viz_core.store.settings_text import metric_text

    cc = st.column_config
    widths = dict(widths or (head_widths(rows) if rows else {}))
    out: dict[str, Any] = {"thumb": cc.ImageColumn("image", width=THUMB_PX,
                                                   help="the pre-image")}
    for k, (label, help_) in COLUMNS.items():
        if k != "thumb":
            width = widths.get(k) or (text_width([r.get(k) for r in rows], label,
                                                 WIDEST.get(k, MOST_PX)) if rows else None)
            out[k] = cc.TextColumn(label, help=help_, width=110 if k == "id" else width)
    for k in keys:
        label = metric_text(k)
        out[k] = cc.NumberColumn(label, format="%.4g", width=max(90, 7 * min(len(label), 20)),
                                 help=f"{label}: {METRIC_HELP[k]}" if k in METRIC_HELP
                                 else label)
    return out


def table_order(keys: Sequence[str], rows: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """The table's columns in order: who / what first (a sweep cell's varied values only
    when a listed run has them), the metrics, the run id last."""
    from dashboard.run_history import TABLE_HEAD, TABLE_TAIL

    cells = any(r.get("cell") for r in rows)
    return [k for k in TABLE_HEAD if k != "cell" or cells] + [*keys, *TABLE_TAIL]
