"""The Paper presets page's words for a run (no Streamlit): each picture's caption and the
one-line summary of a run of several batches (finished, stopped, not run).
"""

from __future__ import annotations

from dashboard.results import verdict_parts
from dashboard.runs import RunRecord

__all__ = ["caption", "summary"]


def caption(rec: RunRecord, i: int, what: str) -> str:
    """A cell's caption: its named figure (``what``: the relative feature error
    ||Phi(u) - Phi(u0)|| / ||Phi(u0)|| of an inversion, eq. 3, or the target activation of
    AM, eq. 4), the model's probability of the target class and the independent judge's
    verdict (as on Compare), the first degenerate-result warning
    (:mod:`viz_core.image_checks`), and the step."""
    a = rec.activation[-1][i] if rec.activation else float("nan")
    parts = [f"{rec.labels[i]} · {what} {a:.3g}"]
    parts += verdict_parts(rec.verdicts[i] if i < len(rec.verdicts) else [])
    warned = rec.warnings[i] if i < len(rec.warnings) else []
    if warned:
        parts.append("⚠ " + warned[0].split(":")[0])  # e.g. "flat black", "saturated"
    return " · ".join(parts + [f"step {rec.step}/{rec.total}"])


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
