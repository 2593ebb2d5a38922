"""The shipped samples (viz_core.samples): committed files, found by every user the same
way (a missing committed sample fails here, it is not skipped)."""

from __future__ import annotations

from pathlib import Path

from viz_core import presets, samples
from viz_core.offline_presets import offline_config

ROOT = Path(__file__).resolve().parents[1]


def test_committed_samples_are_found():
    grey, photos = samples.sample_paths(1), samples.sample_paths(3)
    assert len(grey) >= 10 and photos, "assets/samples/fmnist and photos are committed"
    assert all(Path(p).is_file() and presets.image_exists(p) for p in grey + photos)
    assert samples.first_sample(1) == grey[0] and samples.first_sample(3) == photos[0]
    assert Path(samples.default_sample()).is_file()
    assert samples.sample_folder(1) == ROOT / "assets" / "samples" / "fmnist"


def test_fmnist_samples_are_in_test_index_order():
    idx = [int(p.stem.split("_")[0]) for p in samples.fmnist_samples()]
    assert idx == sorted(idx) and idx[0] == 0


def test_sample_names_round_trip_and_leave_other_values_alone(tmp_path):
    path = samples.default_sample()
    assert samples.sample_name(path) == "fmnist/" + samples.DEFAULT_FMNIST
    assert samples.sample_path("fmnist/" + samples.DEFAULT_FMNIST) == path
    assert samples.sample_path(samples.DEFAULT_FMNIST) == path  # a bare name is looked up
    other = str(tmp_path / "x.png")
    assert samples.sample_name(other) == other and samples.sample_path("nope.png") == "nope.png"


def test_presets_use_the_shipped_samples():
    assert offline_config("fmnist_vgg", "tv", "inversion").image == samples.default_sample()
