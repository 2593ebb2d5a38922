"""The Paper presets page's words: the summary line (one time, from the Run click, for
several batches; none for one batch, whose status gives the engine's time: two times side
by side read as a contradiction), each picture's caption and the line under a batch's grid
(how many pictures the independent judge recognises, with chance)."""

from __future__ import annotations

from types import SimpleNamespace

from dashboard.preset_view import summary


def _rec(status: str, step: int = 200, total: int = 200) -> SimpleNamespace:
    return SimpleNamespace(status=status, step=step, total=total)


def test_one_batch_gives_no_time_of_its_own():
    assert summary([_rec("done")], 1, 2.7) == (1.0, "the batch finished")
    value, line = summary([_rec("stopped", 50)], 1, 2.7)
    assert line == "stopped at step 50 of 200" and value == 0.25


def test_several_batches_say_their_time_is_from_the_run_click():
    assert summary([_rec("done")] * 3, 3, 9.12)[1] == "all 3 batches finished, 9.1 s after Run"
    value, line = summary([_rec("done"), _rec("stopped", 100)], 4, 4.1)
    assert line == ("stopped during batch 2 of 4, 4.1 s after Run: 1 batch finished, "
                    "1 stopped, 2 not run")
    assert value == 1.5 / 4
    assert summary([_rec("done"), _rec("error")], 2, 1.0)[1] == \
        "ended 1.0 s after Run: 1 batch finished, 1 failed"


# --------------------------------------------------------------------------- captions

def _verdicts(judge_top: str, judge_p: float, own_p: float = 0.98) -> list:
    from dashboard.results import Verdict

    t = {"target": "Ankle boot", "chance": 0.1}
    return [Verdict("fmnist_resnet_robust", [("Ankle boot", own_p)], own_p,
                    {**t, "role": "model"}),
            Verdict("fmnist_lenet_judge", [(judge_top, judge_p)],
                    judge_p if judge_top == "Ankle boot" else 0.05, {**t, "role": "judge"})]


def _record(verdicts: list, step: int = 160) -> SimpleNamespace:
    n = len(verdicts)
    return SimpleNamespace(activation=[[12.3] * n], labels=[f"cell {i}" for i in range(n)],
                           verdicts=verdicts, warnings=[[]] * n, step=step, total=160)


def test_a_class_pictures_caption_is_short_and_gives_the_judge_first():
    """QA: 9 lines in a column at 1280x720, "class probability 100%" (the model's own) read
    as a verdict. Now: the judge's verdict first, the model's own said to be its own, no
    activation value beside them, no step once done."""
    from dashboard.preset_view import caption

    rec = _record([_verdicts("Bag", 0.2, 1.0)])
    cap = caption(rec, 0, "class logit")
    assert cap == "cell 0 · judge sees Bag (20%; Ankle boot 5%) · model's own: 100%"
    assert caption(_record([_verdicts("Ankle boot", 0.53)], step=80), 0, "class logit") == \
        "cell 0 · judge sees Ankle boot (53%) · model's own: 98% · step 80/160"
    # no verdicts (a channel, or before the run's end): the activation stays
    assert caption(_record([[]]), 0, "channel activation") == "cell 0 · channel activation 12.3"


def test_the_line_under_the_grid_counts_what_the_judge_recognises_with_chance():
    from dashboard.preset_view import recognised_line

    rec = _record([_verdicts("Ankle boot", 0.6), _verdicts("Bag", 0.4), _verdicts(
        "Ankle boot", 0.9)])
    assert recognised_line(rec) == ("2 of 3 recognised by the independent judge "
                                    "(fmnist_lenet_judge; chance: 1 of 10)")
    assert recognised_line(_record([])) == ""  # not judged yet
