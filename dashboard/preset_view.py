"""The Paper presets page's words (no Streamlit): each picture's short caption, the line
under a batch (how many the independent judge recognises) and the table of every verdict
below it, the summary of a run of batches and what the paper found beside the offline run
(:data:`FINDINGS`); the Table 1 results tab's words are in :mod:`dashboard.table1_view`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.results import Verdict, prob_text, short_figure
from dashboard.runs import RunRecord

__all__ = ["FINDINGS", "caption", "detail_rows", "grid_line", "recognised_line",
           "short_verdict", "summary", "verdict_words"]

#: Per paper figure: what the paper found (and where: Fig. 1 caption and Sec. 4.1's first
#: paragraph; Fig. 2 caption and Sec. 4.1's second; Sec. 4.1's third for Fig. 4), what the
#: offline version's run shows (``tests/test_presets_paper_findings.py`` reruns and checks).
FINDINGS: dict[str, tuple[str, str]] = {
    "fig1": (
        "Sobolev filters give crisper details than Gaussian ones; fluid demons give only "
        "fine details, elastic and fluid-elastic demons coarse and fine ones (Fig. 1 "
        "caption; Sec. 4.1).",
        "in the offline run (fmnist_resnet_robust, Ankle boot) each Sobolev picture has "
        "sharper edges (a larger total variation, eq. 19) than the Gaussian one of its "
        "column; of the six demons pictures the fluid ones have the smallest share of energy "
        "at coarse scales, the elastic and fluid-elastic ones the largest; the independent "
        "judge recognises Ankle boot in all eight pictures, most surely in the four elastic "
        "and fluid-elastic ones."),
    "fig2": (
        "Elastic and fluid-elastic Sobolev schemes give images with more scales than fluid "
        "demons or TV, on every architecture; additional regularization via octaves and "
        "jitter \"does not yield significant improvements\" (Fig. 2 caption; Sec. 4.1).",
        "in the offline run (the robust pair, Trouser, one image and seed each), without "
        "octaves the elastic and fluid-elastic pictures carry a larger share of coarse-scale "
        "energy than the fluid and TV ones, on both networks; octaves + jitter make every "
        "picture coarser and raise the independent judge's probability of Trouser for each, "
        "but do not change what it recognises: Trouser in all 16 pictures, with and without "
        "them."),
    "fig4": (
        "Fluid demons give many high-frequency features (the least clear reconstructions "
        "from the deep conv5 block), TV keeps some structure even for deeper layers, "
        "fluid-elastic Sobolev gives the smoothest, most natural-looking ones (Sec. 4.1, on "
        "Fig. 4).",
        "in the offline run (fmnist_vgg, one Ankle boot) fluid Sobolev is the noisiest "
        "from both layers (the largest share of high frequencies) and fluid-elastic Sobolev "
        "the smoothest (the smallest); TV keeps the most structure from block2 (the highest "
        "SSIM with the original) but not from block4, where all three keep little and "
        "fluid-elastic's SSIM is the highest."),
}


def caption(rec: RunRecord, i: int, what: str, named: bool = True) -> str:
    """A cell's caption, at most two lines under a picture 192 px wide (a grid of four at
    1280x720): its name (unless not ``named``: a batch of one picture, which its preset's
    title names), one verdict in short form (:func:`short_verdict`: the
    independent judge's), its named figure ``what`` in short form (:func:`short_figure`:
    an inversion's relative feature error ||Phi(u) - Phi(u0)|| / ||Phi(u0)||, eq. 3; a
    channel's activation, eq. 4) unless it is a judged class pre-image, the first
    degenerate-result warning (:mod:`viz_core.image_checks`), the step until the last.
    Every verdict in full (the paper's classifier's too) and the figure beside its floor
    are in :func:`detail_rows`. Markdown (as Streamlit renders a caption): names of
    networks and classes as text (:func:`dashboard.text.name`)."""
    from dashboard.text import name

    a = rec.activation[-1][i] if rec.activation else float("nan")
    vs = rec.verdicts[i] if i < len(rec.verdicts) else []
    judged = bool(vs) and vs[0].original is None and vs[0].target_prob is not None
    parts = ([rec.labels[i]] if named else []) + short_verdict(vs) + (
        [] if judged else [f"{short_figure(what)} {a:.3g}"])
    warned = rec.warnings[i] if i < len(rec.warnings) else []
    if warned:
        parts.append("⚠ " + warned[0].split(":")[0])  # e.g. "flat black", "saturated"
    step = [f"step {rec.step}/{rec.total}"] if rec.step < rec.total else []  # done: said once
    return name(" · ".join(parts + step))


def short_verdict(verdicts: Sequence[Verdict]) -> list[str]:
    """A picture's verdict for its caption, its top class and probability: the
    independent judge's (Sec. 3.2's recognisability measure), else the paper's
    classifier's (Table 1's test), else the model's own (the network that made the
    picture reads it as its class: no evidence of recognisability, said to be its own).
    Two verdicts do not fit two lines under a picture; :func:`detail_rows` has them all.

    >>> t = {"target": "Ankle boot"}
    >>> own = Verdict("vgg", [("Ankle boot", 0.98)], 0.98, {**t, "role": "model"})
    >>> short_verdict([own, Verdict("lenet", [("Bag", 0.2)], 0.1, {**t, "role": "judge"}),
    ...                Verdict("resnet", [("Bag", 0.7)], 0.1, {**t, "role": "classifier"})])
    ['judge: Bag 20%']
    >>> short_verdict([own, Verdict("resnet", [("Bag", 0.7)], 0.1, {"role": "classifier"})])
    ['resnet: Bag 70%']
    >>> short_verdict([own])
    ["model's own: 98%"]
    """
    if not verdicts:
        return []
    own = verdicts[0]
    v = min((v for v in verdicts[1:] if v.top), default=None,
            key=lambda v: v.data.get("role") != "judge")  # the judge first
    if v is not None:
        who = "judge" if v.data.get("role") == "judge" else v.model
        return [f"{who}: {v.top[0][0]} {prob_text(v.top[0][1])}"]
    if own.original is not None:  # an inversion judged by its model alone
        return [f"model: {own.top[0][0]} {prob_text(own.top[0][1])}"] if own.top else []
    return [f"model's own: {prob_text(own.target_prob)}"] if own.target_prob is not None else []


def detail_rows(rec: RunRecord, what: str) -> list[dict[str, Any]]:
    """The table under a batch's grid, a row per picture: everything its caption shortens
    (:func:`caption`). What each network sees (:func:`verdict_words`' forms: the top class
    with its probability, the target's beside when it is not the top), the model's own
    probability of the class, the figure ``what`` with a flat image's beside it in the
    column's name (an inversion's floor, eq. 3), the warnings. Plain text (a table shows
    no Markdown); [] before the verdicts."""
    if not rec.verdicts:
        return []
    floor = (getattr(rec, "floors", None) or {}).get("feature_error")
    col = f"{what} (a flat image: {floor:.3g})" if floor is not None else what
    act = rec.activation[-1] if rec.activation else []
    rows = []
    for i, label in enumerate(rec.labels):
        row: dict[str, Any] = {"picture": label}
        vs = rec.verdicts[i] if i < len(rec.verdicts) else []
        for v in sorted(vs[1:], key=lambda v: v.data.get("role") != "judge"):  # judge first
            if v.top:
                row[f"{'judge' if v.data.get('role') == 'judge' else v.model} sees"] = \
                    _sees(v)
        if vs and vs[0].original is None:  # a class pre-image: the model's own probability
            row["model's own"] = (prob_text(vs[0].target_prob)
                                  if vs[0].target_prob is not None else "-")
        elif vs and vs[0].top:
            row["model sees"] = _sees(vs[0])
        row[col] = float(act[i]) if i < len(act) else None
        warned = rec.warnings[i] if i < len(rec.warnings) else []
        row["warning"] = "; ".join(warned)
        rows.append(row)
    if not any(r["warning"] for r in rows):
        for r in rows:
            del r["warning"]
    return rows


def _sees(v: Verdict) -> str:
    """"Ankle boot (53%)", or "Bag (20%; Ankle boot 10%)" when the top class is not the
    target."""
    top, p = v.top[0]
    also = (f"; {v.target} {prob_text(v.target_prob)}"
            if v.target_prob is not None and v.target and v.target != top else "")
    return f"{top} ({prob_text(p)}{also})"


def verdict_words(verdicts: Sequence[Verdict]) -> list[str]:
    """A picture's verdicts as short caption parts. A class pre-image: the independent
    judge's first, then the paper's classifier's, then the model's own probability of the
    class, said to be its own (the network that made the picture reads it as its class:
    no evidence of recognisability). An inversion: the model's, the judge's and the
    classifier's top class, each with its probability of the original's class when that
    is not its top.

    >>> t = {"target": "Ankle boot"}
    >>> verdict_words([Verdict("vgg", [("Ankle boot", 0.98)], 0.98, {**t, "role": "model"}),
    ...                Verdict("lenet", [("Bag", 0.2)], 0.1, {**t, "role": "judge"})])
    ['judge sees Bag (20%; Ankle boot 10%)', "model's own: 98%"]
    """
    if not verdicts:
        return []
    own, others = verdicts[0], [v for v in verdicts[1:] if v.top]
    judge = [f"judge sees {_sees(v)}" for v in others if v.data.get("role") == "judge"]
    clf = [f"{v.model} sees {_sees(v)}" for v in others if v.data.get("role") != "judge"]
    if own.original is not None:  # an inversion
        return ([f"model sees {_sees(own)}"] if own.top else []) + judge + clf
    mine = [f"model's own: {prob_text(own.target_prob)}"] if own.target_prob is not None else []
    return judge + clf + mine


def _hits(recs: Sequence[Sequence[Verdict]], role: str) -> tuple[int, int, Verdict | None]:
    """Of the pictures with a target, how many ``role``'s network sees as the target
    (top-1), how many there are, and one of its verdicts."""
    got = [v for vs in recs for v in vs if v.data.get("role") == role and v.top and v.target]
    return sum(v.top[0][0] == v.target for v in got), len(got), (got[0] if got else None)


def recognised_line(rec: RunRecord) -> str:
    """One line under a batch's grid, from its pictures' verdicts: "k of N recognised by
    the independent judge (fmnist_lenet_judge; chance: 1 of 10)" (its top class is the
    target: the class an AM run maximises, an inversion's original class; Sec. 3.2), the
    same for the network that classifies the pictures in the paper's Table 1 test, and
    for an inversion what each network sees in the original (said once here, not in each
    caption). "" before the verdicts (or without a class to judge: a channel)."""
    from dashboard.text import name

    vs = list(rec.verdicts or [])
    parts = []
    for role in ("judge", "classifier"):
        k, n, v = _hits(vs, role)
        if v is None:
            continue
        c = v.data.get("chance")  # 1 / the network's classes
        chance = f"chance: 1 of {round(1 / c)}" if isinstance(c, int | float) and c > 0 else ""
        label = (f"the independent judge ({'; '.join(filter(None, [v.model, chance]))})"
                 if role == "judge" else f"{v.model}, the paper's classifier"
                 + (f" ({chance})" if chance else ""))
        parts.append(f"{k} of {n} recognised by {label}")
    if not parts:
        return ""
    line = "; ".join(parts)
    one = next((x for x in vs if x), [])
    if one and one[0].original is not None:  # an inversion: Table 1's test (Sec. 3.2)
        cls = f" ({one[0].target})" if one[0].data.get("target_from") == "label" else ""
        seen = [(x.model if x.data.get("role") == "classifier" else x.data.get("role"),
                 x.original) for x in one if x.original]
        line += (f", as the original's class{cls}. In the original: "
                 + ", ".join(f"{w} sees {c} ({prob_text(p)})" for w, (c, p) in seen))
    return name(line)


def no_judge_line(configs: Sequence[str]) -> str:
    """Why a class pre-image has no independent verdict (Sec. 3.2): the judge of the run's
    model (:func:`viz_core.zoo.judge_for`) is not on this server, or the model has none (a
    network of one's own, an ImageNet network: the shipped judge knows Fashion-MNIST).

    >>> no_judge_line(['{"model": "my_net.pt2"}'])
    "No independent judge of this network's classes: the shipped judge knows Fashion-MNIST's"
    """
    import json

    from viz_core import zoo

    try:
        model = str(json.loads(configs[0]).get("model", ""))
        judged = zoo.is_zoo_name(model) and zoo.judge_for(model)
    except Exception:  # noqa: BLE001 - a stored configuration this version cannot read
        judged = False
    if judged:
        return f"No independent judge of this model's classes on this server ({judged})"
    return ("No independent judge of this network's classes: the shipped judge knows "
            "Fashion-MNIST's")


def grid_line(rec: RunRecord, what: str) -> str:
    """The line under a batch's grid: :func:`recognised_line` (with chance), then for an
    inversion what the captions' "error" is, beside a flat image's (the floor a
    reconstruction has to beat: eq. 3 at the reference's mean grey). "" before the
    verdicts.

    >>> from types import SimpleNamespace as NS
    >>> grid_line(NS(verdicts=[], floors={"feature_error": 0.93}), "relative feature error")
    ''
    """
    line = recognised_line(rec)
    floor = (getattr(rec, "floors", None) or {}).get("feature_error")
    if not line or short_figure(what) != "error" or floor is None:
        return line
    return (f"{line}. Error: the relative feature error ‖Φ(u) − Φ(x)‖ / ‖Φ(x)‖ (eq. 3), "
            f"lower is better; a flat image's: {floor:.3g}.")


def _count(n: int, what: str, noun: bool = False) -> str:
    """'1 batch finished', '2 batches finished', '2 stopped'."""
    return f"{n} {'batch' if n == 1 else 'batches'} {what}" if noun else f"{n} {what}"


def summary(recs: list[RunRecord], n: int, seconds: float) -> tuple[float, str]:
    """The progress bar of a run that ended: its share done and one line, e.g. "stopped
    during batch 2 of 4, 4.1 s after Run: 1 batch finished, 1 stopped, 2 not run".
    ``seconds`` run from the Run click to the last picture; a run of one batch gives no
    time, as its status already gives the engine's ("done: 200 steps in 2.6 s"), and two
    different times side by side read as a contradiction."""
    by = {s: [i for i, r in enumerate(recs) if r.status == s]
          for s in ("done", "stopped", "diverged", "error")}
    t = f"{seconds:.1f} s after Run"
    stopped = by["stopped"]
    part = sum(recs[i].step / max(recs[i].total, 1) for i in stopped)
    value = min(1.0, (len(recs) - len(stopped) + part) / max(n, 1))
    if len(by["done"]) == n:
        return value, ("the batch finished" if n == 1
                       else f"all {n} batches finished, {t}")
    if n == 1 and stopped:
        r = recs[0]
        return value, f"stopped at step {r.step} of {r.total}"
    head = (f"stopped during batch {stopped[0] + 1} of {n}, {t}" if stopped
            else f"ended {t}")
    counts = [(len(by["done"]), "finished"), (len(stopped), "stopped"),
              (len(by["diverged"]), "diverged"), (len(by["error"]), "failed"),
              (n - len(recs), "not run")]
    said = [(k, w) for k, w in counts if k]
    return value, head + ": " + ", ".join(_count(k, w, noun=j == 0)
                                          for j, (k, w) in enumerate(said))
