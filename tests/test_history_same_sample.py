"""History's "settings that differ" compares what the runs did: a shipped sample by its name
wherever the run's checkout kept it, an octave run's steps as its stages' total (its
``steps`` field is unused), and shows a shipped sample by its name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from viz_core.store import RunRecord
from viz_core.store.compare import differing_settings, image_name, run_settings
from viz_core.store.settings_text import setting_text

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "samples" / "fmnist" / "0_ankle_boot.png"
NAME = "fmnist/0_ankle_boot.png"


def _inv(image: str, seed: int = 0, **over) -> RunRecord:
    cfg = {"model": "fmnist_vgg", "task": "inversion", "image": image, "seed": seed,
           "steps": 100, "step_size": 5.0, "octaves": None, **over}
    return RunRecord(config=cfg, model="fmnist_vgg", task="inversion", scheme="tv")


@pytest.fixture
def other_checkout(tmp_path) -> Path:
    """The ankle boot as another clone of the repository keeps it (/work/fresh3/assets/...)."""
    copy = tmp_path / "fresh3" / "assets" / "samples" / "fmnist" / SAMPLE.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(SAMPLE, copy)
    return copy


def test_a_shipped_sample_from_another_checkout_is_the_same_image(other_checkout):
    runs = [_inv(str(other_checkout), 0), _inv(str(SAMPLE), 1)]
    assert differing_settings(runs) == {"seed": [0, 1]}
    # that checkout gone (its folder moved or deleted): still the sample by its name
    gone = "/work/fresh3/assets/samples/fmnist/0_ankle_boot.png"
    assert differing_settings([_inv(gone, 0), _inv(NAME, 1)]) == {"seed": [0, 1]}
    assert differing_settings([_inv(gone, 0), _inv("0_ankle_boot.png", 1)]) == \
        {"seed": [0, 1]}


def test_a_sample_is_shown_by_its_name_not_a_machines_folder(other_checkout):
    assert image_name(str(other_checkout)) == NAME
    assert image_name(str(SAMPLE)) == NAME
    run = _inv(str(other_checkout))
    assert setting_text("image", run.config["image"], run) == NAME
    assert run_settings(run)["image"] == NAME
    coat = _inv(str(SAMPLE.parent / "10_coat.png"))
    assert differing_settings([run, coat]) == {"image": [NAME, "fmnist/10_coat.png"]}


def test_a_report_shows_the_sample_by_its_name(other_checkout):
    from viz_core.store.report_content import build_report

    rep = build_report([_inv(str(other_checkout), 0), _inv(str(SAMPLE), 1)])
    (row,) = [r for r in rep.settings if r[0] == "image"]
    assert row == ("image", [NAME, NAME], False)


def test_any_other_file_is_compared_by_its_path(tmp_path, other_checkout):
    # a file of the same name whose content is not the sample's is another image
    other_checkout.write_bytes(b"not the ankle boot")
    diff = differing_settings([_inv(str(other_checkout)), _inv(str(SAMPLE))])
    assert diff == {"image": [str(other_checkout), NAME]}
    mine = tmp_path / "mine" / "boot.png"
    mine.parent.mkdir()
    shutil.copyfile(SAMPLE, mine)  # a user's own file: its path says which image it is
    assert image_name(str(mine)) == str(mine)
    assert differing_settings([_inv(str(mine)), _inv(str(mine), 1)]) == {"seed": [0, 1]}
    assert "image" in differing_settings([_inv(str(mine)), _inv(str(SAMPLE))])


def test_octave_runs_compare_their_stages_not_the_unused_steps_field():
    stages = [[1.0, 30, 5.0], [1.2, 20, 2.0]]
    a = _inv(NAME, steps=100, step_size=5.0, octaves=stages)
    b = _inv(NAME, steps=60, step_size=1.0, octaves=[[1, 30, 5], [1.2, 20, 2]])
    assert differing_settings([a, b]) == {}
    # what an octave run did is the stages' total, beside a run without octaves
    plain = _inv(NAME, steps=50, step_size=5.0)
    diff = differing_settings([a, plain])
    assert "steps" not in diff and diff["octaves"][1] is None
    assert differing_settings([a, _inv(NAME, steps=80)])["steps"] == [50, 80]
    assert run_settings(a)["steps"] == 50


def test_settings_a_run_does_not_use_do_not_differ():
    # the TV smoothing without TV, Adam's moments without Adam (eqs. 19-20)
    a = _inv(NAME, tv=0.0, tv_eps=0.05, optimizer="sgd", adam_eps=1e-8)
    b = _inv(NAME, tv=0.0, tv_eps=0.1, optimizer="sgd", adam_eps=1e-6)
    assert differing_settings([a, b]) == {}
    c = _inv(NAME, tv=0.1, tv_eps=0.1, optimizer="sgd")
    assert differing_settings([a, c]) == {"tv": [0.0, 0.1], "tv_eps": [None, 0.1]}


def test_history_show_names_a_shipped_sample_by_its_name():
    """``history show`` gives a shipped sample image by its name in the settings line (the
    stored absolute path, of this checkout or another, only in the reproduce line)."""
    from viz_core.cli.history import _settings
    from viz_core.samples import sample_path

    stored = str(sample_path("fmnist/0_ankle_boot.png"))
    settings = dict(_settings({"task": "inversion", "image": stored, "steps": 10}))
    assert settings["image"] == "fmnist/0_ankle_boot.png"
    other = dict(_settings({"image": "/home/me/boot.png"}))
    assert other["image"] == "/home/me/boot.png"
