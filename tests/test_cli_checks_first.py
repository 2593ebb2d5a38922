"""A run that cannot start says so before anything else (hostile-input QA): no progress bar
at 0/N in front of the one-line error, for checks that need the model (a class out of range,
a jitter as large as the image)."""

from __future__ import annotations

import pytest

from viz_core.cli import main
from viz_core.config import RunConfig
from viz_core.engine import check_run
from viz_core.errors import VizError
from viz_core.models import load_model


@pytest.mark.parametrize("flags,said", [
    (["--target", "10"], "error: class index 10 out of range 0..9"),
    (["--target", "1", "--jitter", "1e9"], "error: jitter of 1000000000 px is not smaller"),
])
def test_a_run_that_cannot_start_draws_no_progress_bar(tmp_path, capsys, flags, said):
    rc = main(["visualize", "--model", "fmnist_vgg", "--weights", "random", "--steps", "3",
               "--no-store", "--out", str(tmp_path / "x.png"), *flags])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith(said), err  # the error is the first thing printed
    assert "0/3" not in err and not (tmp_path / "x.png").exists()


def test_check_run_refuses_what_run_refuses():
    model = load_model("fmnist_vgg", weights="random")
    check_run(RunConfig(model="fmnist_vgg", weights="random", target=9), model)
    with pytest.raises(VizError, match="out of range") as err:
        check_run(RunConfig(model="fmnist_vgg", weights="random", target=10), model)
    assert err.value.field == "target"
    with pytest.raises(VizError, match="names model 'fmnist_resnet'"):
        check_run(RunConfig(model="fmnist_resnet", weights="random", target=1), model)
