"""The one device resolver (engine, models, CLI and dashboard share it)."""

import pytest
import torch

from viz_core.config import RunConfig
from viz_core.devices import DEVICES, available_devices, resolve_device
from viz_core.errors import VizError


def test_auto_and_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == want
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "no-such-device", ""])
def test_unknown_devices_are_viz_errors(name):
    with pytest.raises(VizError) as err:
        resolve_device(name)
    assert err.value.field == "device"


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_missing_mps_is_the_same_error_in_the_engine_and_the_model_loader():
    from viz_core import models

    with pytest.raises(VizError, match="MPS is not available"):
        resolve_device("mps")
    with pytest.raises(VizError, match="MPS is not available"):
        models.load_model("fmnist_vgg", "random", device="mps")
    assert "mps" in DEVICES and RunConfig(target=0, device="mps").validate()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_missing_cuda_is_a_viz_error():
    with pytest.raises(VizError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_available_devices_offer_only_what_is_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert available_devices() == ("auto", "cpu")
    assert available_devices(auto=False) == ("cpu",)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert available_devices() == ("auto", "cpu", "cuda")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert set(available_devices()) == set(DEVICES)


def test_the_scripts_use_the_one_resolver(capsys):
    """bench/ and scripts/train_offline.py resolve devices through viz_core.devices: a
    device this machine lacks is one clear line, never a traceback or a silent CPU run."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        import common
    finally:
        sys.path.pop(0)
    if not torch.cuda.is_available():
        args = common.base_parser("x").parse_args(["--device", "cuda"])
        with pytest.raises(SystemExit, match="no CUDA GPU"):
            common.setup(args)
    args = common.base_parser("x").parse_args(["--device", "cpu"])
    assert common.setup(args) == torch.device("cpu")
