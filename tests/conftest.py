"""Shared fixtures: a tiny randomly initialised CNN that quacks like a zoo model."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
# Runs that tests make go to a private store from the moment the tests are collected (a
# module that copies os.environ at import time for its subprocesses included), never to the
# user's history; the session fixture below moves them to pytest's own folder.
_USER_ENV = {k: os.environ.get(k) for k in ("DEMONS_VIZ_STORE", "MLFLOW_TRACKING_URI",
                                            "DEMONS_VIZ_ENGINE")}
os.environ["DEMONS_VIZ_STORE"] = str(Path(tempfile.mkdtemp(prefix="demons-viz-tests-"))
                                     / "runs.sqlite")
os.environ.pop("MLFLOW_TRACKING_URI", None)
if str(ROOT) not in sys.path:  # AppTest does not put the app's folder on sys.path
    sys.path.insert(0, str(ROOT))

from viz_core.objectives import FeatureModel  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(scope="session", autouse=True)
def _private_run_store(tmp_path_factory):
    """Runs that tests make (CLI, pages, subprocesses) go to a store of the session, never
    to the user's history; nothing is mirrored to an MLflow server of the machine."""
    old = _USER_ENV
    os.environ["DEMONS_VIZ_STORE"] = str(tmp_path_factory.mktemp("store") / "runs.sqlite")
    # runs stay in the test's process (fakes patched into it apply); the engine process has
    # its own tests, and the browser tests' servers use it (tests/e2e/conftest.py)
    os.environ["DEMONS_VIZ_ENGINE"] = "thread"
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@dataclass(frozen=True)
class TinySpec:
    name: str = "tiny"
    family: str = "test"
    input_size: int = 32
    channels: int = 3
    mean: tuple = (0.5, 0.5, 0.5)
    std: tuple = (0.25, 0.25, 0.25)
    default_layer: str = "conv2"
    description: str = "tiny random CNN for tests"
    paper: bool = False


class _Body(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16, 5)

    def forward(self, x, upto: str = "logits"):
        x = torch.relu(self.conv1(x))
        if upto == "conv1":
            return x
        x = torch.relu(self.conv2(x))
        if upto == "conv2":
            return x
        return self.head(x.mean(dim=(2, 3)))


class _Cut(nn.Module):
    def __init__(self, body: _Body, layer: str) -> None:
        super().__init__()
        self.body, self.layer = body, layer

    def forward(self, x):
        return self.body(x, self.layer)


class TinyModel(FeatureModel):
    """A :class:`viz_core.objectives.FeatureModel`, like ``viz_core.models.LoadedModel``."""

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.spec = TinySpec()
        self.net = _Body().eval().requires_grad_(False)
        self.classes = [f"class{i}" for i in range(5)]
        self.layers = ["conv1", "conv2", "logits"]
        self.aliases: dict[str, str] = {}
        self.pretrained = False
        self.label = "tiny (RANDOM weights)"
        self.device = torch.device("cpu")
        self._mean = torch.tensor(self.spec.mean).view(1, -1, 1, 1)
        self._std = torch.tensor(self.spec.std).view(1, -1, 1, 1)

    def normalize(self, x):
        return (x - self._mean) / self._std

    def resolve_layer(self, name: str) -> str:
        from viz_core.errors import VizError

        if name not in self.layers:
            raise VizError(f"unknown layer {name!r}", field="layer")
        return name

    def layer_channels(self, name: str) -> int:
        return {"conv1": 8, "conv2": 16, "logits": 5}[name]

    def features(self, layer: str) -> nn.Module:
        return _Cut(self.net, layer)


@pytest.fixture(scope="session")
def tiny_model() -> TinyModel:
    return TinyModel()


def write_random_images(folder: Path, names: list[str], size=(40, 30)) -> None:
    """Random RGB images named ``names`` in ``folder`` (created), for image-folder tests."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        arr = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / n)


@pytest.fixture
def write_images():
    """:func:`write_random_images` as a fixture."""
    return write_random_images


def synthetic_image_set(n: int = 4):
    """``n`` random 28 px images labelled 0, 1, 2, ... as an evaluation ImageSet."""
    from viz_core.evaluation.imagesets import ImageSet

    base = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))

    def load(idx, s, c):
        x = torch.nn.functional.interpolate(base[list(idx)], size=(s, s), mode="bilinear")
        return x.expand(-1, c, -1, -1).contiguous()

    return ImageSet("synthetic", np.arange(n) % 10, load, [str(i) for i in range(n)])


@pytest.fixture
def image_set():
    """:func:`synthetic_image_set` as a fixture."""
    return synthetic_image_set


# ----------------------------------------------------------------------------- dashboard pages

class DashboardPages:
    """What the page tests share (the :func:`dash` fixture): open the app as a browser does
    and read what it shows (streamlit.testing.v1.AppTest)."""

    app = str(ROOT / "app.py")

    def open(self, page: str | None = None, **params):
        """The app from its entry point (as a browser opens it) with ``params`` in the URL,
        then ``page`` (a file of :data:`dashboard.navigation.PAGES`)."""
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(self.app, default_timeout=120)
        at.query_params.update({k: str(v) for k, v in params.items()})
        at.run()
        if page:
            at.switch_page(page).run()
        return at

    @staticmethod
    def no_exception(at) -> None:
        assert not at.exception, [e.value for e in at.exception]

    @staticmethod
    def shown(markdown: str) -> str:
        """What a user reads in a box whose body passed through ``dashboard.text.plain``:
        the Markdown without its backslash escapes and zero-width spaces."""
        import re

        return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")

    @classmethod
    def errors(cls, at) -> list[str]:
        return [cls.shown(e.value) for e in at.error]

    @staticmethod
    def arr(value) -> np.ndarray:
        """A plotly data array from a figure spec (a list, or plotly's base64 typed array)."""
        import base64

        if isinstance(value, dict) and "bdata" in value:
            a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            if "shape" in value:
                shape = value["shape"]
                shape = [int(v) for v in shape.split(",")] if isinstance(shape, str) else shape
                a = a.reshape(shape)
            return a
        return np.asarray(value, dtype=float)


@pytest.fixture(scope="session")
def dash() -> DashboardPages:
    """:class:`DashboardPages`: the page tests' shared helpers."""
    return DashboardPages()


@pytest.fixture
def names():
    """Names a test registers with ``models.from_module``: unregistered after it."""
    from viz_core import models

    made: list[str] = []
    yield made
    for n in made:
        models.unregister(n)
