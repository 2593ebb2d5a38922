"""The Paper presets summary line: one time, from the Run click, for several batches; none
for one batch, whose status gives the engine's time (two times side by side read as a
contradiction)."""

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
