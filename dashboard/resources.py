"""Objects shared by all sessions of the server process: loaded models (and the judges
that classify pre-images), reference images, and what weights this machine has.

Models are cached with ``st.cache_resource`` and used read-only (the engine never registers
hooks or changes ``requires_grad`` on them).
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from viz_core.errors import VizError

if TYPE_CHECKING:
    from viz_core.models import LoadedModel


#: False while a judge is opened: the engine process never runs a judge, so it does not
#: open a copy of it in advance (a judge that is also run is opened there at its first run)
_PRELOAD: contextvars.ContextVar[bool] = contextvars.ContextVar("preload", default=True)


@st.cache_resource(show_spinner="Loading the model ...", max_entries=4)
def _cached_model(name: str, weights: str | None, device: str) -> LoadedModel:
    from dashboard import engine_worker
    from viz_core import models

    if _PRELOAD.get():  # the engine process opens its copy alongside
        engine_worker.preload(name, weights, device)
    model = models.open_model(name, weights=weights, device=device)
    engine_worker.remember(model, name, weights, device)
    return model


def get_model(name: str, weights_choice: str = "pretrained",
              device_choice: str = "auto") -> LoadedModel:
    """The shared, read-only LoadedModel (loaded once per process); raises VizError."""
    from viz_core.engine import resolve_device

    dev = resolve_device(device_choice)
    return _cached_model(name, "random" if weights_choice == "random" else None, str(dev))


def model_status(name: str) -> str:
    """"offline", "cached", "download needed", "missing", or "own" (an uploaded program or a
    team model from demons-viz.toml); never downloads."""
    from viz_core import models

    if name in own_models() or name.endswith(".pt2"):
        return "own"
    try:
        return models.weights_status(name)
    except VizError:
        return "unknown"


def own_models() -> list[str]:
    """The team's models listed in demons-viz.toml (``$DEMONS_VIZ_MODELS``); a broken list
    is reported by :func:`own_models_error` and lists nothing."""
    from viz_core.models import team_models_or_error

    return list(team_models_or_error()[0])


def own_models_error() -> str | None:
    """Why demons-viz.toml cannot be read, or None."""
    from viz_core.models import team_models_or_error

    error = team_models_or_error()[1]
    return None if error is None else str(error)


def weights_size_mb(name: str) -> float | None:
    """Size of a torchvision checkpoint in MB (torchvision's metadata), or None."""
    from viz_core.zoo import get_spec, weights_enum_of

    try:
        spec = get_spec(name)
        if spec.family != "torchvision":
            return None
        return float(weights_enum_of(spec).meta.get("_file_size") or 0) or None
    except (VizError, AttributeError):
        return None


@st.cache_data(show_spinner=False, max_entries=32)
def load_reference_image(source: str | bytes, size: int, channels: int
                   ) -> tuple[np.ndarray, list[str]]:
    """An image to invert as a (1, C, S, S) float32 array in [0, 1] (VizError if bad)."""
    from viz_core.images import load_image

    t, notices = load_image(source, size, channels)
    return t.numpy(), notices


def verdict_models(model: LoadedModel, name: str) -> list:
    """The model and, when its weights are here, the independent judge of its pre-images
    (:func:`dashboard.results.judge_for`)."""
    from dashboard.results import judge_for

    out = [model]
    judge = judge_for(name)
    if judge is not None:
        token = _PRELOAD.set(False)
        try:
            out.append(get_model(judge))
        except VizError:
            pass
        finally:
            _PRELOAD.reset(token)
    return out


def weights_line(names: Sequence[str]) -> str:
    """'vgg19: download needed, ...' for captions."""
    return ", ".join(f"{n}: {model_status(n)}" for n in names)


def zoo_classes(name: str) -> list[str] | None:
    """The class names of zoo model ``name`` without opening it (its weights may still be
    to download: a title can then name the class), else None."""
    from viz_core.zoo import class_names, get_spec, is_zoo_name

    if not is_zoo_name(name):
        return None
    try:
        return class_names(get_spec(name))
    except Exception:  # noqa: BLE001 - a model without class names
        return None


def available(names: Sequence[str]) -> bool:
    """Whether every model in ``names`` has weights on this machine."""
    return all(model_status(n) in ("offline", "cached") for n in names)

