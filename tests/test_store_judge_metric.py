"""The independent judge's verdict is one metric, ``judge_target_prob``, whichever page or
command stored the run: History sorts and compares a Playground run and a sweep cell by the
same key (before, a Playground run kept it in its verdicts only and showed "-")."""

from __future__ import annotations

from viz_core.store import RunRecord, RunStore
from viz_core.store.compare import metric_rows

VERDICT = {"role": "judge", "model": "fmnist_lenet_judge", "top": [["Pullover", 0.91]],
           "target": "Pullover", "target_prob": 0.91, "chance": 0.1}


def _playground_run(**kw) -> RunRecord:
    return RunRecord(config={"model": "m"}, model="m", task="am", scheme="fluid_sobolev",
                     metrics={"activation": 3.0}, floors={"judge_target_prob": 0.1},
                     verdicts=[VERDICT, {**VERDICT, "role": "model", "target_prob": 0.5}],
                     **kw)


def test_a_judge_verdict_is_the_judge_metric():
    r = _playground_run()
    assert r.metrics["judge_target_prob"] == 0.91 and r.metrics["judge_hit"] == 1.0
    missed = RunRecord(config={}, model="m", task="am", scheme="tv", verdicts=[
        {**VERDICT, "top": [["Shirt", 0.5]], "target_prob": 0.04}])
    assert missed.metrics == {"judge_target_prob": 0.04, "judge_hit": 0.0}
    assert "model_target_prob" not in r.metrics  # only the registry's key


def test_a_stored_playground_run_sorts_and_compares_with_a_sweep_cell(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    a = store.add(_playground_run())
    b = store.add(RunRecord(config={"model": "m"}, model="m", task="am", scheme="tv",
                            metrics={"activation": 2.0, "judge_target_prob": 0.4},
                            floors={"judge_target_prob": 0.1}))
    runs = store.list(sort="judge_target_prob", descending=True)
    assert [r.id for r in runs] == [a, b]
    rows = {k: vals for k, vals, _ in metric_rows([store.get(a), store.get(b)])}
    assert rows["judge_target_prob"] == ["0.91", "0.4"]
